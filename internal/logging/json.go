package logging

import (
	"io"
	"sync"
	"time"
	"unicode/utf8"
)

// jsonLines writes one JSON object per line: time (RFC 3339 with
// nanoseconds), level, msg and, when set, app, in that order, the fields
// and layout log/slog's JSON handler gave these lines. It is written here
// rather than through log/slog, which would add about 100 KB of code and
// tables to every binary (and to each daemon's resident memory) for three
// string fields (README, "Peak RSS").
type jsonLines struct {
	mu  sync.Mutex
	w   io.Writer
	app string // "" for none
	buf []byte
}

// jsonLevelNames are slog's names (WARN, not text's WARNING) and FATAL.
var jsonLevelNames = [...]string{Debug: "DEBUG", Info: "INFO", Warn: "WARN", Error: "ERROR", Fatal: "FATAL"}

func (j *jsonLines) write(level Level, msg string) {
	name := "LEVEL"
	if level >= 0 && int(level) < len(jsonLevelNames) && jsonLevelNames[level] != "" {
		name = jsonLevelNames[level]
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	b := append(j.buf[:0], `{"time":"`...)
	b = time.Now().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"`...)
	b = append(b, name...)
	b = append(b, `","msg":`...)
	b = appendJSONString(b, msg)
	if j.app != "" {
		b = append(b, `,"app":`...)
		b = appendJSONString(b, j.app)
	}
	b = append(b, "}\n"...)
	j.w.Write(b)
	if cap(b) <= 64<<10 {
		j.buf = b[:0]
	}
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD, and U+2028
// and U+2029 escaped so that the line is also valid JavaScript.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
