package authclient

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"time"
)

// PermissionAdmin is the grant (ours) that nsqd's HTTP admin endpoints
// require under --http-auth=all (nsqd/http_auth.go). Upstream refuses the
// word, and so does a parser whose Rules do not accept it.
const PermissionAdmin = "admin"

// Authorization is one entry of the answer's authorizations, as the auth
// server sent it (nsqadmin shows them; its channels and permissions are
// never nil, so they encode as JSON arrays).
type Authorization struct {
	Topic       string   `json:"topic"`
	Channels    []string `json:"channels"`
	Permissions []string `json:"permissions"`
}

// answer is the auth server's JSON reply to GET /auth. Unknown keys are
// ignored; a value of the wrong type fails decoding, as upstream.
type answer struct {
	TTL            int64           `json:"ttl"`
	Identity       string          `json:"identity"`
	IdentityURL    string          `json:"identity_url"`
	Authorizations []Authorization `json:"authorizations"`
}

// State is a validated answer with every regexp compiled once, so that a
// permission check never compiles (upstream compiles on every check). It
// is immutable once built: stats read it from other goroutines.
type State struct {
	Identity    string
	IdentityURL string
	Expires     time.Time
	Grants      []Grant
	// Authorizations are the grants as sent, in the same order as Grants.
	Authorizations []Authorization
}

// Grant is one compiled authorization.
type Grant struct {
	Topic     *regexp.Regexp
	Channels  []*regexp.Regexp
	Publish   bool
	Subscribe bool
	// Admin is ours: it governs nsqd's HTTP admin endpoints under
	// --http-auth=all (nsqd/http_auth.go).
	Admin bool
}

// Rules are the parts of validation on which nsqd and nsqadmin differ.
type Rules struct {
	// AdminPermission accepts PermissionAdmin; without it the word is an
	// unknown permission, as upstream.
	AdminPermission bool
	// MaxTTL bounds how long an answer is trusted; 0 means no bound (a TTL
	// beyond what a Duration holds then means "practically forever").
	MaxTTL time.Duration
}

// Parse decodes and validates an auth server's 200 reply, with upstream's
// rules: only "subscribe" and "publish" permissions (and "admin" if rules
// allow it), regexps that compile, and a positive TTL counted from now. An
// answer without authorizations is valid here; nsqd's AUTH turns it into
// E_UNAUTHORIZED.
func Parse(body []byte, now time.Time, rules Rules) (*State, error) {
	var in answer
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("decoding reply: %w", err)
	}
	state := &State{
		Identity:       in.Identity,
		IdentityURL:    in.IdentityURL,
		Grants:         make([]Grant, 0, len(in.Authorizations)),
		Authorizations: make([]Authorization, 0, len(in.Authorizations)),
	}
	for _, auth := range in.Authorizations {
		var grant Grant
		for _, p := range auth.Permissions {
			switch {
			case p == "subscribe":
				grant.Subscribe = true
			case p == "publish":
				grant.Publish = true
			case p == PermissionAdmin && rules.AdminPermission:
				grant.Admin = true
			default:
				return nil, fmt.Errorf("unknown permission %s", p)
			}
		}
		var err error
		if grant.Topic, err = regexp.Compile(auth.Topic); err != nil {
			return nil, fmt.Errorf("unable to compile topic %q %s", auth.Topic, err)
		}
		grant.Channels = make([]*regexp.Regexp, 0, len(auth.Channels))
		for _, c := range auth.Channels {
			re, err := regexp.Compile(c)
			if err != nil {
				return nil, fmt.Errorf("unable to compile channel %q %s", c, err)
			}
			grant.Channels = append(grant.Channels, re)
		}
		state.Grants = append(state.Grants, grant)
		state.Authorizations = append(state.Authorizations, Authorization{
			Topic:       auth.Topic,
			Channels:    nonNil(auth.Channels),
			Permissions: nonNil(auth.Permissions),
		})
	}
	if in.TTL <= 0 {
		return nil, fmt.Errorf("invalid TTL %d (must be >0)", in.TTL)
	}
	// A TTL beyond what a Duration holds would wrap negative and expire at
	// once; such an answer gets the longest TTL allowed.
	maxTTL := rules.MaxTTL
	if maxTTL <= 0 {
		maxTTL = time.Duration(math.MaxInt64)
	}
	ttl := maxTTL
	if in.TTL < int64(maxTTL/time.Second) {
		ttl = time.Duration(in.TTL) * time.Second
	}
	state.Expires = now.Add(ttl)
	return state, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Expired reports whether the answer's TTL has run out, after which the
// next check asks the auth server again.
func (s *State) Expired(now time.Time) bool { return s.Expires.Before(now) }

// Allows is upstream's permission rule for nsqd's TCP commands: a SUB
// (channel set) needs a "subscribe" grant, the PUB family (channel "") a
// "publish" grant; the grant's topic regexp must match and so must one of
// its channel regexps, which for publishing means one that matches the
// empty string. Regexps are unanchored unless they say otherwise.
func (s *State) Allows(topic, channel string) bool {
	for i := range s.Grants {
		g := &s.Grants[i]
		if channel != "" && !g.Subscribe || channel == "" && !g.Publish {
			continue
		}
		if !g.Topic.MatchString(topic) {
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

// AllowsAdmin is the rule for nsqd's HTTP admin endpoints (ours): an
// "admin" grant whose topic regexp matches topic and, for a channel action,
// one of whose channel regexps matches channel. Node-wide endpoints
// (/stats, /metrics, /config, /debug) pass topic "": only a grant whose
// topic regexp matches the empty string (".*", say) covers them.
func (s *State) AllowsAdmin(topic, channel string) bool {
	for i := range s.Grants {
		g := &s.Grants[i]
		if !g.Admin || !g.Topic.MatchString(topic) {
			continue
		}
		if channel == "" {
			return true
		}
		for _, re := range g.Channels {
			if re.MatchString(channel) {
				return true
			}
		}
	}
	return false
}
