//go:build linux

// Linux only: the tests count open descriptors in /proc/self/fd.

package diskqueue

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fdChildEnv marks the re-executed test binary that runs with a low
// RLIMIT_NOFILE, so the limit never touches the parent's other tests.
const fdChildEnv = "DISKQUEUE_TEST_FD_EXHAUSTION_CHILD"

// A write that needs a new segment while the process is out of file
// descriptors fails, and the queue is not broken by it: once descriptors
// are back the next write succeeds, and every acknowledged record is read
// back, once and in order.
func TestWriteAfterDescriptorExhaustionSucceeds(t *testing.T) {
	if os.Getenv(fdChildEnv) == "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestWriteAfterDescriptorExhaustionSucceeds$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), fdChildEnv+"=1")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "child test failed:\n%s", out)
		require.Contains(t, string(out), "--- PASS: TestWriteAfterDescriptorExhaustionSucceeds")
		return
	}
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	defer q.Close()
	// Each batch of 4 records of 300 bytes fills a 1024-byte segment, so
	// every batch opens a new one.
	putRange(t, q, 0, 4, 300, 4)

	open, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	var limit syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit))
	saved := limit
	limit.Cur = uint64(len(open)) + 16
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &limit))
	defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &saved)
	var hogs []*os.File
	for i := 0; ; i++ {
		require.Less(t, i, 1000, "descriptors never ran out")
		f, err := os.Open(os.DevNull)
		if err != nil {
			require.True(t, errors.Is(err, syscall.EMFILE), "open: %s", err)
			break
		}
		hogs = append(hogs, f)
	}
	failed := 0
	acked := seq(0, 4)
	for i := 4; i < 12; i += 4 {
		var recs [][]byte
		for j := i; j < i+4; j++ {
			recs = append(recs, payload(j, 300))
		}
		if err := putErr(q.Put(recs)); err != nil {
			require.True(t, errors.Is(err, syscall.EMFILE), "put: %s", err)
			failed++
		} else {
			acked = append(acked, seq(i, i+4)...)
		}
	}
	require.NotZero(t, failed, "a write needed a descriptor")
	for _, f := range hogs {
		f.Close()
	}

	putRange(t, q, 100, 108, 300, 4)
	acked = append(acked, seq(100, 108)...)
	// A failed Put may have stored a prefix of its batch before the
	// segment it needed could not be created (its caller was told it
	// failed, so at most a duplicate follows); every acknowledged record
	// is there once, in order.
	got := indexes(t, readAll(t, q))
	require.IsIncreasing(t, got)
	require.Subset(t, got, acked)
}
