package nsqd

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"time"
)

// authAnswer is the auth server's JSON reply to GET /auth. Unknown keys
// are ignored; a value of the wrong type fails decoding, as upstream.
type authAnswer struct {
	TTL            int64         `json:"ttl"`
	Identity       string        `json:"identity"`
	IdentityURL    string        `json:"identity_url"`
	Authorizations []authGrantIn `json:"authorizations"`
}

// authGrantIn is one entry of the answer's authorizations, as sent.
type authGrantIn struct {
	Topic       string   `json:"topic"`
	Channels    []string `json:"channels"`
	Permissions []string `json:"permissions"`
}

// authState is a validated answer with every regexp compiled once, so that
// a permission check never compiles (upstream compiles on every check).
// It is immutable once built: stats read it from other goroutines.
type authState struct {
	identity    string
	identityURL string
	expires     time.Time
	grants      []authGrant
}

// authGrant is one compiled authorization.
type authGrant struct {
	topic     *regexp.Regexp
	channels  []*regexp.Regexp
	publish   bool
	subscribe bool
	// admin is ours: it governs the HTTP API's admin endpoints under
	// --http-auth=all (http_auth.go). Upstream refuses the word.
	admin bool
}

// parseAuthAnswer decodes and validates an auth server's 200 reply, with
// upstream's rules: only "subscribe" and "publish" permissions, regexps
// that compile, and a positive TTL. An answer without authorizations is
// valid here; AUTH turns it into E_UNAUTHORIZED.
func parseAuthAnswer(body []byte, now time.Time) (*authState, error) {
	var answer authAnswer
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, fmt.Errorf("decoding reply: %w", err)
	}
	state := &authState{
		identity:    answer.Identity,
		identityURL: answer.IdentityURL,
		grants:      make([]authGrant, 0, len(answer.Authorizations)),
	}
	for _, in := range answer.Authorizations {
		var grant authGrant
		for _, p := range in.Permissions {
			switch p {
			case "subscribe":
				grant.subscribe = true
			case "publish":
				grant.publish = true
			case permissionAdmin:
				grant.admin = true
			default:
				return nil, fmt.Errorf("unknown permission %s", p)
			}
		}
		var err error
		if grant.topic, err = regexp.Compile(in.Topic); err != nil {
			return nil, fmt.Errorf("unable to compile topic %q %s", in.Topic, err)
		}
		grant.channels = make([]*regexp.Regexp, 0, len(in.Channels))
		for _, c := range in.Channels {
			re, err := regexp.Compile(c)
			if err != nil {
				return nil, fmt.Errorf("unable to compile channel %q %s", c, err)
			}
			grant.channels = append(grant.channels, re)
		}
		state.grants = append(state.grants, grant)
	}
	if answer.TTL <= 0 {
		return nil, fmt.Errorf("invalid TTL %d (must be >0)", answer.TTL)
	}
	// A TTL beyond what a Duration holds would wrap negative and expire at
	// once; such an answer means "practically forever".
	ttl := time.Duration(math.MaxInt64)
	if answer.TTL < int64(math.MaxInt64/time.Second) {
		ttl = time.Duration(answer.TTL) * time.Second
	}
	state.expires = now.Add(ttl)
	return state, nil
}

// expired reports whether the answer's TTL has run out, after which the
// next check asks the auth server again.
func (s *authState) expired(now time.Time) bool { return s.expires.Before(now) }

// allows is upstream's permission rule: a SUB (channel set) needs a
// "subscribe" grant, the PUB family (channel "") a "publish" grant; the
// grant's topic regexp must match and so must one of its channel regexps,
// which for publishing means one that matches the empty string. Regexps
// are unanchored unless they say otherwise.
func (s *authState) allows(topic, channel string) bool {
	for i := range s.grants {
		g := &s.grants[i]
		if channel != "" && !g.subscribe || channel == "" && !g.publish {
			continue
		}
		if !g.topic.MatchString(topic) {
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

// allowsAdmin is the rule for the HTTP admin endpoints (ours): an "admin"
// grant whose topic regexp matches topic and, for a channel action, one of
// whose channel regexps matches channel. Node-wide endpoints (/stats,
// /metrics, /config, /debug) pass topic "": only a grant whose topic
// regexp matches the empty string (".*", say) covers them.
func (s *authState) allowsAdmin(topic, channel string) bool {
	for i := range s.grants {
		g := &s.grants[i]
		if !g.admin || !g.topic.MatchString(topic) {
			continue
		}
		if channel == "" {
			return true
		}
		for _, re := range g.channels {
			if re.MatchString(channel) {
				return true
			}
		}
	}
	return false
}
