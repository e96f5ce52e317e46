package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// make run's archiver: --rotate-interval=1m with the default 30 s sync
// interval. The file must move at one minute after it was opened, not at
// the next sync tick after that, which is what the README promises. The
// file is opened 12 s in, so that its deadline (1m12s) falls between two
// sync ticks (1m and 1m30s) and on no tick of the consumer's 5 s RDY
// redistribution either: only the rotation timer is due at 1m12s.
func TestRotationHappensAtItsIntervalNotAtTheNextSync(t *testing.T) {
	n := startNSQD(t, nil, nil)
	out, work := t.TempDir(), t.TempDir()
	clk := newFakeClock()
	start := clk.Now()
	a := startAppWithClock(t, clk, "--nsqd-tcp-address="+n.TCPAddr(), "--topic=minute",
		"--output-dir="+out, "--work-dir="+work, "--rotate-interval=1m", "--sync-interval=30s",
		"--max-in-flight=1", "--skip-empty-files", fixedName)
	awaitArmed(t, clk, start.Add(30*time.Second)) // the router is running
	clk.AdvanceTo(start.Add(12 * time.Second))

	opened := clk.Now()
	n.publish(t, "minute", []string{"a"})
	eventually(t, "a finished", func() bool { return n.settled("minute", "nsq_to_file") })
	due := opened.Add(time.Minute)
	awaitArmed(t, clk, due)

	// Two sync ticks pass; each re-arms the next from its own time.
	tickTo(t, clk, start.Add(30*time.Second))
	tickTo(t, clk, start.Add(time.Minute))
	awaitArmed(t, clk, start.Add(90*time.Second))

	// Just before the deadline: nothing moves.
	clk.AdvanceTo(due.Add(-time.Millisecond))
	require.Empty(t, listFiles(t, out), "not rotated before its interval")
	require.Len(t, listFiles(t, work), 1)

	// At the deadline the file is closed and moved, no sync tick needed:
	// the next one is still armed for 1m30s.
	clk.AdvanceTo(due)
	// The move links into the output dir, then unlinks from the work dir;
	// --skip-empty-files: no new file appears until a message comes.
	eventually(t, "file moved at one minute", func() bool {
		return len(listFiles(t, out)) == 1 && len(listFiles(t, work)) == 0
	})
	requireArmed(t, clk, start.Add(90*time.Second), "the sync tick has not fired")

	n.publish(t, "minute", []string{"b"})
	eventually(t, "b finished", func() bool { return n.settled("minute", "nsq_to_file") })
	awaitArmed(t, clk, due.Add(time.Minute)) // the new file's deadline
	require.Zero(t, a.stop())
	files := listFiles(t, out)
	require.Len(t, files, 2)
	require.Equal(t, []string{"a"}, readLines(t, filepath.Join(out, files[0])))
	require.Equal(t, []string{"b"}, readLines(t, filepath.Join(out, files[1])))
}

func TestNextNameChangeIsTheFirstCalendarBoundaryThatChangesTheName(t *testing.T) {
	at := time.Date(2026, 12, 31, 23, 59, 58, 500_000_000, time.Local)
	for _, tc := range []struct {
		format string
		want   time.Time
		never  bool
	}{
		{format: "%Y-%m-%d_%H%M%S", want: time.Date(2026, 12, 31, 23, 59, 59, 0, time.Local)},
		{format: "%Y-%m-%d_%H%M", want: time.Date(2027, 1, 1, 0, 0, 0, 0, time.Local)},
		{format: "%Y-%m-%d_%H", want: time.Date(2027, 1, 1, 0, 0, 0, 0, time.Local)},
		{format: "fixed", never: true},
	} {
		opts := NewOptions()
		opts.DatetimeFormat = tc.format
		namer, err := newFileNamer(opts, "t", newHostNames("h"), 1)
		require.NoError(t, err)
		got, ok := namer.nextChange(at)
		if tc.never {
			require.False(t, ok, tc.format)
			continue
		}
		require.True(t, ok, tc.format)
		require.True(t, tc.want.Equal(got), "%s: got %s, want %s", tc.format, got, tc.want)
	}

	// Mid-hour with an hourly name: the next hour, not the next minute.
	opts := NewOptions()
	opts.DatetimeFormat = "%Y-%m-%d_%H"
	namer, err := newFileNamer(opts, "t", newHostNames("h"), 1)
	require.NoError(t, err)
	got, ok := namer.nextChange(time.Date(2026, 6, 1, 10, 17, 3, 0, time.Local))
	require.True(t, ok)
	require.True(t, time.Date(2026, 6, 1, 11, 0, 0, 0, time.Local).Equal(got), "got %s", got)
}

func TestRotationDueIsTheEarlierOfIntervalAndNameChange(t *testing.T) {
	f, _ := newTestFile(t, func(o *Options) {
		o.DatetimeFormat = "%Y-%m-%d_%H"
		o.RotateInterval = 10 * time.Minute
	})
	_, ok := f.rotationDue()
	require.False(t, ok, "no file open")

	early := time.Date(2026, 6, 1, 10, 5, 0, 0, time.Local)
	require.NoError(t, f.rotate(early))
	due, ok := f.rotationDue()
	require.True(t, ok)
	require.True(t, early.Add(10*time.Minute).Equal(due), "interval first: %s", due)
	require.False(t, f.needsRotation(due.Add(-time.Nanosecond)))
	require.True(t, f.needsRotation(due), "due means rotated at the deadline, not after it")

	late := time.Date(2026, 6, 1, 10, 55, 0, 0, time.Local)
	require.NoError(t, f.rotate(late))
	due, ok = f.rotationDue()
	require.True(t, ok)
	require.True(t, time.Date(2026, 6, 1, 11, 0, 0, 0, time.Local).Equal(due), "the hour first: %s", due)
	require.NoError(t, f.close())
}
