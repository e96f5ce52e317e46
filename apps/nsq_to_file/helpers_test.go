package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/tooltest"
	"github.com/nsqgo/nsq/internal/tooltest/daemons"
	"github.com/nsqgo/nsq/nsqd"
)

// waitTimeout bounds every single wait in these tests.
const waitTimeout = 15 * time.Second

// asMainEnv makes the test binary run main() instead of the tests, so
// that the subprocess tests need no separate build.
const asMainEnv = "NSQ_TO_FILE_RUN_MAIN"

// asMainProcessEnv is the environment of a child process that runs
// main(). Under -race the child is built with the race detector too, which
// by default sleeps a second before exiting with status 0 (GORACE
// atexit_sleep_ms) to let racing goroutines be caught: a test would wait
// that second out at every SIGTERM. Its reports stay on.
func asMainProcessEnv() []string {
	gorace := "atexit_sleep_ms=0"
	if old := os.Getenv("GORACE"); old != "" {
		gorace = old + " " + gorace
	}
	return append(os.Environ(), asMainEnv+"=1", "GORACE="+gorace)
}

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// testNSQD is an in-process nsqd.
type testNSQD struct{ *daemons.NSQD }

func startNSQD(t testing.TB, lookupds []string, configure func(*nsqd.Options)) *testNSQD {
	t.Helper()
	return &testNSQD{daemons.StartNSQD(t, lookupds, configure)}
}

// publish sends bodies to topic on n, in order.
func (n *testNSQD) publish(t testing.TB, topic string, bodies []string) {
	t.Helper()
	tooltest.Publish(t, n.TCPAddr(), topic, bodies...)
}

// settled reports whether every message of topic/channel was finished by
// the consumers connected now: nothing queued, in flight or deferred, and
// as many FINs as messages the channel received. Empty queues alone are not
// enough: a message the channel has handed to a connection's pump but the
// pump has not yet counted in flight is in neither (nsqd/pump.go), and a
// test that then looked at the files raced the archiver's write (the
// TestMoveFailureIsFatalAndLeavesMessagesUnfinished flake). For consumers
// that came and went, drained is what is left to ask.
func (n *testNSQD) settled(topic, channel string) bool {
	empty, finished, received := n.queues(topic, channel)
	return empty && finished == received
}

// drained reports whether topic/channel holds nothing: not queued, in
// flight or deferred. A message on its way from the channel to a
// connection is in none of them (see settled).
func (n *testNSQD) drained(topic, channel string) bool {
	empty, _, _ := n.queues(topic, channel)
	return empty
}

// queues reads topic/channel's stats: whether it holds nothing (not
// queued, in flight or deferred), how many messages its connected
// consumers finished, and how many the channel received.
func (n *testNSQD) queues(topic, channel string) (empty bool, finished, received uint64) {
	stats := n.GetStats(topic, channel, true)
	if len(stats.Topics) == 0 || len(stats.Topics[0].Channels) == 0 {
		return false, 0, 0
	}
	ch := stats.Topics[0].Channels[0]
	for _, c := range ch.Clients {
		finished += c.FinishCount
	}
	empty = stats.Topics[0].Depth == 0 && ch.Depth == 0 && ch.InFlightCount == 0 && ch.DeferredCount == 0
	return empty, finished, ch.MessageCount
}

// handedOut reports whether every message of topic/channel has been
// handed to a consumer: none is queued or deferred (some may be in
// flight).
func (n *testNSQD) handedOut(topic, channel string) bool {
	stats := n.GetStats(topic, channel, true)
	if len(stats.Topics) == 0 || len(stats.Topics[0].Channels) == 0 {
		return false
	}
	ch := stats.Topics[0].Channels[0]
	return stats.Topics[0].Depth == 0 && ch.Depth == 0 && ch.DeferredCount == 0
}

func startLookupd(t testing.TB) *daemons.Lookupd {
	t.Helper()
	return daemons.StartLookupd(t, nil)
}

// app is nsq_to_file running in-process.
type app struct {
	t      testing.TB
	cancel context.CancelFunc
	hup    chan os.Signal
	stderr *tooltest.Buffer // its log, which a test can await lines in
	done   chan int
}

// startApp runs nsq_to_file with args; the test must end it with stop
// (the cleanup cancels it too).
func startApp(t testing.TB, args ...string) *app {
	t.Helper()
	return startAppWithClock(t, clock.Real(), args...)
}

// startAppWithClock is startApp with the clock all of its time comes from
// (see runWithClock).
func startAppWithClock(t testing.TB, clk clock.Clock, args ...string) *app {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a := &app{t: t, cancel: cancel, hup: make(chan os.Signal, 1), stderr: tooltest.NewBuffer(), done: make(chan int, 1)}
	go func() { a.done <- runWithClock(ctx, args, io.Discard, a.stderr, a.hup, clk) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-a.done:
		case <-time.After(waitTimeout):
			t.Error("nsq_to_file did not stop")
		}
		if t.Failed() {
			t.Logf("nsq_to_file log:\n%s", a.stderr)
		}
	})
	return a
}

// stop is SIGTERM: it returns the exit status.
func (a *app) stop() int {
	a.t.Helper()
	a.cancel()
	return a.wait()
}

func (a *app) wait() int {
	a.t.Helper()
	select {
	case code := <-a.done:
		a.done <- code // for the cleanup
		return code
	case <-time.After(waitTimeout):
		a.t.Fatalf("nsq_to_file did not exit; log:\n%s", a.stderr)
		return -1
	}
}

// runOnce runs nsq_to_file to completion with a cancelled context,
// returning the exit status and what it wrote.
func runOnce(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code = runWithHUP(ctx, args, &out, &errOut, nil)
	return code, out.String(), errOut.String()
}

// listFiles returns the regular files under dir, relative, sorted.
func listFiles(t testing.TB, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, rel)
		}
		return nil
	})
	require.NoError(t, err)
	sort.Strings(files)
	return files
}

// readLines reads a file's lines, through gunzip for .gz (all members).
func readLines(t testing.TB, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		require.NoError(t, err, path)
		data, err = io.ReadAll(zr)
		require.NoError(t, err, path)
	}
	if len(data) == 0 {
		return nil
	}
	require.True(t, bytes.HasSuffix(data, []byte("\n")), "%s ends with a newline", path)
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// allLines concatenates the lines of every file under dir, in file name
// order (which is revision order for one name).
func allLines(t testing.TB, dir string) []string {
	var lines []string
	for _, f := range listFiles(t, dir) {
		lines = append(lines, readLines(t, filepath.Join(dir, f))...)
	}
	return lines
}

func messages(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%04d", prefix, i)
	}
	return out
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, waitTimeout, 20*time.Millisecond, what)
}
