package toolflags

import (
	"flag"
	"fmt"
	"io"
	"sync"

	"github.com/nsqgo/nsq/internal/logging"
)

// Logs is where a tool's log lines go: its own lines, its fatal line and
// the lines of its producers and consumers, all in one format, the one
// every binary of the project writes ("<date> <time> LEVEL: message", or
// JSON lines with --log-format=json).
type Logs struct {
	w      io.Writer
	format logging.Format

	once   sync.Once
	logger *logging.Logger
}

// NewLogs registers --log-format on fs; the logs take the format the
// command line gives once fs is parsed.
func NewLogs(fs *flag.FlagSet, w io.Writer) *Logs {
	l := &Logs{w: w}
	fs.Var(&l.format, "log-format", logging.FlagUsage)
	return l
}

// Logger is the tool's logger, at info level and above (go-nsq logs its
// connection events at info for the upstream tools). Call it after the
// flags are parsed.
func (l *Logs) Logger() *logging.Logger {
	l.once.Do(func() { l.logger = logging.NewWithFormat(l.w, "", logging.Info, l.format) })
	return l.logger
}

// Printf logs one of the tool's own lines at info level.
func (l *Logs) Printf(format string, args ...any) { l.Logger().Logf(logging.Info, format, args...) }

// Fatalf logs the reason the tool gives up and returns ExitFatal for run()
// to return, as upstream's log.Fatal exits 1.
func (l *Logs) Fatalf(format string, args ...any) int {
	l.Logger().Logf(logging.Fatal, format, args...)
	return ExitFatal
}

// Fatalf is Logs.Fatalf for a tool that has no Logs (text format).
func Fatalf(w io.Writer, format string, args ...any) int {
	logging.New(w, "", logging.Info).Logf(logging.Fatal, "%s", fmt.Sprintf(format, args...))
	return ExitFatal
}

// Errorf logs a failure the tool carries on after, at error level.
func (l *Logs) Errorf(format string, args ...any) { l.Logger().Logf(logging.Error, format, args...) }
