package auth

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nsqgo/nsq/internal/authclient"
)

// maxPublishGrants bounds a connection's cache of topics it may publish to;
// past it the cache starts over, so a client cycling through endless topic
// names costs a regexp check per name rather than unbounded memory.
const maxPublishGrants = 4096

// Conn is what a session needs of its connection: the facts the auth
// server is told, and where the current answer is shown to stats.
type Conn interface {
	// RemoteIP is the client's address without the port; empty for a
	// connection that is not TCP (a unix socket).
	RemoteIP() string
	// TLSPeer reports whether the connection was upgraded to TLS and the
	// common name of the client's certificate, if it presented one.
	TLSPeer() (enabled bool, commonName string)
	// SetAuthorization publishes a new answer for other goroutines (stats).
	SetAuthorization(*authclient.State)
}

// Refusal is a failed AUTH or check, in the protocol's terms: every one is
// fatal to the connection. Cause, when set, is for the log only: the
// client may be anyone.
type Refusal struct {
	Code  string
	Desc  string
	Cause error
}

func (r *Refusal) Error() string { return r.Code + " " + r.Desc }

func refuse(code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Desc: fmt.Sprintf(format, args...)}
}

// Session is one connection's authorization; its zero value has not
// authenticated. Only the connection's reader goroutine touches it (AUTH
// and the commands it governs all run there); stats see the state through
// Conn.SetAuthorization.
type Session struct {
	secret string            // kept to ask again when the TTL runs out
	state  *authclient.State // nil until AUTH succeeds

	// published caches, for the current state, the topics the PUB family
	// may publish to, so that a producer's PUBs cost a map lookup each
	// rather than regexp matches; lastPublished, the latest of them, spares
	// even that while a producer keeps to one topic. A new state empties
	// both.
	published     map[string]struct{}
	lastPublished string
}

// State is the current answer, nil before AUTH.
func (s *Session) State() *authclient.State { return s.state }

// Authenticate is AUTH once its body (the secret) is read; client is nil
// when no auth server is configured. The checks run in upstream's order:
// already authenticated (E_INVALID), auth not configured
// (E_AUTH_DISABLED), auth server failed (E_AUTH_FAILED), no authorizations
// (E_UNAUTHORIZED). The reply is AUTH's JSON response.
func (s *Session) Authenticate(client *authclient.Client, conn Conn, secret []byte) ([]byte, error) {
	if s.state != nil {
		return nil, refuse("E_INVALID", "AUTH already set")
	}
	if client == nil {
		return nil, refuse("E_AUTH_DISABLED", "AUTH disabled")
	}
	s.secret = string(secret)
	state, err := s.query(client, conn)
	if err != nil {
		return nil, &Refusal{Code: "E_AUTH_FAILED", Desc: "AUTH failed", Cause: err}
	}
	if len(state.Grants) == 0 {
		return nil, refuse("E_UNAUTHORIZED", "AUTH no authorizations found")
	}
	s.setState(conn, state)
	reply, err := json.Marshal(struct {
		Identity        string `json:"identity"`
		IdentityURL     string `json:"identity_url"`
		PermissionCount int    `json:"permission_count"`
	}{state.Identity, state.IdentityURL, len(state.Grants)})
	if err != nil {
		return nil, refuse("E_AUTH_ERROR", "AUTH error %s", err)
	}
	return reply, nil
}

// Check is the auth step of PUB, MPUB, DPUB (channel "") and SUB: the
// connection must have authenticated, its answer must still be fresh (else
// the auth server is asked again) and must allow topic and channel.
// Without auth servers (client nil) it allows everything.
func (s *Session) Check(client *authclient.Client, conn Conn, cmd, topic, channel string) error {
	if client == nil {
		return nil
	}
	if s.state == nil {
		return refuse("E_AUTH_FIRST", "AUTH required before %s", cmd)
	}
	if s.state.Expired(client.Now()) {
		state, err := s.query(client, conn)
		if err != nil {
			return &Refusal{Code: "E_AUTH_FAILED", Desc: "AUTH failed", Cause: err}
		}
		s.setState(conn, state)
	}
	if channel == "" {
		if topic == s.lastPublished && topic != "" {
			return nil
		}
		if _, ok := s.published[topic]; ok {
			s.lastPublished = topic
			return nil
		}
	}
	if !s.state.Allows(topic, channel) {
		return refuse("E_UNAUTHORIZED", "AUTH failed for %s on %q %q", cmd, topic, channel)
	}
	if channel == "" {
		if s.published == nil || len(s.published) >= maxPublishGrants {
			s.published = make(map[string]struct{})
		}
		s.published[topic] = struct{}{}
		s.lastPublished = topic
	}
	return nil
}

// query asks the auth servers about this connection's secret.
func (s *Session) query(client *authclient.Client, conn Conn) (*authclient.State, error) {
	tlsEnabled, commonName := conn.TLSPeer()
	return client.Query(context.Background(), authclient.Query{
		RemoteIP:   conn.RemoteIP(),
		TLS:        tlsEnabled,
		CommonName: commonName,
		Secret:     s.secret,
	})
}

// setState installs a fresh answer: decisions cached under the old one
// are dropped, and stats show the new identity.
func (s *Session) setState(conn Conn, state *authclient.State) {
	s.state = state
	clear(s.published)
	s.lastPublished = ""
	conn.SetAuthorization(state)
}
