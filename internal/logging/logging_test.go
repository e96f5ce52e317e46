package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTextLinesAreUpstreams(t *testing.T) {
	var out bytes.Buffer
	l := New(&out, "[nsqd] ", Info)
	l.Logf(Debug, "hidden")
	l.Logf(Warn, "disk %s", "slow")
	require.Regexp(t, `^\[nsqd\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} WARNING: disk slow\n$`, out.String())
}

func TestJSONLinesAreParseableAndCarryLevelAppAndTime(t *testing.T) {
	var out bytes.Buffer
	l := NewWithFormat(&out, "[nsqd] ", Info, JSON)
	l.Logf(Debug, "hidden")
	l.Logf(Info, "TCP: listening on %s", "127.0.0.1:4150")
	l.Logf(Warn, `quote " and newline
inside`)
	l.SetLevel(Debug)
	l.Logf(Debug, "now shown")
	l.Logf(Error, "bad")
	l.Logf(Fatal, "worse")

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 5, "one line per record, the first debug line filtered: %q", out.String())
	want := []struct{ level, msg string }{
		{"INFO", "TCP: listening on 127.0.0.1:4150"},
		{"WARN", "quote \" and newline\ninside"},
		{"DEBUG", "now shown"},
		{"ERROR", "bad"},
		{"FATAL", "worse"},
	}
	for i, line := range lines {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		require.Equal(t, want[i].level, rec["level"], line)
		require.Equal(t, want[i].msg, rec["msg"], line)
		require.Equal(t, "nsqd", rec["app"], line)
		ts, err := time.Parse(time.RFC3339Nano, rec["time"].(string))
		require.NoError(t, err, line)
		require.WithinDuration(t, time.Now(), ts, time.Minute)
	}
}

func TestJSONWithoutPrefixHasNoApp(t *testing.T) {
	var out bytes.Buffer
	NewWithFormat(&out, "", Info, JSON).Logf(Info, "x")
	var rec map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &rec))
	require.NotContains(t, rec, "app")
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"text": Text, "JSON": JSON, "Json": JSON} {
		got, err := ParseFormat(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
		require.Equal(t, strings.ToLower(in), got.String())
	}
	_, err := ParseFormat("xml")
	require.EqualError(t, err, `invalid log format "xml" (want text or json)`)
}

// TestJSONLinesAreSlogs: apart from the time, a JSON line is byte for byte
// what log/slog's JSON handler wrote for it before the handler was replaced
// (json.go), escaping included.
func TestJSONLinesAreSlogs(t *testing.T) {
	msgs := []string{
		"plain", `quote " backslash \ slash /`, "tab\tnewline\nreturn\r",
		"nul \x00 bell \x07 esc \x1b del \x7f", "<html> & 'apostrophe'",
		"invalid \xff\xfe utf-8", "line\u2028para\u2029sep", "unicode é ✓ 😀",
	}
	levels := []Level{Debug, Info, Warn, Error, Fatal}
	for _, app := range []string{"[nsqd] ", ""} {
		var ours, theirs bytes.Buffer
		l := NewWithFormat(&ours, app, Debug, JSON)
		h := slog.NewJSONHandler(&theirs, &slog.HandlerOptions{Level: slog.LevelDebug,
			ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				if lvl, ok := a.Value.Any().(slog.Level); ok && a.Key == slog.LevelKey && lvl == slog.LevelError+4 {
					return slog.String(slog.LevelKey, "FATAL")
				}
				return a
			}})
		sl := slog.New(h)
		if app != "" {
			sl = sl.With("app", "nsqd")
		}
		slogLevel := map[Level]slog.Level{Debug: slog.LevelDebug, Info: slog.LevelInfo,
			Warn: slog.LevelWarn, Error: slog.LevelError, Fatal: slog.LevelError + 4}
		for i, m := range msgs {
			level := levels[i%len(levels)]
			l.Logf(level, "%s", m)
			sl.Log(context.Background(), slogLevel[level], m)
		}
		timeField := regexp.MustCompile(`(?m)^\{"time":"[^"]+",`)
		require.Equal(t, theirs.String(), timeField.ReplaceAllString(ours.String(), "{"))
	}
}
