package nsqclient

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/nsqd"
)

// writeTestCert writes a self-signed certificate for 127.0.0.1 and its
// key, and returns their paths and a pool trusting it.
func writeTestCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "nsqd test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// roundTrip publishes and consumes through connections negotiated with
// opts, and returns nsqd's view of the consuming connection.
func roundTrip(t *testing.T, n *testNSQD, topic string, opts *Options) nsqd.ClientStats {
	t.Helper()
	p := newTestProducer(t, n.TCPAddr(), opts)
	want := bodies(topic, 20)
	require.NoError(t, p.MultiPublish(topic, want))
	require.NoError(t, p.Publish(topic, []byte("single")))

	opts.MaxInFlight = 5
	got := newCollector()
	c := newTestConsumer(t, topic, "ch", opts)
	c.AddHandler(got)
	require.NoError(t, c.ConnectToNSQD(n.TCPAddr()))
	require.ElementsMatch(t, append(strs(want), "single"), got.waitFor(t, 21))
	var client nsqd.ClientStats
	eventually(t, "all finished", func() bool {
		ch, ok := n.Channel(topic, "ch")
		if !ok || len(ch.Clients) != 1 {
			return false
		}
		client = ch.Clients[0]
		return ch.InFlightCount == 0 && ch.Depth == 0
	})
	return client
}

func TestSnappyConnections(t *testing.T) {
	n := startNSQD(t, "127.0.0.1:0", nil, nil)
	opts := testOptions(t)
	require.NoError(t, opts.SetFlag("snappy"))
	client := roundTrip(t, n, "snappy", opts)
	require.True(t, client.Snappy, "nsqd reports the connection as snappy")
}

func TestDeflateConnections(t *testing.T) {
	n := startNSQD(t, "127.0.0.1:0", nil, nil)
	opts := testOptions(t)
	require.NoError(t, opts.SetFlag("deflate"))
	require.NoError(t, opts.SetFlag("deflate_level,3"))
	client := roundTrip(t, n, "deflate", opts)
	require.True(t, client.Deflate, "nsqd reports the connection as deflate")
}

func TestTLSConnectionsWithCompression(t *testing.T) {
	certFile, keyFile, pool := writeTestCert(t)
	n := startNSQD(t, "127.0.0.1:0", nil, func(o *nsqd.Options) {
		o.TLSCert, o.TLSKey = certFile, keyFile
	})
	opts := testOptions(t)
	require.NoError(t, opts.SetFlag("tls_v1"))
	require.NoError(t, opts.SetFlag("snappy"))
	opts.TLSConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	client := roundTrip(t, n, "tls", opts)
	require.True(t, client.TLS, "nsqd reports the connection as TLS")
	require.True(t, client.Snappy)

	untrusting := testOptions(t)
	untrusting.TLSv1 = true
	p := newTestProducer(t, n.TCPAddr(), untrusting)
	require.ErrorContains(t, p.Ping(), "TLS handshake", "an unknown certificate is refused")
}
