package nsqd

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The auth answer's rules and the per-connection decision cache, in
// isolation from the network.

func TestAuthEndpointOfHostPortIsItsAuthPath(t *testing.T) {
	require.Equal(t, "http://127.0.0.1:4181/auth", authEndpoint("127.0.0.1:4181"))
	require.Equal(t, "https://auth.example/v2/check", authEndpoint("https://auth.example/v2/check"))
}

func TestAuthAnswerExpiresAfterItsTTL(t *testing.T) {
	now := time.Now()
	state, err := parseAuthAnswer([]byte(answer(60, ".*", []string{".*"}, "publish")), now)
	require.NoError(t, err)
	require.False(t, state.expired(now.Add(60*time.Second)))
	require.True(t, state.expired(now.Add(61*time.Second)))
}

func TestAuthTTLBeyondADurationNeverExpires(t *testing.T) {
	now := time.Now()
	state, err := parseAuthAnswer([]byte(answer(1<<62, ".*", []string{".*"}, "publish")), now)
	require.NoError(t, err)
	require.False(t, state.expired(now.Add(100*365*24*time.Hour)))
}

// A producer's PUBs are decided once per topic: after the first check the
// grants are not consulted again until the answer is renewed.
func TestPublishDecisionIsCachedPerTopicUntilRenewal(t *testing.T) {
	state, err := parseAuthAnswer([]byte(answer(60, "^t", []string{".*"}, "publish")), time.Now())
	require.NoError(t, err)
	s := &v2Session{n: &NSQD{auth: &authClient{epoch: time.Now()}}}
	s.authz.state = state
	require.NoError(t, s.checkAuth("PUB", "t1", ""))
	require.NoError(t, s.checkAuth("PUB", "t3", ""))

	state.grants = nil // cached decisions must not look here again
	require.NoError(t, s.checkAuth("PUB", "t3", ""), "the latest topic")
	require.NoError(t, s.checkAuth("PUB", "t1", ""), "an earlier topic")
	require.NoError(t, s.checkAuth("MPUB", "t3", ""), "one cache for the whole PUB family")
	require.NoError(t, s.checkAuth("DPUB", "t1", ""))
	require.EqualError(t, s.checkAuth("PUB", "t2", ""), `E_UNAUTHORIZED AUTH failed for PUB on "t2" ""`,
		"an uncached topic is checked")
	require.EqualError(t, s.checkAuth("SUB", "t1", "c"), `E_UNAUTHORIZED AUTH failed for SUB on "t1" "c"`,
		"subscribing is not served from the publish cache")
}

func TestPublishCacheIsBounded(t *testing.T) {
	state, err := parseAuthAnswer([]byte(answer(60, ".*", []string{".*"}, "publish")), time.Now())
	require.NoError(t, err)
	s := &v2Session{n: &NSQD{auth: &authClient{epoch: time.Now()}}}
	s.authz.state = state
	for i := 0; i < maxPublishGrants+10; i++ {
		require.NoError(t, s.checkAuth("PUB", fmt.Sprintf("t%d", i), ""))
	}
	require.LessOrEqual(t, len(s.authz.published), maxPublishGrants)
}
