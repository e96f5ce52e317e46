package textwatch

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// Text is an io.Writer, safe for concurrent use, that keeps what is
// written to it.
type Text struct {
	mu      sync.Mutex
	buf     strings.Builder
	changed chan struct{} // closed and replaced on every write
	echo    testing.TB    // when set, each write also goes to the test's log
}

// New returns an empty Text.
func New() *Text { return &Text{changed: make(chan struct{})} }

// Echo returns an empty Text that also passes each write to t's log, so
// a failing test shows the daemon's log beside its own.
func Echo(t testing.TB) *Text {
	w := New()
	w.echo = t
	return w
}

func (w *Text) Write(p []byte) (int, error) {
	if w.echo != nil {
		w.echo.Log(strings.TrimRight(string(p), "\n"))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	close(w.changed)
	w.changed = make(chan struct{})
	return len(p), nil
}

// String is everything written so far.
func (w *Text) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// Await waits until cond holds for everything written so far, checking
// again after each write, for at most bound of real time (which only turns
// text that never comes into a failure). It returns the text it last
// checked and whether cond held for it.
func (w *Text) Await(bound time.Duration, cond func(string) bool) (string, bool) {
	limit := time.NewTimer(bound)
	defer limit.Stop()
	for {
		w.mu.Lock()
		text, changed := w.buf.String(), w.changed
		w.mu.Unlock()
		if cond(text) {
			return text, true
		}
		select {
		case <-changed:
		case <-limit.C:
			text = w.String()
			return text, cond(text)
		}
	}
}
