//go:build linux

// Linux only: the tests count open descriptors in /proc/self/fd.

package nsqd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fdChildEnv marks the re-executed test binary that runs with a low
// RLIMIT_NOFILE, so the limit never touches the parent's other tests.
const fdChildEnv = "NSQD_TEST_FD_EXHAUSTION_CHILD"

// runInLowFDChild re-executes this test binary to run only test, with
// fdChildEnv set, and returns its output; the child fails the parent by
// failing itself.
func runInLowFDChild(t *testing.T, test string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), fdChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child test failed:\n%s", out)
	require.Contains(t, string(out), "--- PASS: "+test)
}

// lowerFDLimit leaves room for spare more descriptors than are open now.
func lowerFDLimit(t *testing.T, spare uint64) {
	t.Helper()
	open, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	var limit syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit))
	limit.Cur = uint64(len(open)) + spare
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &limit))
}

// The daemon outlives running out of file descriptors: Accept fails with
// EMFILE, is retried with backoff and logged at WARN with a count, and once
// connections close a new client is served (before the fix nsqd exited).
func TestAcceptSurvivesDescriptorExhaustion(t *testing.T) {
	if os.Getenv(fdChildEnv) == "" {
		runInLowFDChild(t, "TestAcceptSurvivesDescriptorExhaustion")
		return
	}
	logs := &lockedBuffer{}
	// The accept loop's backoff is on the daemon's clock, advanced below.
	n, clk := startClockedDaemon(t, func(o *Options) { o.Logger = logs; o.MemQueueSize = 0 })
	producer := dialV2(t, n)
	producer.pub("t", "before")
	lowerFDLimit(t, 48)

	// Connect until this process has no descriptor left: the client side
	// fails with EMFILE, and the daemon's Accept of the last connections
	// fails alike (the kernel completed them into the backlog).
	var extra []net.Conn
	defer func() {
		for _, c := range extra {
			c.Close()
		}
	}()
	for i := 0; ; i++ {
		require.Less(t, i, 1000, "descriptors never ran out")
		conn, err := net.DialTimeout("tcp", n.RealTCPAddr().String(), 5*time.Second)
		if err != nil {
			require.True(t, errors.Is(err, syscall.EMFILE), "dial: %s", err)
			break
		}
		extra = append(extra, conn)
	}
	waitFor(t, "a failed accept in the log", func() bool {
		return strings.Contains(logs.String(), "TCP: accept failed")
	})
	require.Contains(t, logs.String(), "WARNING: TCP: accept failed (1 in a row)")

	for _, c := range extra {
		c.Close()
	}
	extra = nil
	// Descriptors come back as the daemon sees the closes; the first dial
	// may still find none.
	waitFor(t, "a free descriptor", func() bool {
		conn, err := net.DialTimeout("tcp", n.RealTCPAddr().String(), 5*time.Second)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
	// The loop accepts again when its backoff ends: each retry that still
	// fails arms a longer one (at most acceptBackoffMax), moved past here.
	// Nothing else on the clock is due that soon (idle limits: a minute).
	waitFor(t, "the accept loop to accept again", func() bool {
		if strings.Contains(logs.String(), "TCP: accepting again after") {
			return true
		}
		if next, ok := clk.NextDeadline(); ok && next.Sub(clk.Now()) <= acceptBackoffMax {
			clk.AdvanceTo(next)
		}
		return false
	})
	consumer := dialV2(t, n)
	consumer.subscribe("t", "c")
	consumer.send("RDY 1")
	require.Equal(t, "before", string(consumer.readMessage().Body))
	producer.pub("t", "after")
	require.Contains(t, logs.String(), "TCP: accepting again after")
	t.Logf("daemon log:\n%s", logs.String())
}

// hogDescriptors opens /dev/null until the process has no descriptor left
// and returns the files, to be closed to give them back.
func hogDescriptors(t *testing.T) []*os.File {
	t.Helper()
	var hogs []*os.File
	for i := 0; ; i++ {
		require.Less(t, i, 1000, "descriptors never ran out")
		f, err := os.Open(os.DevNull)
		if err != nil {
			require.True(t, errors.Is(err, syscall.EMFILE), "open: %s", err)
			return hogs
		}
		hogs = append(hogs, f)
	}
}

// A disk read that fails because no descriptor is left is tried again: the
// backlog is delivered once descriptors are back, with no new message to
// wake the channel (before the fix it stalled until the next publish).
func TestDiskReadIsRetriedAfterDescriptorExhaustion(t *testing.T) {
	if os.Getenv(fdChildEnv) == "" {
		runInLowFDChild(t, "TestDiskReadIsRetriedAfterDescriptorExhaustion")
		return
	}
	logs := &lockedBuffer{}
	n, clk := startClockedDaemon(t, func(o *Options) { o.Logger = logs; o.MemQueueSize = 0; o.MaxBytesPerFile = 512 })
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	_, err = topic.GetChannel("c")
	require.NoError(t, err)
	bodies := numbered("backlog", 20)
	// Published on the consumer's own connection: a separate publisher's
	// close would free its server-side descriptor whenever the daemon got
	// to it, possibly after the hog below, and the read it lets through
	// would never fail.
	consumer := dialV2(t, n)
	for _, body := range bodies {
		consumer.pub("t", body)
	}
	consumer.subscribe("t", "c")

	lowerFDLimit(t, 16)
	hogs := hogDescriptors(t)
	consumer.send(fmt.Sprintf("RDY %d", len(bodies)))
	waitFor(t, "a failed disk read", func() bool {
		return strings.Contains(logs.String(), "CHANNEL(t:c): read from disk")
	})
	for _, f := range hogs {
		f.Close()
	}
	// Only the retry timer can make the channel read again: nothing else
	// arrives. The fake clock has not moved, so it is due one retry delay
	// from now.
	retryAt := clk.Now().Add(diskReadRetryDelay)
	awaitDeadline(t, clk, retryAt)
	clk.AdvanceTo(retryAt)
	got := []string{}
	for _, m := range consumer.readMessages(len(bodies)) {
		got = append(got, string(m.Body))
	}
	require.Equal(t, bodies, got)
}
