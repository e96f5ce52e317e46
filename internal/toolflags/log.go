package toolflags

import (
	"fmt"
	"io"
	"log"

	"github.com/nsqgo/nsq/internal/logging"
)

// Fatalf writes the message as upstream's log.Fatal does ("2006/01/02
// 15:04:05 message") and returns ExitFatal for run() to return.
func Fatalf(w io.Writer, format string, args ...any) int {
	log.New(w, "", log.LstdFlags).Output(2, fmt.Sprintf(format, args...))
	return ExitFatal
}

// NewLogger is a tool's log for its own lines, in upstream's format.
func NewLogger(w io.Writer) *log.Logger { return log.New(w, "", log.LstdFlags) }

// ClientLogger is the log the tool's producers and consumers write to:
// connection events at info level and above, as go-nsq logs for the
// upstream tools.
func ClientLogger(w io.Writer) *logging.Logger { return logging.New(w, "", logging.Info) }
