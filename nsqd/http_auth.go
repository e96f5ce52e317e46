package nsqd

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/nsqgo/nsq/internal/httpapi"
)

// Authorization on the HTTP API (ours; upstream authorizes TCP clients
// only). With --http-auth=publish or all, a request carries
// "Authorization: Bearer <secret>"; the secret is checked against the same
// auth servers, with the same query and the same answer rules, as the TCP
// AUTH command (auth_client.go, auth.go), and the answer is cached for its
// TTL.

// --http-auth values.
const (
	httpAuthOff     = "off"
	httpAuthPublish = "publish"
	httpAuthAll     = "all"
)

// permissionAdmin is the grant (ours) that the admin endpoints require
// under --http-auth=all; an auth server must name it explicitly.
const permissionAdmin = "admin"

// maxHTTPAuthCache bounds the cached answers; past it expired entries are
// dropped, and if none had expired the cache starts over, so a flood of
// distinct secrets costs auth queries, not memory.
const maxHTTPAuthCache = 4096

func validateHTTPAuthOptions(opts *Options) error {
	switch opts.HTTPAuth {
	case "", httpAuthOff:
		return nil
	case httpAuthPublish, httpAuthAll:
		if len(opts.AuthHTTPAddresses) == 0 {
			return fmt.Errorf("--http-auth=%s requires --auth-http-address", opts.HTTPAuth)
		}
		return nil
	}
	return fmt.Errorf("--http-auth must be off, publish or all (got %q)", opts.HTTPAuth)
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
	if mode != httpAuthAll {
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

// httpAuthKey is what an answer depends on: the auth server is told the
// secret and the client's address and TLS state.
type httpAuthKey struct {
	secret     string
	remoteIP   string
	tls        bool
	commonName string
}

// httpAuthorizer guards both HTTP listeners; nil when --http-auth is off.
type httpAuthorizer struct {
	n    *NSQD
	mode string

	mu    sync.Mutex
	cache map[httpAuthKey]*authState
}

func newHTTPAuthorizer(n *NSQD) *httpAuthorizer {
	if n.opts.HTTPAuth == "" || n.opts.HTTPAuth == httpAuthOff {
		return nil
	}
	return &httpAuthorizer{n: n, mode: n.opts.HTTPAuth, cache: map[httpAuthKey]*authState{}}
}

// wrap checks every request before next routes it.
func (a *httpAuthorizer) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		class, topic, channel := classify(a.mode, r)
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
		state, err := a.answer(r, secret)
		if err != nil {
			// The cause stays in the log: the client may be anyone.
			a.n.logf(warnLevel, "HTTP: [%s] %s %s auth failed - %s", r.RemoteAddr, r.Method, r.URL.Path, err)
			w.Header().Set("WWW-Authenticate", `Bearer realm="nsqd", error="invalid_token"`)
			httpapi.RespondError(w, httpapi.Errorf(http.StatusUnauthorized, "AUTH_FAILED"))
			return
		}
		var allowed bool
		if class == classPublish {
			allowed = state.allows(topic, "")
		} else {
			allowed = state.allowsAdmin(topic, channel) && deadLetterTopicGranted(state, r)
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
func (a *httpAuthorizer) answer(r *http.Request, secret string) (*authState, error) {
	key := httpAuthKey{secret: secret}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		key.remoteIP = host
	}
	if r.TLS != nil {
		key.tls = true
		if len(r.TLS.PeerCertificates) > 0 {
			key.commonName = r.TLS.PeerCertificates[0].Subject.CommonName
		}
	}
	auth := a.n.auth
	now := auth.now()
	a.mu.Lock()
	state := a.cache[key]
	a.mu.Unlock()
	if state != nil && !state.expired(now) {
		return state, nil
	}
	// An answer without authorizations is valid: it grants nothing, so
	// every guarded endpoint answers 403 (TCP's E_UNAUTHORIZED).
	state, err := auth.query(authQuery{remoteIP: key.remoteIP, tls: key.tls, commonName: key.commonName, secret: secret})
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.cache) >= maxHTTPAuthCache {
		for k, s := range a.cache {
			if s.expired(now) {
				delete(a.cache, k)
			}
		}
		if len(a.cache) >= maxHTTPAuthCache {
			clear(a.cache)
		}
	}
	a.cache[key] = state
	return state, nil
}
