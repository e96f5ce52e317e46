package nsqd

import (
	"encoding/json"
	"net"
)

// maxPublishGrants bounds a connection's cache of topics it may publish to;
// past it the cache starts over, so a client cycling through endless topic
// names costs a regexp check per name rather than unbounded memory.
const maxPublishGrants = 4096

// sessionAuth is one connection's authorization. Only its reader goroutine
// touches it (AUTH and the commands it governs all run there); stats see
// the state through client.authorization.
type sessionAuth struct {
	secret string     // kept to ask again when the TTL runs out
	state  *authState // nil until AUTH succeeds

	// published caches, for the current state, the topics the PUB family
	// may publish to, so that a producer's PUBs cost a map lookup each
	// rather than regexp matches; lastPublished, the latest of them, spares
	// even that while a producer keeps to one topic. A new state empties
	// both.
	published     map[string]struct{}
	lastPublished string
}

// authenticate is AUTH once its body (the secret) is read. The checks run
// in upstream's order: already authenticated (E_INVALID), auth not
// configured (E_AUTH_DISABLED), auth server failed (E_AUTH_FAILED), no
// authorizations (E_UNAUTHORIZED).
func (s *v2Session) authenticate(secret []byte) ([]byte, error) {
	if s.authz.state != nil {
		return nil, fatalErr("E_INVALID", "AUTH already set")
	}
	if s.n.auth == nil {
		return nil, fatalErr("E_AUTH_DISABLED", "AUTH disabled")
	}
	s.authz.secret = string(secret)
	state, err := s.queryAuth()
	if err != nil {
		// The cause stays in the log: the client may be anyone.
		s.n.logf(warnLevel, "PROTOCOL(V2): [%s] AUTH failed %s", s.c.remoteAddr, err)
		return nil, fatalErr("E_AUTH_FAILED", "AUTH failed")
	}
	if len(state.grants) == 0 {
		return nil, fatalErr("E_UNAUTHORIZED", "AUTH no authorizations found")
	}
	s.setAuthState(state)
	reply, err := json.Marshal(struct {
		Identity        string `json:"identity"`
		IdentityURL     string `json:"identity_url"`
		PermissionCount int    `json:"permission_count"`
	}{state.identity, state.identityURL, len(state.grants)})
	if err != nil {
		return nil, fatalErr("E_AUTH_ERROR", "AUTH error %s", err)
	}
	return reply, nil
}

// checkAuth is the auth step of PUB, MPUB, DPUB (channel "") and SUB: the
// connection must have authenticated, its answer must still be fresh (else
// the auth server is asked again) and must allow topic and channel.
// Without auth servers it allows everything.
func (s *v2Session) checkAuth(cmd, topic, channel string) error {
	if s.n.auth == nil {
		return nil
	}
	if s.authz.state == nil {
		return fatalErr("E_AUTH_FIRST", "AUTH required before %s", cmd)
	}
	if s.authz.state.expired(s.n.auth.now()) {
		state, err := s.queryAuth()
		if err != nil {
			s.n.logf(warnLevel, "PROTOCOL(V2): [%s] auth failed - %s", s.c.remoteAddr, err)
			return fatalErr("E_AUTH_FAILED", "AUTH failed")
		}
		s.setAuthState(state)
	}
	if channel == "" {
		if topic == s.authz.lastPublished && topic != "" {
			return nil
		}
		if _, ok := s.authz.published[topic]; ok {
			s.authz.lastPublished = topic
			return nil
		}
	}
	if !s.authz.state.allows(topic, channel) {
		return fatalErr("E_UNAUTHORIZED", "AUTH failed for %s on %q %q", cmd, topic, channel)
	}
	if channel == "" {
		if s.authz.published == nil || len(s.authz.published) >= maxPublishGrants {
			s.authz.published = make(map[string]struct{})
		}
		s.authz.published[topic] = struct{}{}
		s.authz.lastPublished = topic
	}
	return nil
}

// queryAuth asks the auth servers about this connection's secret.
func (s *v2Session) queryAuth() (*authState, error) {
	tlsEnabled, commonName := s.c.tlsPeer()
	return s.n.auth.query(authQuery{
		remoteIP:   s.c.remoteIP(),
		tls:        tlsEnabled,
		commonName: commonName,
		secret:     s.authz.secret,
	})
}

// setAuthState installs a fresh answer: decisions cached under the old one
// are dropped, and stats show the new identity.
func (s *v2Session) setAuthState(state *authState) {
	s.authz.state = state
	clear(s.authz.published)
	s.authz.lastPublished = ""
	s.c.authorization.Store(state)
}

// remoteIP is the client's address without the port, as the auth server
// gets it; empty for a connection that is not TCP (a unix socket).
func (c *client) remoteIP() string {
	if c.conn.RemoteAddr().Network() != "tcp" {
		return ""
	}
	host, _, err := net.SplitHostPort(c.remoteAddr)
	if err != nil {
		return ""
	}
	return host
}

// tlsPeer reports whether the connection was upgraded to TLS and the
// common name of the client's certificate, if it presented one.
func (c *client) tlsPeer() (enabled bool, commonName string) {
	state := c.tlsState.Load()
	if state == nil {
		return false, ""
	}
	if len(state.PeerCertificates) > 0 {
		commonName = state.PeerCertificates[0].Subject.CommonName
	}
	return true, commonName
}
