package authclient

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The answer's rules, in isolation from the network.

// testAnswer builds a reply with one authorization and the given TTL.
func testAnswer(ttl int, topic string, channels []string, permissions ...string) string {
	body, err := json.Marshal(map[string]any{
		"ttl": ttl, "identity": "alice", "identity_url": "http://id/alice",
		"authorizations": []map[string]any{{"topic": topic, "channels": channels, "permissions": permissions}},
	})
	if err != nil {
		panic(err)
	}
	return string(body)
}

func TestEndpointOfHostPortIsItsAuthPath(t *testing.T) {
	require.Equal(t, "http://127.0.0.1:4181/auth", Endpoint("127.0.0.1:4181"))
	require.Equal(t, "https://auth.example/v2/check", Endpoint("https://auth.example/v2/check"))
}

func TestAnswerExpiresAfterItsTTL(t *testing.T) {
	now := time.Now()
	state, err := Parse([]byte(testAnswer(60, ".*", []string{".*"}, "publish")), now, Rules{})
	require.NoError(t, err)
	require.False(t, state.Expired(now.Add(60*time.Second)))
	require.True(t, state.Expired(now.Add(61*time.Second)))
}

func TestTTLBeyondADurationNeverExpires(t *testing.T) {
	now := time.Now()
	state, err := Parse([]byte(testAnswer(1<<62, ".*", []string{".*"}, "publish")), now, Rules{})
	require.NoError(t, err)
	require.False(t, state.Expired(now.Add(100*365*24*time.Hour)))
}

func TestMaxTTLBoundsTheAnswer(t *testing.T) {
	now := time.Now()
	state, err := Parse([]byte(testAnswer(1<<62, ".*", []string{".*"}, "publish")), now, Rules{MaxTTL: time.Hour})
	require.NoError(t, err)
	require.Equal(t, now.Add(time.Hour), state.Expires)
	state, err = Parse([]byte(testAnswer(60, ".*", []string{".*"}, "publish")), now, Rules{MaxTTL: time.Hour})
	require.NoError(t, err)
	require.Equal(t, now.Add(time.Minute), state.Expires, "a TTL under the bound is kept")
}

func TestAdminPermissionOnlyWhereTheRulesAcceptIt(t *testing.T) {
	body := []byte(testAnswer(60, "^t$", []string{"^c$"}, "admin"))
	_, err := Parse(body, time.Now(), Rules{})
	require.EqualError(t, err, "unknown permission admin", "upstream refuses the word")
	state, err := Parse(body, time.Now(), Rules{AdminPermission: true})
	require.NoError(t, err)
	require.True(t, state.AllowsAdmin("t", "c"))
	require.True(t, state.AllowsAdmin("t", ""), "a topic action needs no channel match")
	require.False(t, state.AllowsAdmin("t", "d"))
	require.False(t, state.AllowsAdmin("u", ""))
	require.False(t, state.Allows("t", ""), "admin is not publish")
	require.False(t, state.Allows("t", "c"), "admin is not subscribe")
}

func TestAllowsIsUpstreamsRule(t *testing.T) {
	state, err := Parse([]byte(testAnswer(60, "^t", []string{"^c$", "^$"}, "publish", "subscribe")), time.Now(), Rules{})
	require.NoError(t, err)
	require.True(t, state.Allows("t1", ""), "publishing needs a channel regexp matching the empty string")
	require.False(t, state.Allows("xt", "c"), "the topic regexp is anchored only where it says so")
	require.True(t, state.Allows("t2", "c"))
	require.False(t, state.Allows("t2", "cc"))

	pubOnly, err := Parse([]byte(testAnswer(60, ".*", []string{".*"}, "publish")), time.Now(), Rules{})
	require.NoError(t, err)
	require.False(t, pubOnly.Allows("t", "c"), "subscribing needs the subscribe permission")
}

func TestAuthorizationsAreKeptAsSentWithArraysNeverNull(t *testing.T) {
	state, err := Parse([]byte(`{"ttl":5,"identity":"ann","authorizations":[{"topic":"^t$","permissions":["publish"]}]}`), time.Now(), Rules{})
	require.NoError(t, err)
	out, err := json.Marshal(state.Authorizations)
	require.NoError(t, err)
	require.JSONEq(t, `[{"topic":"^t$","channels":[],"permissions":["publish"]}]`, string(out))
	require.Equal(t, "ann", state.Identity)
}

func TestInvalidAnswersAreRefused(t *testing.T) {
	for body, want := range map[string]string{
		`not json`:                      "decoding reply",
		`{"ttl":0,"authorizations":[]}`: "invalid TTL 0 (must be >0)",
		`{"ttl":5,"authorizations":[{"topic":"(","channels":[],"permissions":["publish"]}]}`:    `unable to compile topic "("`,
		`{"ttl":5,"authorizations":[{"topic":"t","channels":["["],"permissions":["publish"]}]}`: `unable to compile channel "["`,
		`{"ttl":5,"authorizations":[{"topic":"t","channels":[],"permissions":["read"]}]}`:       "unknown permission read",
	} {
		_, err := Parse([]byte(body), time.Now(), Rules{AdminPermission: true})
		require.Error(t, err, body)
		require.True(t, strings.Contains(err.Error(), want), "%s: %v", body, err)
	}
}

// FuzzParse: any auth server reply is an answer or an error, never a
// panic, and an accepted answer expires in the future with one compiled
// grant per authorization.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"ttl":3600,"identity":"ann","authorizations":[{"topic":"^t$","channels":[".*"],"permissions":["publish","subscribe"]}]}`,
		`{"ttl":1,"authorizations":[]}`,
		`{"ttl":0}`,
		`{"ttl":9223372036854775807,"authorizations":[{"topic":"(","channels":[],"permissions":[]}]}`,
		`{"ttl":5,"authorizations":[{"topic":"t","channels":["["],"permissions":["admin"]}]}`,
		`not json`,
		``,
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, admin bool) {
		now := time.Unix(1_700_000_000, 0)
		state, err := Parse(body, now, Rules{AdminPermission: admin, MaxTTL: 0})
		if err != nil {
			return
		}
		if !state.Expires.After(now) {
			t.Fatalf("accepted answer already expired: %v", state.Expires)
		}
		if len(state.Grants) != len(state.Authorizations) {
			t.Fatalf("%d grants for %d authorizations", len(state.Grants), len(state.Authorizations))
		}
		state.Allows("topic", "")
		state.Allows("topic", "channel")
		state.AllowsAdmin("", "")
	})
}
