package nsqd

import (
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/nsqio/go-nsq"
	"github.com/stretchr/testify/require"
)

// Auth with TLS: what the auth server learns of a TLS client (the query
// parameters tls=true and common_name, the certificate's), and auth servers reached
// over HTTPS, trusted through --tls-root-ca-file.

func TestAuthOverTLSSendsTheClientCertificateCommonName(t *testing.T) {
	p := newTestPKI(t)
	auth := newAuthServer(t, answerAlice)
	n := startTLSDaemon(t, p, func(o *Options) {
		o.AuthHTTPAddresses = []string{auth.addr()}
		o.TLSClientAuthPolicy = "require-verify"
		o.TLSRootCAFile = p.caFile // to verify the client certificate
	})
	c := dialV2(t, n)
	c.identifyTLS(p.clientConfig(p.client), map[string]any{})
	c.authenticate("secret")
	c.pub("t", "over tls")
	req := auth.lastRequest(t)
	require.Equal(t, []string{"true"}, req.fields["tls"])
	require.Equal(t, []string{"test-client"}, req.fields["common_name"])
}

func TestAuthOverTLSWithoutAClientCertificateSendsAnEmptyCommonName(t *testing.T) {
	p := newTestPKI(t)
	auth := newAuthServer(t, answerAlice)
	n := startTLSDaemon(t, p, func(o *Options) { o.AuthHTTPAddresses = []string{auth.addr()} })
	c := dialV2(t, n)
	c.identifyTLS(p.clientConfig(), map[string]any{})
	c.authenticate("secret")
	req := auth.lastRequest(t)
	require.Equal(t, []string{"true"}, req.fields["tls"])
	require.Equal(t, []string{""}, req.fields["common_name"])
}

// newHTTPSAuthServer serves alice's answer over HTTPS with the test PKI's
// certificate for 127.0.0.1.
func newHTTPSAuthServer(t *testing.T, p *testPKI) *httptest.Server {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(p.certFile, p.keyFile)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(answerAlice))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	// The refused handshake is the point of one test, not news.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPSAuthServerIsTrustedThroughTheRootCAFile(t *testing.T) {
	p := newTestPKI(t)
	srv := newHTTPSAuthServer(t, p)
	n := startAuthDaemon(t, []string{srv.URL + "/auth"}, func(o *Options) { o.TLSRootCAFile = p.caFile })
	authedConn(t, n, "secret").pub("t", "x")
}

func TestHTTPSAuthServerWithAnUnknownAuthorityIsAuthFailed(t *testing.T) {
	p := newTestPKI(t)
	srv := newHTTPSAuthServer(t, p)
	n := startAuthDaemon(t, []string{srv.URL + "/auth"}, func(o *Options) {
		// System roots only, and no timeout that could answer first: under
		// -race on a loaded machine, loading the system roots and the
		// handshake outlasted the 5 s default, and the request timed out
		// as the test's own 5 s read gave up. Only the certificate check
		// fails it now.
		o.HTTPClientRequestTimeout = time.Minute
	})
	c := dialV2(t, n)
	c.send("AUTH", []byte("secret"))
	for {
		frameType, data, err := c.readFrameErr(time.Minute)
		require.NoError(t, err)
		if frameType == protocol.FrameTypeResponse && string(data) == string(protocol.Heartbeat) {
			continue
		}
		require.Equal(t, protocol.FrameTypeError, frameType, "frame data %q", data)
		require.Equal(t, "E_AUTH_FAILED AUTH failed", string(data))
		break
	}
	c.expectClosed()
}

func TestGoNsqOverTLSWithAClientCertificateAuthenticates(t *testing.T) {
	p := newTestPKI(t)
	auth := newAuthServer(t, answerAlice)
	n := startTLSDaemon(t, p, func(o *Options) {
		o.AuthHTTPAddresses = []string{auth.addr()}
		o.TLSClientAuthPolicy = "require-verify"
		o.TLSRootCAFile = p.caFile
	})
	cfg := nsq.NewConfig()
	cfg.TlsV1 = true
	cfg.TlsConfig = p.clientConfig(p.client)
	cfg.AuthSecret = "secret"
	producer, err := nsq.NewProducer(n.RealTCPAddr().String(), cfg)
	require.NoError(t, err)
	producer.SetLogger(newGonsqLog(t), nsq.LogLevelInfo)
	t.Cleanup(producer.Stop)
	require.NoError(t, producer.Publish("t", []byte("x")))
	req := auth.lastRequest(t)
	require.Equal(t, []string{"true"}, req.fields["tls"])
	require.Equal(t, []string{"test-client"}, req.fields["common_name"])
	require.Equal(t, []string{"secret"}, req.fields["secret"])
}
