package httpserver

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/nsqd/queue"
)

// FuzzSettingsParams checks the settings parameters' parser alone (the
// daemon's side is fuzzed through a running nsqd by nsqd's
// FuzzObjectConfigQuery): it never panics, a refusal is a 400 with an
// INVALID_ token, a topic never accepts a channel-only setting, and what
// it accepts for a topic validates as a topic's.
func FuzzSettingsParams(f *testing.F) {
	for _, seed := range []string{
		"max_attempts=5&msg_ttl=1500&max_depth=10&max_bytes=2048&overflow=drop-oldest&dead_letter_topic=dead",
		"max_attempts=&msg_ttl=&max_depth=&max_bytes=&overflow=&dead_letter_topic=",
		"msg_ttl=1h30m", "msg_ttl=1.5s", "msg_ttl=1500us", "max_attempts=65536", "overflow=Drop-Oldest",
		"dead_letter_topic=orders", "dead_letter_topic=x%23ephemeral", "max_bytes=-0",
		"topic=other&channel=other", "max_depth=1&max_depth=-1", "",
	} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	f.Fuzz(func(t *testing.T, rawQuery string, forTopic bool) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		set, clear, err := settingsParams(q, forTopic)
		if err != nil {
			var apiErr httpapi.Error
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || !strings.HasPrefix(apiErr.Message, "INVALID_") {
				t.Fatalf("%q: refused with %v", rawQuery, err)
			}
			return
		}
		if forTopic {
			if set.MaxAttempts != nil || set.DeadLetterTopic != nil || slices.Contains(clear, queue.FieldMaxAttempts) || slices.Contains(clear, queue.FieldDeadLetterTopic) {
				t.Fatalf("%q: a topic took a channel's setting", rawQuery)
			}
			if err := set.ValidateTopic(); err != nil {
				t.Fatalf("%q: accepted settings do not validate: %v", rawQuery, err)
			}
		}
	})
}
