package nsqadmin

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"strconv"
	"sync"
	"time"

	"github.com/nsqgo/nsq/internal/authclient"
)

// The auth server is the one nsqd's --auth-http-address names, asked the
// same way and with the same answer rules, by the same client
// (internal/authclient). What is nsqadmin's own is the cache of answers
// per secret and the rule for administrative actions (allowsAction).

const (
	// maxAuthReply bounds what is read from an auth server.
	maxAuthReply = 1 << 20
	// maxAuthCache bounds the answers kept; the oldest goes first.
	maxAuthCache = 1024
	// maxAuthTTL bounds how long an answer is trusted.
	maxAuthTTL = 365 * 24 * time.Hour
)

// authRules: nsqadmin refuses nsqd's "admin" permission, as upstream does,
// and trusts an answer for a year at most.
var authRules = authclient.Rules{MaxTTL: maxAuthTTL}

// Authorization is one grant of an auth server's answer, in nsqd's auth
// protocol's names; /api/settings shows them so the pages can offer only
// the actions the grants allow.
type Authorization = authclient.Authorization

// authAnswer is an accepted secret: who it is and what it may do, until
// it expires.
type authAnswer = authclient.State

// parseAuthAnswer applies nsqadmin's rules to an auth server's reply.
func parseAuthAnswer(body []byte, now time.Time) (*authAnswer, error) {
	return authclient.Parse(body, now, authRules)
}

// allowsAction is the rule for administrative actions: a topic action
// (channel "") needs a "publish" grant whose topic regexp matches; a
// channel action needs a "subscribe" grant whose topic regexp matches and
// one of whose channel regexps matches. Regexps are unanchored, as nsqd's.
func allowsAction(a *authAnswer, topic, channel string) bool {
	for _, g := range a.Grants {
		if !g.Topic.MatchString(topic) {
			continue
		}
		if channel == "" {
			if g.Publish {
				return true
			}
			continue
		}
		if !g.Subscribe {
			continue
		}
		for _, re := range g.Channels {
			if re.MatchString(channel) {
				return true
			}
		}
	}
	return false
}

type authCacheEntry struct {
	answer *authAnswer
	added  time.Time
}

// authChecker asks the auth servers about secrets and keeps each accepted
// answer until its TTL ends.
type authChecker struct {
	client *authclient.Client // nil without auth servers
	now    func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]authCacheEntry
}

func newAuthChecker(opts *Options, tlsConfig *tls.Config, now func() time.Time) *authChecker {
	return &authChecker{
		client: authclient.New(authclient.Config{
			Addresses:      opts.AuthHTTPAddresses,
			Post:           opts.AuthHTTPRequestMethod == authclient.MethodPost,
			ConnectTimeout: opts.HTTPClientConnectTimeout,
			RequestTimeout: opts.HTTPClientRequestTimeout,
			TLS:            tlsConfig,
			MaxReplySize:   maxAuthReply,
			Rules:          authRules,
			Now:            now,
		}),
		now:   now,
		cache: map[[32]byte]authCacheEntry{},
	}
}

func (a *authChecker) enabled() bool { return a.client != nil }

func (a *authChecker) close() { a.client.Close() }

// check returns the answer for secret from remoteIP, from the cache while
// it lasts, else from the auth servers (each tried from a random one, as
// nsqd does, until one answers).
func (a *authChecker) check(ctx context.Context, secret, remoteIP string, overTLS bool) (*authAnswer, error) {
	key := sha256.Sum256([]byte(secret + "\x00" + remoteIP + "\x00" + strconv.FormatBool(overTLS)))
	now := a.now()
	a.mu.Lock()
	entry, ok := a.cache[key]
	a.mu.Unlock()
	if ok && entry.answer.Expires.After(now) {
		return entry.answer, nil
	}
	answer, err := a.client.Query(ctx, authclient.Query{RemoteIP: remoteIP, TLS: overTLS, Secret: secret})
	if err != nil {
		return nil, err
	}
	a.remember(key, answer)
	return answer, nil
}

func (a *authChecker) remember(key [32]byte, answer *authAnswer) {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.cache) >= maxAuthCache {
		var oldestKey [32]byte
		var oldest time.Time
		first := true
		for k, e := range a.cache {
			if !e.answer.Expires.After(now) {
				delete(a.cache, k)
				continue
			}
			if first || e.added.Before(oldest) {
				oldestKey, oldest, first = k, e.added, false
			}
		}
		if len(a.cache) >= maxAuthCache {
			delete(a.cache, oldestKey)
		}
	}
	a.cache[key] = authCacheEntry{answer: answer, added: now}
}

// forget drops the cached answers for secret (logout).
func (a *authChecker) forget(secret, remoteIP string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, overTLS := range []bool{false, true} {
		delete(a.cache, sha256.Sum256([]byte(secret+"\x00"+remoteIP+"\x00"+strconv.FormatBool(overTLS))))
	}
}
