package nsqadmin

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest/daemons"
	"github.com/nsqgo/nsq/nsqd"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths; the certificate is its own CA.
func selfSigned(t *testing.T) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certPath, keyPath
}

// TestNSQDRequiringTLSIsReachedWithTheClientTLSOptions: an nsqd with
// --tls-required answers plain HTTP with 403 and its HTTPS port; nsqadmin
// retries there, trusting --http-client-tls-root-ca-file.
func TestNSQDRequiringTLSIsReachedWithTheClientTLSOptions(t *testing.T) {
	cert, key := selfSigned(t)
	n := daemons.StartNSQD(t, nil, func(o *nsqd.Options) {
		o.TLSCert, o.TLSKey = cert, key
		o.TLSRequired = nsqd.TLSRequired
		o.HTTPSAddress = "127.0.0.1:0"
	})
	_, err := n.GetTopic("secure") // TCP would need TLS too
	require.NoError(t, err)

	admin := startAdmin(t, func(o *Options) {
		o.NSQDHTTPAddresses = []string{n.HTTPAddr()}
		o.HTTPClientTLSRootCAFile = cert
	})
	status, m := admin.object(t, "/api/topics")
	require.Equal(t, http.StatusOK, status, m)
	require.Equal(t, []any{"secure"}, m["topics"])

	untrusting := startAdmin(t, func(o *Options) { o.NSQDHTTPAddresses = []string{n.HTTPAddr()} })
	status, m = untrusting.object(t, "/api/topics")
	require.Equal(t, http.StatusBadGateway, status, "the certificate is not trusted")
	require.Contains(t, m["message"], "https://127.0.0.1:")

	skipping := startAdmin(t, func(o *Options) {
		o.NSQDHTTPAddresses = []string{n.HTTPAddr()}
		o.HTTPClientTLSInsecureSkipVerify = true
	})
	status, _ = skipping.object(t, "/api/topics")
	require.Equal(t, http.StatusOK, status)
}

func TestClientCertificateOptionsAreLoaded(t *testing.T) {
	cert, key := selfSigned(t)
	opts := NewOptions()
	opts.HTTPAddress = "127.0.0.1:0"
	opts.Logger = daemons.LogWriter(t)
	opts.NSQDHTTPAddresses = []string{"127.0.0.1:1"}
	opts.HTTPClientTLSCert, opts.HTTPClientTLSKey = cert, filepath.Join(t.TempDir(), "missing.pem")
	_, err := New(opts)
	require.ErrorContains(t, err, "failed to LoadX509KeyPair")
	opts.HTTPClientTLSKey = key
	n, err := New(opts)
	require.NoError(t, err)
	n.Exit()
}
