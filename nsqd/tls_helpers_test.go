package nsqd

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testPKI is a throwaway certificate authority with a server certificate
// for 127.0.0.1 and two client certificates: one it signed and one signed
// by an unrelated CA. The PEM files live in the test's temp dir.
type testPKI struct {
	caFile, certFile, keyFile string // the CA; the server's pair
	pool                      *x509.CertPool
	client                    tls.Certificate // signed by the CA, CN "test-client"
	rogue                     tls.Certificate // signed by another CA
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	dir := t.TempDir()
	caCert, caKey := newCA(t, "nsqd test CA")
	p := &testPKI{
		caFile:   writePEM(t, dir, "ca.pem", "CERTIFICATE", caCert.Raw),
		certFile: filepath.Join(dir, "server.pem"),
		keyFile:  filepath.Join(dir, "server-key.pem"),
		pool:     x509.NewCertPool(),
	}
	p.pool.AddCert(caCert)
	server := issue(t, caCert, caKey, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	writePEM(t, dir, "server.pem", "CERTIFICATE", server.Certificate[0])
	keyDER, err := x509.MarshalECPrivateKey(server.PrivateKey.(*ecdsa.PrivateKey))
	require.NoError(t, err)
	writePEM(t, dir, "server-key.pem", "EC PRIVATE KEY", keyDER)
	p.client = issue(t, caCert, caKey, "test-client", x509.ExtKeyUsageClientAuth)
	rogueCA, rogueKey := newCA(t, "rogue CA")
	p.rogue = issue(t, rogueCA, rogueKey, "rogue-client", x509.ExtKeyUsageClientAuth)
	return p
}

// clientConfig trusts the test CA; with a certificate it also presents it.
func (p *testPKI) clientConfig(certs ...tls.Certificate) *tls.Config {
	return &tls.Config{RootCAs: p.pool, ServerName: "127.0.0.1", Certificates: certs}
}

// serve configures a daemon with the server certificate.
func (p *testPKI) serve(o *Options) {
	o.TLSCert = p.certFile
	o.TLSKey = p.keyFile
}

func newCA(t testing.TB, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return cert, key
}

// issue signs a leaf certificate; a name that parses as an IP becomes an
// IP SAN (what clients verify for 127.0.0.1), any other a DNS SAN.
func issue(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, name string, usage x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	require.NoError(t, err)
	template := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if ip := net.ParseIP(name); ip != nil {
		template.IPAddresses = []net.IP{ip}
	} else {
		template.DNSNames = []string{name}
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func writePEM(t testing.TB, dir, name, blockType string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600))
	return path
}

// startTLSDaemon runs a daemon with the test PKI's server certificate.
func startTLSDaemon(t testing.TB, p *testPKI, configure func(*Options)) *NSQD {
	t.Helper()
	return startDaemon(t, func(o *Options) {
		p.serve(o)
		if configure != nil {
			configure(o)
		}
	})
}

// identifyTLS asks for tls_v1 and completes the upgrade: the JSON reply in
// the clear, the handshake, then OK over TLS.
func (c *testConn) identifyTLS(config *tls.Config, fields map[string]any) map[string]any {
	c.t.Helper()
	fields["feature_negotiation"] = true
	fields["tls_v1"] = true
	reply := c.identify(fields)
	require.Equal(c.t, true, reply["tls_v1"], "reply %v", reply)
	c.startTLS(config)
	c.expectResponse("OK")
	return reply
}

// startTLS runs the client handshake on the raw connection and reads
// through the session from then on.
func (c *testConn) startTLS(config *tls.Config) {
	c.t.Helper()
	require.NoError(c.t, c.handshake(config))
}

func (c *testConn) handshake(config *tls.Config) error {
	// Nothing the daemon sent may be buffered: the reply was the last
	// plaintext frame before the handshake.
	require.Zero(c.t, c.reader.Buffered(), "bytes after the IDENTIFY reply before the handshake")
	session := tls.Client(c.conn, config)
	session.SetDeadline(time.Now().Add(5 * time.Second))
	if err := session.Handshake(); err != nil {
		return err
	}
	c.conn = session
	c.reader = bufio.NewReader(session)
	return nil
}

// httpsClient trusts the test CA and presents the CA-signed client
// certificate (the HTTPS listener shares the client auth policy).
func (p *testPKI) httpsClient() *http.Client {
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: p.clientConfig(p.client)},
	}
}

// pipelinedConn sends the IDENTIFY command in the same write as the first
// handshake bytes, and takes the daemon's reply frame off the stream before
// the handshake reads it: a client that does not wait for the reply.
type pipelinedConn struct {
	net.Conn
	first []byte // written ahead of the first write
	reply []byte // the frame read ahead of the first read
}

func (p *pipelinedConn) Write(b []byte) (int, error) {
	if p.first != nil {
		out := append(p.first, b...)
		p.first = nil
		if _, err := p.Conn.Write(out); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return p.Conn.Write(b)
}

func (p *pipelinedConn) Read(b []byte) (int, error) {
	if p.reply == nil {
		var head [8]byte
		if _, err := io.ReadFull(p.Conn, head[:]); err != nil {
			return 0, err
		}
		p.reply = make([]byte, binary.BigEndian.Uint32(head[:4])-4)
		if _, err := io.ReadFull(p.Conn, p.reply); err != nil {
			return 0, err
		}
	}
	return p.Conn.Read(b)
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

// httpsGet is httpGet over the daemon's HTTPS listener.
func httpsGet(t testing.TB, p *testPKI, n *NSQD, path string) (int, []byte) {
	t.Helper()
	resp, err := p.httpsClient().Get("https://" + n.RealHTTPSAddr().String() + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}
