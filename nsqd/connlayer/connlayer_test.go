package connlayer

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/stretchr/testify/require"
)

func TestCipherAndVersionNamesFollowUpstream(t *testing.T) {
	require.Equal(t, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", CipherSuiteName(tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256))
	require.Equal(t, "TLS_AES_128_GCM_SHA256", CipherSuiteName(tls.TLS_AES_128_GCM_SHA256))
	require.Equal(t, "Unknown 4660", CipherSuiteName(0x1234))
	require.Equal(t, "TLS1.0", VersionName(tls.VersionTLS10))
	require.Equal(t, "TLS1.2", VersionName(tls.VersionTLS12))
	require.Equal(t, "TLS1.3", VersionName(tls.VersionTLS13))
	require.Equal(t, "Unknown 768", VersionName(0x0300))
}

// countingWriter counts the writes that reach the layer below.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

func TestCompressionsRoundTripEveryFlush(t *testing.T) {
	for _, comp := range []Compression{Snappy(), Deflate(6)} {
		t.Run(comp.Name, func(t *testing.T) {
			var wire bytes.Buffer
			fw, err := comp.NewWriter(&wire)
			require.NoError(t, err)
			cw := NewCompressWriter(fw)
			r := comp.NewReader(&wire)
			for _, frame := range []string{"first frame", "second, a little longer frame"} {
				_, err := cw.Write([]byte(frame))
				require.NoError(t, err)
				require.NoError(t, cw.Flush())
				got := make([]byte, len(frame))
				_, err = io.ReadFull(r, got)
				require.NoError(t, err, "a flush makes what was written decodable")
				require.Equal(t, frame, string(got))
			}
		})
	}
}

// A DEFLATE sync flush always emits an empty block; nsqd flushes before
// every blocking read, so a flush with nothing written must send nothing.
func TestCompressWriterFlushesOnlyAfterAWrite(t *testing.T) {
	var below countingWriter
	fw, err := Deflate(6).NewWriter(&below)
	require.NoError(t, err)
	cw := NewCompressWriter(fw)
	require.NoError(t, cw.Flush())
	require.Zero(t, below.writes)
	_, err = cw.Write([]byte("x"))
	require.NoError(t, err)
	require.NoError(t, cw.Flush())
	sent := below.writes
	require.NotZero(t, sent)
	require.NoError(t, cw.Flush())
	require.Equal(t, sent, below.writes, "a second flush with nothing new sends nothing")
}

func TestDeflateRefusesAnInvalidLevel(t *testing.T) {
	_, err := Deflate(42).NewWriter(io.Discard)
	require.ErrorContains(t, err, "deflate level 42")
}

func TestPrependReadsTheReadAheadFirst(t *testing.T) {
	got, err := io.ReadAll(Prepend([]byte("ahead "), bytes.NewReader([]byte("then the rest"))))
	require.NoError(t, err)
	require.Equal(t, "ahead then the rest", string(got))
	r := bytes.NewReader(nil)
	require.Same(t, r, Prepend(nil, r).(*bytes.Reader), "nothing read ahead: the reader itself")
}

// selfSigned writes a certificate and key for 127.0.0.1 into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// The client's hello may already sit in the reader's buffer when the
// upgrade starts: the handshake must read those bytes first.
func TestServerHandshakeReplaysTheBytesReadAhead(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	config, err := ServerTLSConfig(TLSFiles{Cert: certFile, Key: keyFile, MinVersion: tls.VersionTLS12})
	require.NoError(t, err)
	serverSide, clientSide := net.Pipe()
	defer serverSide.Close()
	defer clientSide.Close()

	clientDone := make(chan error, 1)
	go func() {
		session := tls.Client(clientSide, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
		if err := session.Handshake(); err != nil {
			clientDone <- err
			return
		}
		_, err := session.Write([]byte("over TLS"))
		clientDone <- err
	}()
	readAhead := make([]byte, 7) // part of the ClientHello, as a buffered reader would take it
	_, err = io.ReadFull(serverSide, readAhead)
	require.NoError(t, err)
	session, err := ServerHandshake(serverSide, readAhead, config, clock.Real(), time.Minute)
	require.NoError(t, err)
	got := make([]byte, len("over TLS"))
	_, err = io.ReadFull(session, got)
	require.NoError(t, err)
	require.Equal(t, "over TLS", string(got))
	require.NoError(t, <-clientDone)
}

func TestServerHandshakeOfGarbageFails(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t, t.TempDir())
	config, err := ServerTLSConfig(TLSFiles{Cert: certFile, Key: keyFile})
	require.NoError(t, err)
	serverSide, clientSide := net.Pipe()
	defer serverSide.Close()
	go func() {
		clientSide.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
		clientSide.Close()
	}()
	_, err = ServerHandshake(serverSide, nil, config, clock.Real(), time.Minute)
	require.Error(t, err)
}

func TestTLSConfigs(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := selfSigned(t, dir)

	config, err := ServerTLSConfig(TLSFiles{})
	require.NoError(t, err)
	require.Nil(t, config, "no certificate and no key: TLS is off")

	_, err = ServerTLSConfig(TLSFiles{Cert: certFile})
	require.Error(t, err, "a certificate without its key")

	_, err = ServerTLSConfig(TLSFiles{Cert: certFile, Key: keyFile, ClientAuthPolicy: "requre"})
	require.EqualError(t, err, `unknown --tls-client-auth-policy "requre" (want require or require-verify)`)

	config, err = ServerTLSConfig(TLSFiles{Cert: certFile, Key: keyFile, ClientAuthPolicy: "require-verify", RootCAFile: certFile, MinVersion: tls.VersionTLS13})
	require.NoError(t, err)
	require.Equal(t, tls.RequireAndVerifyClientCert, config.ClientAuth)
	require.NotNil(t, config.ClientCAs)
	require.Equal(t, uint16(tls.VersionTLS13), config.MinVersion)

	empty := filepath.Join(dir, "empty.pem")
	require.NoError(t, os.WriteFile(empty, []byte("no certificates here"), 0o600))
	_, err = ClientTLSConfig(TLSFiles{RootCAFile: empty})
	require.EqualError(t, err, "failed to append certificate to pool from "+empty)

	client, err := ClientTLSConfig(TLSFiles{RootCAFile: certFile})
	require.NoError(t, err)
	require.NotNil(t, client.RootCAs)
}

// A client that asks for TLS and never starts the handshake is failed
// once the limit has passed on the clock given, not the wall clock's.
func TestServerHandshakeTimesOutOnTheClock(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t, t.TempDir())
	config, err := ServerTLSConfig(TLSFiles{Cert: certFile, Key: keyFile})
	require.NoError(t, err)
	serverSide, clientSide := net.Pipe()
	defer serverSide.Close()
	defer clientSide.Close()
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	armed := fake.Armed() // taken before the handshake can arm its timer
	result := make(chan error, 1)
	go func() {
		_, err := ServerHandshake(serverSide, nil, config, fake, 5*time.Second)
		result <- err
	}()
	select {
	case <-armed:
	case <-time.After(10 * time.Second):
		t.Fatal("the handshake's bound was never armed")
	}
	fake.Advance(5*time.Second - time.Nanosecond)
	select {
	case err := <-result:
		t.Fatalf("the handshake ended before its limit: %v", err)
	default:
	}
	fake.Advance(time.Nanosecond)
	select {
	case err := <-result:
		var netErr net.Error
		require.ErrorAs(t, err, &netErr)
		require.True(t, netErr.Timeout(), "%v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the handshake outlived its limit")
	}
}
