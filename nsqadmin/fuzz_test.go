package nsqadmin

import (
	"testing"
	"time"
)

// FuzzParseAuthAnswer: any auth server reply is an answer or an error,
// never a panic, and an accepted answer expires in the future.
func FuzzParseAuthAnswer(f *testing.F) {
	for _, seed := range []string{
		`{"ttl":3600,"identity":"ann","authorizations":[{"topic":"^t$","channels":[".*"],"permissions":["publish","subscribe"]}]}`,
		`{"ttl":1,"authorizations":[]}`,
		`{"ttl":0}`,
		`{"ttl":9223372036854775807,"authorizations":[{"topic":"(","channels":[],"permissions":[]}]}`,
		`{"ttl":5,"authorizations":[{"topic":"t","channels":["["],"permissions":["admin"]}]}`,
		`not json`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		now := time.Unix(1_700_000_000, 0)
		answer, err := parseAuthAnswer(body, now)
		if err != nil {
			return
		}
		if !answer.Expires.After(now) {
			t.Fatalf("accepted answer already expired: %v", answer.Expires)
		}
		allowsAction(answer, "topic", "")
		allowsAction(answer, "topic", "channel")
	})
}

// FuzzParseSemver: any version string parses to something comparable.
func FuzzParseSemver(f *testing.F) {
	for _, seed := range []string{"1.3.0", "v1.2.1-alpha+build", "", "1.2", "a.b.c", "-1.0.0", "99999999999999999999.0.0"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := parseSemver(s)
		if v.less(v) {
			t.Fatalf("%q less than itself", s)
		}
	})
}
