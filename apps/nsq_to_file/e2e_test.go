package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest"
	"github.com/nsqgo/nsq/internal/tooltest/daemons"
	"github.com/nsqgo/nsq/nsqlookupd"
)

// fixedName keeps file names independent of the clock, so that file name
// order is revision order even across an hour boundary.
const fixedName = "--datetime-format=fixed"

func TestArchivesThreeNSQDsFoundThroughLookupdExactlyOnce(t *testing.T) {
	lookupd := startLookupd(t)
	var nodes []*testNSQD
	var want []string
	for i := range 3 {
		n := startNSQD(t, []string{lookupd.RealTCPAddr().String()}, nil)
		msgs := messages(fmt.Sprintf("node%d", i), 300)
		n.publish(t, "arch", msgs)
		nodes = append(nodes, n)
		want = append(want, msgs...)
	}
	// The archiver's first query, at start, finds all three: no poll.
	awaitProducers(t, lookupd, "arch", 3)
	out := t.TempDir()
	clk := newFakeClock()
	start := clk.Now()
	a := startAppWithClock(t, clk, "--lookupd-http-address="+lookupd.HTTPAddr(), "--topic=arch",
		"--output-dir="+out, "--sync-interval=100ms", "--max-in-flight=50")

	// Batches are synced as connections run out of RDY; the last messages
	// of each nsqd, too few for that, wait for a sync tick.
	syncTicksUntil(t, clk, start.Add(100*time.Millisecond), 100*time.Millisecond,
		"every message finished on every nsqd", func() bool {
			for _, n := range nodes {
				if !n.settled("arch", "nsq_to_file") {
					return false
				}
			}
			return true
		}, func() bool {
			for _, n := range nodes {
				if !n.handedOut("arch", "nsq_to_file") {
					return false
				}
			}
			return true
		})
	require.Zero(t, a.stop())
	got := allLines(t, out)
	require.Len(t, got, len(want), "no duplicates")
	require.ElementsMatch(t, want, got)
}

func TestRotationBySizeSplitsTheStreamInOrder(t *testing.T) {
	n := startNSQD(t, nil, nil)
	want := messages("size", 100) // 10 bytes a line
	n.publish(t, "rot", want)
	out, work := t.TempDir(), t.TempDir()
	clk := newFakeClock()
	a := startAppWithClock(t, clk, "--nsqd-tcp-address="+n.TCPAddr(), "--topic=rot", "--output-dir="+out,
		"--work-dir="+work, "--rotate-size=200", "--sync-interval=100ms", fixedName)

	// Each rotation finishes the messages of the file it closed; those
	// of the last file wait for a sync tick.
	syncTicksUntil(t, clk, clk.Now().Add(100*time.Millisecond), 100*time.Millisecond, "all finished",
		func() bool { return n.settled("rot", "nsq_to_file") },
		func() bool { return n.handedOut("rot", "nsq_to_file") })
	require.Zero(t, a.stop())
	require.Empty(t, listFiles(t, work), "every file was moved")
	files := listFiles(t, out)
	require.GreaterOrEqual(t, len(files), 4)
	for i, f := range files {
		require.Contains(t, f, fmt.Sprintf("-%06d.", i))
		info, err := os.Stat(filepath.Join(out, f))
		require.NoError(t, err)
		require.LessOrEqual(t, info.Size(), int64(210), "rotated once past 200 bytes")
	}
	require.Equal(t, want, allLines(t, out), "the files concatenated are the stream")
}

func TestRotationByIntervalWithSkipEmptyFiles(t *testing.T) {
	n := startNSQD(t, nil, nil)
	out, work := t.TempDir(), t.TempDir()
	// The clock moves only when the test says: writing the first batch may
	// take any time, and the interval still passes only between batches.
	clk := newFakeClock()
	start := clk.Now()
	// Each message starves the consumer, so it is synced at once; the sync
	// interval is far away, so only the rotation deadline can move the file.
	a := startAppWithClock(t, clk, "--nsqd-tcp-address="+n.TCPAddr(), "--topic=ivl", "--output-dir="+out,
		"--work-dir="+work, "--rotate-interval=300ms", "--sync-interval=1h", "--max-in-flight=1",
		"--skip-empty-files", fixedName)

	first, second := messages("first", 10), messages("second", 10)
	n.publish(t, "ivl", first)
	eventually(t, "first batch finished", func() bool { return n.settled("ivl", "nsq_to_file") })
	awaitArmed(t, clk, start.Add(300*time.Millisecond)) // the interval after the file opened
	// The interval passes: the file is closed and moved when it is due.
	clk.Advance(300 * time.Millisecond)
	eventually(t, "first file rotated out", func() bool { return len(listFiles(t, out)) == 1 })
	n.publish(t, "ivl", second)
	eventually(t, "all finished", func() bool { return n.settled("ivl", "nsq_to_file") })
	require.Zero(t, a.stop())

	files := listFiles(t, out)
	require.Len(t, files, 2, "no empty files in between")
	require.Equal(t, first, readLines(t, filepath.Join(out, files[0])))
	require.Equal(t, second, readLines(t, filepath.Join(out, files[1])))
	require.Empty(t, listFiles(t, work))
}

func TestGzipOutputIsAConcatenationOfMembers(t *testing.T) {
	n := startNSQD(t, nil, nil)
	out := t.TempDir()
	clk := newFakeClock()
	a := startAppWithClock(t, clk, "--nsqd-tcp-address="+n.TCPAddr(), "--topic=gz", "--output-dir="+out,
		"--gzip", "--gzip-level=1", "--sync-interval=50ms", fixedName)
	var want []string
	nextSync := clk.Now().Add(50 * time.Millisecond)
	for batch := range 3 {
		msgs := messages(fmt.Sprintf("gz%d", batch), 20)
		n.publish(t, "gz", msgs)
		want = append(want, msgs...)
		// 20 messages do not run the connection out of its 200 RDY: the
		// batch is synced, as a gzip member of its own, at a sync tick.
		nextSync = syncTicksUntil(t, clk, nextSync, 50*time.Millisecond, "batch finished",
			func() bool { return n.settled("gz", "nsq_to_file") },
			func() bool { return n.handedOut("gz", "nsq_to_file") })
	}
	require.Zero(t, a.stop())
	files := listFiles(t, out)
	require.Len(t, files, 1)
	require.True(t, strings.HasSuffix(files[0], "-000000.fixed.log.gz"), files[0])
	path := filepath.Join(out, files[0])
	require.Equal(t, want, readLines(t, path))
	require.GreaterOrEqual(t, gzipMembers(t, path), 3, "each synced batch is its own member")
}

func TestSIGHUPClosesTheFileAndTheNextMessageOpensANewOne(t *testing.T) {
	n := startNSQD(t, nil, nil)
	out, work := t.TempDir(), t.TempDir()
	// With max-in-flight 1 every message starves the connection, so each
	// is synced and finished at once, not at the (long) interval.
	a := startApp(t, "--nsqd-tcp-address="+n.TCPAddr(), "--topic=hup", "--output-dir="+out,
		"--work-dir="+work, "--sync-interval=1h", "--max-in-flight=1", fixedName)
	first, second := messages("a", 5), messages("b", 5)
	n.publish(t, "hup", first)
	eventually(t, "first batch finished", func() bool { return n.settled("hup", "nsq_to_file") })
	require.Len(t, listFiles(t, work), 1)
	require.Empty(t, listFiles(t, out))

	a.hup <- syscall.SIGHUP
	// The move links into the output dir, then unlinks from the work dir.
	eventually(t, "file moved to the output dir", func() bool {
		return len(listFiles(t, out)) == 1 && len(listFiles(t, work)) == 0
	})
	n.publish(t, "hup", second)
	eventually(t, "second batch finished", func() bool { return n.settled("hup", "nsq_to_file") })
	require.Len(t, listFiles(t, work), 1, "the next message opened a new file")
	require.Zero(t, a.stop())

	files := listFiles(t, out)
	require.Len(t, files, 2)
	require.Contains(t, files[0], "-000000.")
	require.Contains(t, files[1], "-000001.")
	require.Equal(t, append(first, second...), allLines(t, out))
}

func TestStopFlushesFinishesAndMovesEverything(t *testing.T) {
	n := startNSQD(t, nil, nil)
	want := messages("stop", 500)
	n.publish(t, "stop", want)
	out, work := t.TempDir(), t.TempDir()
	// A long sync interval and a large batch: only the stop syncs.
	a := startApp(t, "--nsqd-tcp-address="+n.TCPAddr(), "--topic=stop", "--output-dir="+out,
		"--work-dir="+work, "--sync-interval=1h", "--max-in-flight=1000", fixedName)
	eventually(t, "messages written", func() bool {
		files := listFiles(t, work)
		return len(files) == 1 && strings.Contains(a.stderr.String(), "opening")
	})
	require.Zero(t, a.stop())
	require.Empty(t, listFiles(t, work))
	got := allLines(t, out)
	require.NotEmpty(t, got)

	require.Equal(t, want[:len(got)], got)
	// nsqd may still be reading the last FINs when the app has exited.
	eventually(t, "exactly the archived messages were finished", func() bool {
		stats := n.GetStats("stop", "nsq_to_file", false).Topics[0].Channels[0]
		return stats.InFlightCount == 0 && stats.Depth == int64(len(want)-len(got))
	})
}

func TestTopicPatternDiscoversTopicsFromLookupd(t *testing.T) {
	lookupd := startLookupd(t)
	n := startNSQD(t, []string{lookupd.RealTCPAddr().String()}, nil)
	n.publish(t, "keep1", []string{"k1"})
	n.publish(t, "skip1", []string{"s1"})
	awaitTopics(t, lookupd, "keep1", "skip1")
	out := t.TempDir()
	clk := newFakeClock()
	start := clk.Now()
	// --max-in-flight=1: each message runs its connection out of RDY, so
	// it is synced and finished at once; the sync interval never comes.
	a := startAppWithClock(t, clk, "--lookupd-http-address="+lookupd.HTTPAddr(), "--topic-pattern=^keep",
		"--topic-refresh=100ms", "--output-dir="+out, "--sync-interval=1h", "--max-in-flight=1",
		"--filename-format=<TOPIC>.log")

	tickTo(t, clk, start.Add(100*time.Millisecond))
	eventually(t, "keep1 archived", func() bool { return n.settled("keep1", "nsq_to_file") })
	a.awaitLogCount("skipping topic skip1 (doesn't match pattern ^keep)", 1)

	n.publish(t, "keep2", []string{"k2"})
	awaitTopics(t, lookupd, "keep2")
	tickTo(t, clk, start.Add(200*time.Millisecond))
	eventually(t, "keep2 discovered and archived", func() bool { return n.settled("keep2", "nsq_to_file") })
	require.Zero(t, a.stop())
	require.Equal(t, []string{"keep1.log", "keep2.log"}, listFiles(t, out))
	require.Equal(t, []string{"k2"}, readLines(t, filepath.Join(out, "keep2.log")))
	stats := n.GetStats("skip1", "", false)
	require.Empty(t, stats.Topics[0].Channels, "nothing subscribed to the skipped topic")
}

func TestUnreachableLookupdIsLoggedAndRetried(t *testing.T) {
	// Reserve a port for a lookupd that starts later.
	lookupdHTTP := tooltest.FreePort(t)

	out := t.TempDir()
	clk := newFakeClock()
	start := clk.Now()
	// Without jitter the polls fall at start + k*100ms. --max-in-flight=1:
	// the message is synced and finished as soon as it is written.
	a := startAppWithClock(t, clk, "--lookupd-http-address="+lookupdHTTP, "--topic=late", "--output-dir="+out,
		"--sync-interval=1h", "--max-in-flight=1",
		"--consumer-opt=lookupd_poll_interval,100ms", "--consumer-opt=lookupd_poll_jitter,0")
	const failure = "error querying nsqlookupd"
	a.awaitLogCount(failure, 1) // the query at start
	tickTo(t, clk, start.Add(100*time.Millisecond))
	a.awaitLogCount(failure, 2) // retried at the poll

	lookupd := daemons.StartLookupd(t, func(o *nsqlookupd.Options) { o.HTTPAddress = lookupdHTTP })
	n := startNSQD(t, []string{lookupd.TCPAddr()}, nil)
	n.publish(t, "late", []string{"finally"})
	awaitProducers(t, lookupd, "late", 1)

	tickTo(t, clk, start.Add(200*time.Millisecond))
	eventually(t, "archived once lookupd is up", func() bool { return n.settled("late", "nsq_to_file") })
	require.Zero(t, a.stop())
	require.Equal(t, []string{"finally"}, allLines(t, out))
	require.Equal(t, 2, strings.Count(a.stderr.String(), failure), "one query at start and one per poll, on the tool's clock")
}

func TestMoveFailureIsFatalAndLeavesMessagesUnfinished(t *testing.T) {
	n := startNSQD(t, nil, nil)
	base := t.TempDir()
	out, work := filepath.Join(base, "out"), filepath.Join(base, "work")
	// The clock never moves, so no sync or rotation timer fires: only the
	// messages drive the archiver. With --max-in-flight=1 each message
	// starves the consumer and is synced and finished at once.
	a := startAppWithClock(t, newFakeClock(), "--nsqd-tcp-address="+n.TCPAddr(), "--topic=fail",
		"--output-dir="+out, "--work-dir="+work, "--rotate-size=1", "--max-in-flight=1", fixedName)
	n.publish(t, "fail", []string{"first"})
	eventually(t, "first finished", func() bool { return n.settled("fail", "nsq_to_file") })
	require.Equal(t, []string{"first"}, allLines(t, work), "the first file is still open")

	// The output dir turns into a file: the rotation the next message
	// causes (the file is past --rotate-size) cannot move the first file.
	require.NoError(t, os.RemoveAll(out))
	require.NoError(t, os.WriteFile(out, nil, 0o644))
	n.publish(t, "fail", []string{"second"})
	require.Equal(t, 1, a.wait())
	require.Contains(t, a.stderr.String(), "FATAL: [fail/nsq_to_file] unable to rotate file: unable to move file")

	// Upstream nsqd keeps it in flight until it times out, ours may
	// requeue it when the connection closes; either way it is not done.
	eventually(t, "the second message was not finished", func() bool {
		stats := n.GetStats("fail", "nsq_to_file", false).Topics[0].Channels[0]
		return stats.Depth+stats.InFlightCount == 1
	})
	require.Equal(t, []string{"first"}, allLines(t, work), "the unmoved file is left in the work dir")
}
