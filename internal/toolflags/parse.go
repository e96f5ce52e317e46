package toolflags

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/nsqgo/nsq/internal/version"
)

// Exit statuses shared by the tools.
const (
	ExitOK    = 0
	ExitFatal = 1 // a validation or runtime failure (upstream's log.Fatal)
	ExitUsage = 2 // a bad command line (the flag package's status)
)

// NewFlagSet returns a flag set for tool that reports errors to the caller
// instead of exiting, so run() can be tested in-process; usage and flag
// errors go to stderr.
func NewFlagSet(tool string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(tool, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// Parse parses args into fs. When the tool should not go on it returns
// false and the exit status: 0 after --help, 2 after a bad flag or a
// positional argument. Upstream silently ignores positional arguments,
// and with them every flag after the first; rejecting them says why a
// flag seemed to have no effect.
func Parse(fs *flag.FlagSet, args []string) (status int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK, false
		}
		return ExitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %q\n", fs.Args())
		fs.Usage()
		return ExitUsage, false
	}
	return ExitOK, true
}

// PrintVersion writes the --version line: upstream's "<tool> v1.3.0",
// then the Go version, this project's name and the commit.
func PrintVersion(w io.Writer, tool string) {
	fmt.Fprintln(w, version.String(tool))
}
