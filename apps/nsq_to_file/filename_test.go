package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStrftimeSubset(t *testing.T) {
	at := time.Date(2026, time.November, 5, 7, 3, 9, 0, time.FixedZone("CET", 3600))
	require.Equal(t, "2026-11-05_07", strftime("%Y-%m-%d_%H", at))
	require.Equal(t, "26 07AM 03:09 November Nov Thursday Thu CET +0100 %", strftime("%y %I%p %M:%S %B %b %A %a %Z %z %%", at))
	require.Equal(t, "%q and 2006 Jan 1 stay literal %", strftime("%q and 2006 Jan 1 stay literal %", at))
	pm := time.Date(2026, time.November, 5, 19, 0, 0, 0, time.UTC)
	require.Equal(t, "07PM", strftime("%I%p", pm))
}

func newTestNamer(t *testing.T, opts *Options, topic string) *fileNamer {
	t.Helper()
	if opts.WorkDir == "" {
		opts.WorkDir = opts.OutputDir
	}
	n, err := newFileNamer(opts, topic, newHostNames("host1.example.com"), 12704)
	require.NoError(t, err)
	return n
}

func TestFileNamesMatchUpstreamsObservedNames(t *testing.T) {
	at := time.Date(2026, time.November, 25, 17, 52, 0, 0, time.Local)

	opts := NewOptions()
	require.Equal(t, "ft.host1.2026-11-25_17.log", withRev(newTestNamer(t, opts, "ft").name(at), 0),
		"defaults: <REV> removed")

	opts = NewOptions()
	opts.GZIP = true
	require.Equal(t, "ft.host1-000000.2026-11-25_17.log.gz", withRev(newTestNamer(t, opts, "ft").name(at), 0))

	opts = NewOptions()
	opts.RotateSize = 60
	opts.WorkDir = "/work"
	n := newTestNamer(t, opts, "ft")
	require.Equal(t, "ft.host1-000001.2026-11-25_17.log", withRev(n.name(at), 1))

	opts = NewOptions()
	opts.FilenameFormat = "<TOPIC>/<HOST>-<PID><REV>-<DATETIME>.txt"
	opts.DatetimeFormat = "%Y%m%d%H%M"
	opts.HostIdentifier = "x-<SHORT_HOST>"
	opts.RotateInterval = time.Second
	require.Equal(t, "ft/x-host1-12704-000000-202611251752.txt", withRev(newTestNamer(t, opts, "ft").name(at), 0))

	opts = NewOptions()
	opts.HostIdentifier = "<HOSTNAME>"
	opts.FilenameFormat = "<HOST>.log.gz"
	opts.GZIP = true
	opts.FilenameFormat = "<HOST><REV>.log.gz"
	require.Equal(t, "host1.example.com-000000.log.gz", withRev(newTestNamer(t, opts, "ft").name(at), 0),
		".gz is not appended twice")
}

func TestNameChangesWithTheDatetime(t *testing.T) {
	n := newTestNamer(t, NewOptions(), "ft")
	at := time.Date(2026, time.November, 25, 17, 59, 59, 0, time.Local)
	require.NotEqual(t, n.name(at), n.name(at.Add(time.Second)), "a new hour is a new name")
	require.Equal(t, n.name(at), n.name(at.Add(-time.Minute)))
}

func TestMissingRevIsRejectedWhenNeeded(t *testing.T) {
	for _, set := range []func(*Options){
		func(o *Options) { o.GZIP = true },
		func(o *Options) { o.RotateSize = 1 },
		func(o *Options) { o.RotateInterval = time.Second },
		func(o *Options) { o.WorkDir = "/elsewhere" },
	} {
		opts := NewOptions()
		opts.WorkDir = opts.OutputDir
		opts.FilenameFormat = "<TOPIC>.log"
		set(opts)
		_, err := newFileNamer(opts, "t", newHostNames("h"), 1)
		require.ErrorContains(t, err, "missing <REV> in --filename-format")
	}
	opts := NewOptions()
	opts.WorkDir = opts.OutputDir
	opts.FilenameFormat = "<TOPIC>.log"
	_, err := newFileNamer(opts, "t", newHostNames("h"), 1)
	require.NoError(t, err, "no rotation, no rename: <REV> is optional")
}

// FuzzStrftime: any --datetime-format formats without panicking, and text
// without directives comes out unchanged.
func FuzzStrftime(f *testing.F) {
	for _, seed := range []string{"%Y-%m-%d_%H", "%", "%%", "%q%", "plain", "%Y%y%m%d%H%I%M%S%p%B%b%A%a%Z%z"} {
		f.Add(seed)
	}
	at := time.Date(2026, time.November, 25, 17, 52, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, format string) {
		out := strftime(format, at)
		if !strings.Contains(format, "%") {
			require.Equal(t, format, out)
		}
	})
}
