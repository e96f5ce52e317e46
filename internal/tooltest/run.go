package tooltest

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/textwatch"
)

// RunFunc is a tool's run().
type RunFunc func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int

// Buffer is an output stream that can be read while the tool writes it.
type Buffer struct{ *textwatch.Text }

// NewBuffer returns an empty Buffer.
func NewBuffer() *Buffer { return &Buffer{textwatch.New()} }

// WaitFor waits until cond holds for the contents, failing the test after
// WaitTimeout.
func (b *Buffer) WaitFor(t testing.TB, what string, cond func(string) bool) string {
	t.Helper()
	s, ok := b.Await(WaitTimeout, cond)
	if !ok {
		t.Fatalf("timed out waiting for %s; output so far:\n%s", what, s)
	}
	return s
}

// WaitForLines waits until the contents hold at least n lines.
func (b *Buffer) WaitForLines(t testing.TB, n int) []string {
	t.Helper()
	s := b.WaitFor(t, "output lines", func(s string) bool { return strings.Count(s, "\n") >= n })
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// Process is a tool running in-process.
type Process struct {
	Stdout, Stderr *Buffer
	cancel         context.CancelFunc
	done           chan int
}

// Start runs the tool in a goroutine with args and stdin (nil for an
// empty one). The test ends by cancelling it (as SIGTERM would) and
// waiting for it to return, unless the test has already done so.
func Start(t testing.TB, run RunFunc, stdin io.Reader, args ...string) *Process {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Process{Stdout: NewBuffer(), Stderr: NewBuffer(), cancel: cancel, done: make(chan int, 1)}
	go func() { p.done <- run(ctx, args, stdin, p.Stdout, p.Stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-p.done:
			p.done <- code
		case <-time.After(WaitTimeout):
			t.Errorf("tool did not stop in time; stderr:\n%s", p.Stderr)
		}
	})
	return p
}

// Stop cancels the tool, as SIGINT or SIGTERM would.
func (p *Process) Stop() { p.cancel() }

// Wait waits for the tool to return and gives its exit status.
func (p *Process) Wait(t testing.TB) int {
	t.Helper()
	select {
	case code := <-p.done:
		p.done <- code // later waits see it too
		return code
	case <-time.After(WaitTimeout):
		t.Fatalf("tool did not exit in time; stderr:\n%s", p.Stderr)
		return -1
	}
}

// Run runs the tool to completion and returns its status and outputs.
func Run(t testing.TB, run RunFunc, stdin io.Reader, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := Start(t, run, stdin, args...)
	code = p.Wait(t)
	return code, p.Stdout.String(), p.Stderr.String()
}
