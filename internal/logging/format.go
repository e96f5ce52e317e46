package logging

import (
	"fmt"
	"strings"
)

// Format is how a Logger renders its lines: upstream's text, or one JSON
// object per line (the fields log/slog's JSON handler writes) for log collectors.
type Format int32

const (
	// Text is upstream's "<prefix><date> <time> LEVEL: message" line.
	Text Format = iota
	// JSON is one object per line: time, level, msg and, when the logger
	// has a prefix, app (the prefix without brackets and spaces).
	JSON
)

// ParseFormat accepts text or json in any case.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "text":
		return Text, nil
	case "json":
		return JSON, nil
	}
	return 0, fmt.Errorf("invalid log format %q (want text or json)", s)
}

func (f Format) String() string {
	if f == JSON {
		return "json"
	}
	return "text"
}

// Set implements flag.Value.
func (f *Format) Set(s string) error {
	parsed, err := ParseFormat(s)
	if err != nil {
		return err
	}
	*f = parsed
	return nil
}

// Get implements flag.Getter.
func (f *Format) Get() any { return *f }

// FlagUsage is the help text of --log-format, the same on every binary.
const FlagUsage = "log line format: text (upstream's) or json (one JSON object per line)"
