package auth

import (
	"testing"

	"github.com/nsqgo/nsq/internal/authclient"
)

// benchSession is an authenticated session whose grants are typical of a
// real deployment: a few topic patterns, the match on the last.
func benchSession(b *testing.B) (*Session, *authclient.Client) {
	state := mustParse(b, `{"ttl":3600,"authorizations":[`+
		`{"topic":"^billing\\.","channels":[".*"],"permissions":["publish"]},`+
		`{"topic":"^audit-[a-z]+$","channels":[".*"],"permissions":["publish"]},`+
		`{"topic":"^events\\.(click|view)s?$","channels":[".*"],"permissions":["publish"]}]}`)
	client := authclient.New(authclient.Config{Addresses: []string{"127.0.0.1:1"}})
	b.Cleanup(client.Close)
	return &Session{state: state}, client
}

// BenchmarkPublishAuthCheck is the auth cost every PUB pays: a cached
// per-topic decision.
func BenchmarkPublishAuthCheck(b *testing.B) {
	s, client := benchSession(b)
	conn := &fakeConn{}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Check(client, conn, "PUB", "events.clicks", ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublishAuthRegexps is what the same check costs without the
// cache (upstream also compiles every regexp on every check, on top).
func BenchmarkPublishAuthRegexps(b *testing.B) {
	s, _ := benchSession(b)
	b.ReportAllocs()
	for b.Loop() {
		if !s.state.Allows("events.clicks", "") {
			b.Fatal("denied")
		}
	}
}
