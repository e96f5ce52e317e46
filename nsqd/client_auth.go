package nsqd

import (
	"crypto/tls"
	"errors"
	"net"
	"time"

	"github.com/nsqgo/nsq/internal/authclient"
	"github.com/nsqgo/nsq/nsqd/auth"
)

// The daemon's ties to authorization: the auth server client built from
// the options (internal/authclient), and the V2 session's AUTH and checks,
// whose state and rules are nsqd/auth's. client implements auth.Conn.

// authMethodGet is --auth-http-request-method's default (options.go).
const authMethodGet = authclient.MethodGet

// validateAuthOptions checks --auth-http-request-method, with upstream's
// message, whether or not auth servers are configured (as upstream).
func validateAuthOptions(opts *Options) error {
	switch opts.AuthHTTPRequestMethod {
	case authclient.MethodGet, authclient.MethodPost:
		return nil
	}
	return errors.New("--auth-http-request-method must be post or get")
}

// authClientConfig is the auth server client of --auth-http-address;
// tlsConfig is used for https:// auth servers (nil: the system roots).
// The auth clock is Options.Clock when one is given, else the client's
// monotonic reading (cheaper, and read on every PUB).
func authClientConfig(opts *Options, tlsConfig *tls.Config) authclient.Config {
	var now func() time.Time
	if opts.Clock != nil {
		now = opts.Clock.Now
	}
	return authclient.Config{
		Addresses:      opts.AuthHTTPAddresses,
		Post:           opts.AuthHTTPRequestMethod == authclient.MethodPost,
		ConnectTimeout: opts.HTTPClientConnectTimeout,
		RequestTimeout: opts.HTTPClientRequestTimeout,
		TLS:            tlsConfig,
		Rules:          authclient.Rules{AdminPermission: true}, // http_auth.go's admin grant
		Now:            now,
	}
}

// authenticate is AUTH once its body (the secret) is read.
func (s *v2Session) authenticate(secret []byte) ([]byte, error) {
	reply, err := s.authz.Authenticate(s.n.auth, s.c, secret)
	if err != nil {
		return nil, s.authRefused(err, "PROTOCOL(V2): [%s] AUTH failed %s")
	}
	return reply, nil
}

// checkAuth is the auth step of PUB, MPUB, DPUB (channel "") and SUB.
func (s *v2Session) checkAuth(cmd, topic, channel string) error {
	if err := s.authz.Check(s.n.auth, s.c, cmd, topic, channel); err != nil {
		return s.authRefused(err, "PROTOCOL(V2): [%s] auth failed - %s")
	}
	return nil
}

// authRefused turns a refusal into the fatal protocol error it names,
// logging its cause (never sent: the client may be anyone) with logFormat.
func (s *v2Session) authRefused(err error, logFormat string) *protocolError {
	var refusal *auth.Refusal
	if !errors.As(err, &refusal) {
		return fatalErr("E_AUTH_ERROR", "AUTH error %s", err)
	}
	if refusal.Cause != nil {
		s.n.logf(warnLevel, logFormat, s.c.remoteAddr, refusal.Cause)
	}
	return fatalErr(refusal.Code, "%s", refusal.Desc)
}

// RemoteIP is the client's address without the port, as the auth server
// gets it; empty for a connection that is not TCP (a unix socket).
func (c *client) RemoteIP() string {
	if c.conn.RemoteAddr().Network() != "tcp" {
		return ""
	}
	host, _, err := net.SplitHostPort(c.remoteAddr)
	if err != nil {
		return ""
	}
	return host
}

// TLSPeer reports whether the connection was upgraded to TLS and the
// common name of the client's certificate, if it presented one.
func (c *client) TLSPeer() (enabled bool, commonName string) {
	state := c.tlsState.Load()
	if state == nil {
		return false, ""
	}
	if len(state.PeerCertificates) > 0 {
		commonName = state.PeerCertificates[0].Subject.CommonName
	}
	return true, commonName
}

// SetAuthorization shows a connection's new auth answer to stats.
func (c *client) SetAuthorization(state *authclient.State) { c.authorization.Store(state) }
