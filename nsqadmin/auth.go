package nsqadmin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The auth server is the one nsqd's --auth-http-address names, asked the
// same way (GET /auth with common_name, remote_ip, secret and tls). nsqd's own
// client (nsqd/auth_client.go) is unexported and tied to nsqd's options, so
// nsqadmin has this small one; the request and answer are the same.

const (
	// maxAuthReply bounds what is read from an auth server.
	maxAuthReply = 1 << 20
	// maxAuthCache bounds the answers kept; the oldest goes first.
	maxAuthCache = 1024
	// maxAuthTTL bounds how long an answer is trusted.
	maxAuthTTL = 365 * 24 * time.Hour
)

// authGrant is one authorization of an answer, its regexps compiled.
type authGrant struct {
	topic     *regexp.Regexp
	channels  []*regexp.Regexp
	publish   bool
	subscribe bool
}

// authAnswer is an accepted secret: who it is and what it may do, until
// expires.
type authAnswer struct {
	identity       string
	identityURL    string
	expires        time.Time
	grants         []authGrant
	authorizations []Authorization // as the auth server sent them, for the pages
}

// Authorization is one grant of an auth server's answer, in nsqd's auth
// protocol's names; /api/settings shows them so the pages can offer only
// the actions the grants allow.
type Authorization struct {
	Topic       string   `json:"topic"`
	Channels    []string `json:"channels"`
	Permissions []string `json:"permissions"`
}

// allows is the rule for administrative actions: a topic action (channel
// "") needs a "publish" grant whose topic regexp matches; a channel action
// needs a "subscribe" grant whose topic regexp matches and one of whose
// channel regexps matches. Regexps are unanchored, as nsqd's.
func (a *authAnswer) allows(topic, channel string) bool {
	for _, g := range a.grants {
		if !g.topic.MatchString(topic) {
			continue
		}
		if channel == "" {
			if g.publish {
				return true
			}
			continue
		}
		if !g.subscribe {
			continue
		}
		for _, re := range g.channels {
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
	endpoints []string
	post      bool
	client    *http.Client
	now       func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]authCacheEntry
}

func newAuthChecker(opts *Options, tlsConfig *tls.Config, now func() time.Time) *authChecker {
	a := &authChecker{
		post:  opts.AuthHTTPRequestMethod == "post",
		now:   now,
		cache: map[[32]byte]authCacheEntry{},
	}
	for _, addr := range opts.AuthHTTPAddresses {
		if strings.Contains(addr, "://") {
			a.endpoints = append(a.endpoints, addr)
		} else {
			a.endpoints = append(a.endpoints, "http://"+addr+"/auth")
		}
	}
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: opts.HTTPClientConnectTimeout}).DialContext,
		ResponseHeaderTimeout: opts.HTTPClientRequestTimeout,
		TLSClientConfig:       tlsConfig,
	}
	a.client = &http.Client{Transport: transport, Timeout: opts.HTTPClientRequestTimeout}
	return a
}

func (a *authChecker) enabled() bool { return len(a.endpoints) > 0 }

func (a *authChecker) close() { a.client.CloseIdleConnections() }

// check returns the answer for secret from remoteIP, from the cache while
// it lasts, else from the auth servers (each tried from a random one, as
// nsqd does, until one answers).
func (a *authChecker) check(ctx context.Context, secret, remoteIP string, overTLS bool) (*authAnswer, error) {
	key := sha256.Sum256([]byte(secret + "\x00" + remoteIP + "\x00" + strconv.FormatBool(overTLS)))
	now := a.now()
	a.mu.Lock()
	entry, ok := a.cache[key]
	a.mu.Unlock()
	if ok && entry.answer.expires.After(now) {
		return entry.answer, nil
	}
	var failures []string
	start := rand.IntN(len(a.endpoints))
	for i := range a.endpoints {
		endpoint := a.endpoints[(start+i)%len(a.endpoints)]
		answer, err := a.queryOne(ctx, endpoint, secret, remoteIP, overTLS)
		if err == nil {
			a.remember(key, answer)
			return answer, nil
		}
		failures = append(failures, fmt.Sprintf("%s: %s", endpoint, err))
	}
	return nil, errors.New(strings.Join(failures, "; "))
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
			if !e.answer.expires.After(now) {
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

func (a *authChecker) queryOne(ctx context.Context, endpoint, secret, remoteIP string, overTLS bool) (*authAnswer, error) {
	values := url.Values{}
	values.Set("remote_ip", remoteIP)
	values.Set("tls", strconv.FormatBool(overTLS))
	values.Set("secret", secret)
	values.Set("common_name", "")
	var req *http.Request
	var err error
	if a.post {
		body, _ := json.Marshal(values)
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	} else {
		sep := "?"
		if strings.Contains(endpoint, "?") {
			sep = "&"
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, endpoint+sep+values.Encode(), nil)
	}
	if err != nil {
		return nil, fmt.Errorf("building request - %w", err)
	}
	req.Header.Set("Accept", "application/vnd.nsq; version=1.0")
	resp, err := a.client.Do(req)
	if err != nil {
		// The URL of a GET holds the secret: keep it out of errors.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return nil, fmt.Errorf("request failed - %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAuthReply+1))
	if err != nil {
		return nil, fmt.Errorf("reading reply - %w", err)
	}
	if len(body) > maxAuthReply {
		return nil, fmt.Errorf("reply larger than %d bytes", maxAuthReply)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("got response %s %q", resp.Status, truncate(body, 256))
	}
	return parseAuthAnswer(body, a.now())
}

// parseAuthAnswer applies nsqd's rules: known permissions only, regexps
// that compile, a positive TTL.
func parseAuthAnswer(body []byte, now time.Time) (*authAnswer, error) {
	var in struct {
		TTL            int64  `json:"ttl"`
		Identity       string `json:"identity"`
		IdentityURL    string `json:"identity_url"`
		Authorizations []struct {
			Topic       string   `json:"topic"`
			Channels    []string `json:"channels"`
			Permissions []string `json:"permissions"`
		} `json:"authorizations"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("decoding reply - %w", err)
	}
	if in.TTL <= 0 {
		return nil, fmt.Errorf("invalid TTL %d (must be >0)", in.TTL)
	}
	answer := &authAnswer{identity: in.Identity, identityURL: in.IdentityURL}
	for _, auth := range in.Authorizations {
		var g authGrant
		for _, p := range auth.Permissions {
			switch p {
			case "publish":
				g.publish = true
			case "subscribe":
				g.subscribe = true
			default:
				return nil, fmt.Errorf("unknown permission %s", p)
			}
		}
		var err error
		if g.topic, err = regexp.Compile(auth.Topic); err != nil {
			return nil, fmt.Errorf("unable to compile topic %q - %w", auth.Topic, err)
		}
		for _, c := range auth.Channels {
			re, err := regexp.Compile(c)
			if err != nil {
				return nil, fmt.Errorf("unable to compile channel %q - %w", c, err)
			}
			g.channels = append(g.channels, re)
		}
		answer.grants = append(answer.grants, g)
		answer.authorizations = append(answer.authorizations, Authorization{
			Topic:       auth.Topic,
			Channels:    nonNil(auth.Channels),
			Permissions: nonNil(auth.Permissions),
		})
	}
	// A longer TTL than a year is kept for a year: the cache must forget
	// eventually, and the arithmetic must not overflow.
	ttl := maxAuthTTL
	if in.TTL < int64(maxAuthTTL/time.Second) {
		ttl = time.Duration(in.TTL) * time.Second
	}
	answer.expires = now.Add(ttl)
	return answer, nil
}
