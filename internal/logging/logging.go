package logging

import (
	"fmt"
	"io"
	"log"
	"strings"
	"sync/atomic"
)

// Level is a log level; its integer value is what /config/log_level shows.
type Level int32

const (
	Debug Level = 1
	Info  Level = 2
	Warn  Level = 3
	Error Level = 4
	Fatal Level = 5
)

var levelNames = map[Level]string{Debug: "DEBUG", Info: "INFO", Warn: "WARNING", Error: "ERROR", Fatal: "FATAL"}

// ParseLevel accepts debug, info, warn, error, fatal in any case.
func ParseLevel(s string) (Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return Debug, nil
	case "info":
		return Info, nil
	case "warn", "warning":
		return Warn, nil
	case "error":
		return Error, nil
	case "fatal":
		return Fatal, nil
	}
	return 0, fmt.Errorf("invalid log level %q", s)
}

func (l Level) String() string {
	if name, ok := levelNames[l]; ok {
		return name
	}
	return fmt.Sprintf("LEVEL(%d)", int32(l))
}

// Set implements flag.Value.
func (l *Level) Set(s string) error {
	parsed, err := ParseLevel(s)
	if err != nil {
		return err
	}
	*l = parsed
	return nil
}

// Get implements flag.Getter.
func (l *Level) Get() any { return *l }

// Logger writes "<prefix><date> LEVEL: message" lines (or their JSON form)
// at or above its level. The level can change at run time
// (PUT /config/log_level).
type Logger struct {
	out   *log.Logger // Text
	json  *jsonLines  // JSON
	level atomic.Int32
}

// New returns a logger writing upstream's text lines to w with the given
// prefix and level.
func New(w io.Writer, prefix string, level Level) *Logger {
	return NewWithFormat(w, prefix, level, Text)
}

// NewWithFormat is New with the line format chosen by --log-format.
func NewWithFormat(w io.Writer, prefix string, level Level, format Format) *Logger {
	l := &Logger{}
	if format == JSON {
		l.json = &jsonLines{w: w, app: strings.Trim(prefix, "[] \t")}
	} else {
		l.out = log.New(w, prefix, log.Ldate|log.Ltime|log.Lmicroseconds)
	}
	l.level.Store(int32(level))
	return l
}

// SetLevel changes the threshold.
func (l *Logger) SetLevel(level Level) { l.level.Store(int32(level)) }

// Level returns the threshold.
func (l *Logger) Level() Level { return Level(l.level.Load()) }

// Logf logs at level when the threshold allows it.
func (l *Logger) Logf(level Level, format string, args ...any) {
	if l == nil || level < l.Level() {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if l.json != nil {
		l.json.write(level, msg)
		return
	}
	l.out.Output(2, level.String()+": "+msg)
}
