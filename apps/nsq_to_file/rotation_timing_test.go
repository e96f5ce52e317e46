package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// containsTime reports whether ts holds t (time.Time values from Add keep
// no monotonic reading difference that Equal would miss).
func containsTime(ts []time.Time, t time.Time) bool {
	for _, x := range ts {
		if x.Equal(t) {
			return true
		}
	}
	return false
}

// make run's archiver: --rotate-interval=1m with the default 30 s sync
// interval. The file must move at one minute, not at the next sync tick
// after it (1m30s), which is what the README promises.
func TestRotationHappensAtItsIntervalNotAtTheNextSync(t *testing.T) {
	n := startNSQD(t, nil, nil)
	out, work := t.TempDir(), t.TempDir()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)
	clk := newManualClock(start)
	a := startAppWithClock(t, clk, "--nsqd-tcp-address="+n.TCPAddr(), "--topic=minute",
		"--output-dir="+out, "--work-dir="+work, "--rotate-interval=1m", "--sync-interval=30s",
		"--max-in-flight=1", "--skip-empty-files", fixedName)

	n.publish(t, "minute", []string{"a"})
	eventually(t, "a finished", func() bool { return n.settled("minute", "nsq_to_file") })
	eventually(t, "rotation armed for exactly one minute after the file opened", func() bool {
		return containsTime(clk.Deadlines(), start.Add(time.Minute))
	})

	// Just before the deadline, past a sync tick: nothing moves.
	clk.Advance(time.Minute - time.Millisecond)
	eventually(t, "the sync tick at 30s was taken and re-armed", func() bool {
		return containsTime(clk.Deadlines(), start.Add(time.Minute-time.Millisecond+30*time.Second))
	})
	require.Empty(t, listFiles(t, out), "not rotated before its interval")
	require.Len(t, listFiles(t, work), 1)

	// At the deadline the file is closed and moved, no sync tick needed.
	clk.Advance(time.Millisecond)
	eventually(t, "file moved at one minute", func() bool { return len(listFiles(t, out)) == 1 })
	require.Empty(t, listFiles(t, work), "--skip-empty-files: no new file until a message comes")

	n.publish(t, "minute", []string{"b"})
	eventually(t, "b finished", func() bool { return n.settled("minute", "nsq_to_file") })
	eventually(t, "the new file's rotation armed a minute after it opened", func() bool {
		return containsTime(clk.Deadlines(), start.Add(2*time.Minute))
	})
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
