package daemonrun

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fakeDaemon serves until Exit, or fails at once when fail is set.
type fakeDaemon struct {
	fail   error
	exit   chan struct{}
	exited int
}

func (d *fakeDaemon) Main() error {
	if d.fail != nil {
		return d.fail
	}
	<-d.exit
	return nil
}

func (d *fakeDaemon) Exit() {
	d.exited++
	if d.exited == 1 {
		close(d.exit)
	}
}

func serveWithin(t *testing.T, ctx context.Context, d *fakeDaemon) int {
	t.Helper()
	done := make(chan int, 1)
	go func() { done <- Serve(ctx, d) }()
	select {
	case code := <-done:
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
		return -1
	}
}

func TestCancelStopsTheDaemonWithStatusZero(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d := &fakeDaemon{exit: make(chan struct{})}
	if code := serveWithin(t, ctx, d); code != 0 || d.exited != 1 {
		t.Fatalf("status %d, Exit called %d times; want 0 and 1", code, d.exited)
	}
}

func TestFailedMainIsStatusOneAndStillExits(t *testing.T) {
	d := &fakeDaemon{fail: errors.New("listen failed"), exit: make(chan struct{})}
	if code := serveWithin(t, context.Background(), d); code != 1 || d.exited != 1 {
		t.Fatalf("status %d, Exit called %d times; want 1 and 1", code, d.exited)
	}
}
