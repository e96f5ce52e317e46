package auth

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/nsqgo/nsq/internal/authclient"
	"github.com/nsqgo/nsq/internal/httpapi"
)

// Authorization on nsqd's HTTP API (ours; upstream authorizes TCP clients
// only). With --http-auth=publish or all, a request carries
// "Authorization: Bearer <secret>"; the secret is checked against the same
// auth servers, with the same query and the same answer rules, as the TCP
// AUTH command (internal/authclient), and the answer is cached for its
// TTL.

// --http-auth values.
const (
	HTTPOff     = "off"
	HTTPPublish = "publish"
	HTTPAll     = "all"
)

// maxHTTPCache bounds the cached answers; past it expired entries are
// dropped, and if none had expired the cache starts over, so a flood of
// distinct secrets costs auth queries, not memory.
const maxHTTPCache = 4096

// ValidateHTTPMode checks --http-auth: off (or empty), publish or all,
// and the last two only with auth servers to ask.
func ValidateHTTPMode(mode string, haveServers bool) error {
	switch mode {
	case "", HTTPOff:
		return nil
	case HTTPPublish, HTTPAll:
		if !haveServers {
			return fmt.Errorf("--http-auth=%s requires --auth-http-address", mode)
		}
		return nil
	}
	return fmt.Errorf("--http-auth must be off, publish or all (got %q)", mode)
}

// endpointClass is what a request needs.
type endpointClass int

const (
	classOpen    endpointClass = iota
	classPublish               // a publish grant on the topic
	classAdmin                 // an admin grant on the topic (and channel), or node-wide
)

// classify says what a request needs under mode, and on which topic and
// channel. Under "all" anything not listed is admin, so a route added later
// is protected until someone decides otherwise.
func classify(mode string, r *http.Request) (class endpointClass, topic, channel string) {
	path := r.URL.Path
	switch path {
	case "/ping", "/healthz", "/readyz", "/info":
		return classOpen, "", ""
	case "/pub", "/mpub":
		q, _ := url.ParseQuery(r.URL.RawQuery)
		return classPublish, q.Get("topic"), ""
	}
	if mode != HTTPAll {
		return classOpen, "", ""
	}
	if strings.HasPrefix(path, "/topic/") || strings.HasPrefix(path, "/channel/") {
		q, _ := url.ParseQuery(r.URL.RawQuery)
		topic = q.Get("topic")
		if strings.HasPrefix(path, "/channel/") {
			channel = q.Get("channel")
		}
		return classAdmin, topic, channel
	}
	return classAdmin, "", ""
}

// httpKey is what an answer depends on: the auth server is told the
// secret and the client's address and TLS state.
type httpKey struct {
	secret     string
	remoteIP   string
	tls        bool
	commonName string
}

// HTTPGuard guards nsqd's HTTP listeners.
type HTTPGuard struct {
	client *authclient.Client
	mode   string
	// logf gets each failed query's cause (warning level), never sent to
	// the client, who may be anyone.
	logf func(format string, args ...any)
	// adminAlso is a further condition on an admin request its grants
	// allow (nsqd: a dead_letter_topic parameter needs publishing there).
	adminAlso func(state *authclient.State, r *http.Request) bool

	mu    sync.Mutex
	cache map[httpKey]*authclient.State
}

// NewHTTPGuard returns nil when mode is off (or empty): nothing to guard.
// adminAlso may be nil.
func NewHTTPGuard(client *authclient.Client, mode string, logf func(format string, args ...any),
	adminAlso func(state *authclient.State, r *http.Request) bool) *HTTPGuard {
	if mode == "" || mode == HTTPOff {
		return nil
	}
	return &HTTPGuard{client: client, mode: mode, logf: logf, adminAlso: adminAlso, cache: map[httpKey]*authclient.State{}}
}

// Wrap checks every request before next routes it.
func (g *HTTPGuard) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		class, topic, channel := classify(g.mode, r)
		if class == classOpen {
			next.ServeHTTP(w, r)
			return
		}
		secret, ok := bearerSecret(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="nsqd"`)
			httpapi.RespondError(w, httpapi.Errorf(http.StatusUnauthorized, "AUTH_REQUIRED"))
			return
		}
		state, err := g.answer(r, secret)
		if err != nil {
			g.logf("HTTP: [%s] %s %s auth failed - %s", r.RemoteAddr, r.Method, r.URL.Path, err)
			w.Header().Set("WWW-Authenticate", `Bearer realm="nsqd", error="invalid_token"`)
			httpapi.RespondError(w, httpapi.Errorf(http.StatusUnauthorized, "AUTH_FAILED"))
			return
		}
		var allowed bool
		if class == classPublish {
			allowed = state.Allows(topic, "")
		} else {
			allowed = state.AllowsAdmin(topic, channel) && (g.adminAlso == nil || g.adminAlso(state, r))
		}
		if !allowed {
			httpapi.RespondError(w, httpapi.Errorf(http.StatusForbidden, "FORBIDDEN"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearerSecret reads "Authorization: Bearer <secret>" (scheme case-insensitive).
func bearerSecret(r *http.Request) (string, bool) {
	scheme, secret, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	secret = strings.TrimSpace(secret)
	return secret, secret != ""
}

// answer is the cached auth answer for the request's secret and peer,
// asking the auth servers when there is none or its TTL ran out. Failures
// are not cached: the next request asks again.
func (g *HTTPGuard) answer(r *http.Request, secret string) (*authclient.State, error) {
	key := httpKey{secret: secret}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		key.remoteIP = host
	}
	if r.TLS != nil {
		key.tls = true
		if len(r.TLS.PeerCertificates) > 0 {
			key.commonName = r.TLS.PeerCertificates[0].Subject.CommonName
		}
	}
	now := g.client.Now()
	g.mu.Lock()
	state := g.cache[key]
	g.mu.Unlock()
	if state != nil && !state.Expired(now) {
		return state, nil
	}
	// An answer without authorizations is valid: it grants nothing, so
	// every guarded endpoint answers 403 (TCP's E_UNAUTHORIZED).
	state, err := g.client.Query(r.Context(), authclient.Query{RemoteIP: key.remoteIP, TLS: key.tls, CommonName: key.commonName, Secret: secret})
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.cache) >= maxHTTPCache {
		for k, s := range g.cache {
			if s.Expired(now) {
				delete(g.cache, k)
			}
		}
		if len(g.cache) >= maxHTTPCache {
			clear(g.cache)
		}
	}
	g.cache[key] = state
	return state, nil
}
