package nsqd

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// benchAuthSession is an authenticated session whose grants are typical of
// a real deployment: a few topic patterns, the match on the last.
func benchAuthSession(b *testing.B) *v2Session {
	state, err := parseAuthAnswer([]byte(`{"ttl":3600,"authorizations":[`+
		`{"topic":"^billing\\.","channels":[".*"],"permissions":["publish"]},`+
		`{"topic":"^audit-[a-z]+$","channels":[".*"],"permissions":["publish"]},`+
		`{"topic":"^events\\.(click|view)s?$","channels":[".*"],"permissions":["publish"]}]}`), time.Now())
	require.NoError(b, err)
	s := &v2Session{n: &NSQD{auth: &authClient{epoch: time.Now()}}}
	s.authz.state = state
	return s
}

// BenchmarkPublishAuthCheck is the auth cost every PUB pays: a cached
// per-topic decision.
func BenchmarkPublishAuthCheck(b *testing.B) {
	s := benchAuthSession(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.checkAuth("PUB", "events.clicks", ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublishAuthRegexps is what the same check costs without the
// cache (upstream also compiles every regexp on every check, on top).
func BenchmarkPublishAuthRegexps(b *testing.B) {
	s := benchAuthSession(b)
	b.ReportAllocs()
	for b.Loop() {
		if !s.authz.state.allows("events.clicks", "") {
			b.Fatal("denied")
		}
	}
}
