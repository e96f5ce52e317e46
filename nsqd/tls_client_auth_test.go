package nsqd

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// --tls-client-auth-policy: "require" wants any client certificate,
// "require-verify" one signed by --tls-root-ca-file; either makes TLS
// required.

func requireVerify(p *testPKI) func(*Options) {
	return func(o *Options) {
		o.TLSClientAuthPolicy = "require-verify"
		o.TLSRootCAFile = p.caFile
	}
}

func TestClientAuthRequireVerifyAcceptsACertificateSignedByTheRootCA(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, requireVerify(p))
	c := dialV2(t, n)
	c.identifyTLS(p.clientConfig(p.client), map[string]any{})
	c.pub("t", "verified")
	require.Equal(t, "test-client", n.clientList()[0].tlsState.Load().PeerCertificates[0].Subject.CommonName)
}

// In TLS 1.3 the client's handshake completes before the daemon has
// checked its certificate; the refusal then arrives as an alert, and no OK.
func handshakeRefused(t *testing.T, c *testConn, config *tls.Config) {
	t.Helper()
	c.identify(map[string]any{"feature_negotiation": true, "tls_v1": true})
	if err := c.handshake(config); err != nil {
		return
	}
	_, data, err := c.readFrameErr(5 * time.Second)
	require.Error(t, err, "frame %q after a refused certificate", data)
}

func TestClientAuthRequireVerifyRefusesACertificateFromAnotherCA(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, requireVerify(p))
	handshakeRefused(t, dialV2(t, n), p.clientConfig(p.rogue))

	other := dialV2(t, n)
	other.identifyTLS(p.clientConfig(p.client), map[string]any{})
	other.pub("t", "still served")
}

func TestClientAuthRequireVerifyRefusesAClientWithoutCertificate(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, requireVerify(p))
	handshakeRefused(t, dialV2(t, n), p.clientConfig())
}

func TestClientAuthRequireAcceptsAnyCertificate(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, func(o *Options) { o.TLSClientAuthPolicy = "require" })
	c := dialV2(t, n)
	c.identifyTLS(p.clientConfig(p.rogue), map[string]any{})
	c.pub("t", "any certificate")
}

func TestClientAuthPolicyMakesTLSRequired(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, func(o *Options) { o.TLSClientAuthPolicy = "require" })
	c := dialV2(t, n)
	c.send("NOP")
	c.expectFatal("E_INVALID cannot NOP in current state (TLS required)")
	status, body := httpsGet(t, p, n, "/config/tls_required")
	requireOK(t, "2", status, body)
}

// An explicit tcp-https is kept: the policy only raises "not required".
func TestClientAuthPolicyKeepsTCPHTTPS(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, func(o *Options) {
		o.TLSClientAuthPolicy = "require"
		o.TLSRequired = TLSRequiredExceptHTTP
	})
	status, body := httpGet(t, n, "/config/tls_required")
	requireOK(t, "1", status, body)
}
