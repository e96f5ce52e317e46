package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/logging"
)

// newTestFile returns an outputFile for topic "ft" with opts adjusted by
// set; work and output dirs are fresh temp dirs unless set joins them.
func newTestFile(t *testing.T, set func(*Options)) (*outputFile, *Options) {
	t.Helper()
	opts := NewOptions()
	opts.OutputDir = t.TempDir()
	opts.WorkDir = opts.OutputDir
	if set != nil {
		set(opts)
	}
	namer, err := newFileNamer(opts, "ft", newHostNames("host1"), 1)
	require.NoError(t, err)
	logger := logging.New(io.Discard, "", logging.Info)
	return &outputFile{opts: opts, namer: namer, logf: func(l logLevel, f string, a ...any) { logger.Logf(l, f, a...) }}, opts
}

func writeAll(t *testing.T, f *outputFile, lines ...string) {
	t.Helper()
	for _, line := range lines {
		require.NoError(t, f.write([]byte(line)))
	}
}

func TestRotationBySizeMovesEachFinishedFile(t *testing.T) {
	work := t.TempDir()
	f, opts := newTestFile(t, func(o *Options) { o.RotateSize = 10; o.WorkDir = work })
	now := time.Now()
	require.True(t, f.needsRotation(now), "no file yet")
	require.NoError(t, f.rotate(now))
	writeAll(t, f, "0123456789") // 11 bytes with the newline
	require.True(t, f.needsRotation(now))
	require.NoError(t, f.rotate(now))
	require.Equal(t, uint(1), f.rev)
	writeAll(t, f, "abc")
	require.False(t, f.needsRotation(now))
	require.NoError(t, f.close())

	files := listFiles(t, opts.OutputDir)
	require.Len(t, files, 2)
	require.Equal(t, []string{"0123456789"}, readLines(t, filepath.Join(opts.OutputDir, files[0])))
	require.Equal(t, []string{"abc"}, readLines(t, filepath.Join(opts.OutputDir, files[1])))
	require.Contains(t, files[0], "-000000.")
	require.Contains(t, files[1], "-000001.")
	require.Empty(t, listFiles(t, work))
}

func TestOpeningSkipsRevisionsThatAreTaken(t *testing.T) {
	work := t.TempDir()
	f, opts := newTestFile(t, func(o *Options) { o.WorkDir = work; o.RotateSize = 5 })
	now := time.Now()
	name := f.namer.name(now)
	// rev 0 already finished in the output dir, rev 1 left too big in the
	// work dir by an earlier run (appended to otherwise).
	require.NoError(t, os.WriteFile(filepath.Join(opts.OutputDir, withRev(name, 0)), []byte("old\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(work, withRev(name, 1)), []byte("too big\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(work, withRev(name, 2)), []byte("ok\n"), 0o644))
	require.NoError(t, f.rotate(now))
	require.Equal(t, uint(2), f.rev)
	writeAll(t, f, "new")
	require.NoError(t, f.close())
	require.Equal(t, []string{"ok", "new"}, readLines(t, filepath.Join(opts.OutputDir, withRev(name, 2))), "appended")
	require.Equal(t, []string{"old"}, readLines(t, filepath.Join(opts.OutputDir, withRev(name, 0))), "never overwritten")
}

func TestExclusiveCreateWithRotateIntervalNeverAppends(t *testing.T) {
	f, opts := newTestFile(t, func(o *Options) { o.RotateInterval = time.Hour })
	// Early in an hour, so that a minute later the hourly file name is the
	// same whatever the wall clock says when the test runs.
	now := time.Now().Truncate(time.Hour).Add(10 * time.Minute)
	name := f.namer.name(now)
	require.NoError(t, os.WriteFile(filepath.Join(opts.WorkDir, withRev(name, 0)), []byte("kept\n"), 0o644))
	require.NoError(t, f.rotate(now))
	require.Equal(t, uint(1), f.rev)
	require.False(t, f.needsRotation(now.Add(time.Minute)))
	require.True(t, f.needsRotation(now.Add(time.Hour+time.Second)))
	require.NoError(t, f.close())
	require.Equal(t, []string{"kept"}, readLines(t, filepath.Join(opts.OutputDir, withRev(name, 0))))
}

func TestMoveBumpsTheRevisionInsteadOfOverwriting(t *testing.T) {
	work := t.TempDir()
	f, opts := newTestFile(t, func(o *Options) { o.WorkDir = work; o.RotateSize = 100 })
	now := time.Now()
	require.NoError(t, f.rotate(now))
	writeAll(t, f, "mine")
	name := f.namer.name(now)
	// Someone else finished rev 0 and 1 in the meantime.
	for rev, body := range []string{"other0\n", "other1\n"} {
		require.NoError(t, os.WriteFile(filepath.Join(opts.OutputDir, withRev(name, uint(rev))), []byte(body), 0o644))
	}
	require.NoError(t, f.close())
	require.Equal(t, []string{"mine"}, readLines(t, filepath.Join(opts.OutputDir, withRev(name, 2))))
	require.Equal(t, []string{"other0"}, readLines(t, filepath.Join(opts.OutputDir, withRev(name, 0))))
	require.Empty(t, listFiles(t, work))
}

func TestEachGzipSyncEndsAMember(t *testing.T) {
	f, opts := newTestFile(t, func(o *Options) { o.GZIP = true })
	now := time.Now()
	require.NoError(t, f.rotate(now))
	writeAll(t, f, "a", "b")
	require.NoError(t, f.sync())
	require.NoError(t, f.sync(), "a sync with nothing new adds no member")
	writeAll(t, f, "c")
	require.NoError(t, f.sync())
	writeAll(t, f, "d")
	require.NoError(t, f.close())

	path := filepath.Join(opts.OutputDir, listFiles(t, opts.OutputDir)[0])
	require.Equal(t, []string{"a", "b", "c", "d"}, readLines(t, path))
	require.Equal(t, 3, gzipMembers(t, path))
}

func TestAnEmptyGzipFileIsStillValidGzip(t *testing.T) {
	f, opts := newTestFile(t, func(o *Options) { o.GZIP = true })
	require.NoError(t, f.rotate(time.Now()))
	require.NoError(t, f.close())
	path := filepath.Join(opts.OutputDir, listFiles(t, opts.OutputDir)[0])
	require.Empty(t, readLines(t, path))
	require.Equal(t, 1, gzipMembers(t, path))
}

// gzipMembers counts the members of a multi-member gzip file.
func gzipMembers(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	r := bytes.NewReader(data)
	zr, err := gzip.NewReader(r)
	require.NoError(t, err)
	members := 0
	for {
		zr.Multistream(false)
		_, err := io.Copy(io.Discard, zr)
		require.NoError(t, err)
		members++
		if err := zr.Reset(r); err == io.EOF {
			return members
		} else {
			require.NoError(t, err)
		}
	}
}

func TestANewDatetimeRotatesToRevisionZeroOfTheNewName(t *testing.T) {
	f, opts := newTestFile(t, func(o *Options) { o.DatetimeFormat = "%H%M%S"; o.RotateSize = 1 << 20 })
	at := time.Date(2026, time.November, 25, 17, 59, 59, 0, time.Local)
	require.NoError(t, f.rotate(at))
	writeAll(t, f, "old")
	require.NoError(t, f.rotate(at)) // same name: next revision
	require.Equal(t, uint(1), f.rev)
	require.False(t, f.needsRotation(at))
	require.True(t, f.needsRotation(at.Add(time.Second)), "the name changed")
	require.NoError(t, f.rotate(at.Add(time.Second)))
	require.Equal(t, uint(0), f.rev)
	writeAll(t, f, "new")
	require.NoError(t, f.close())
	require.Equal(t, []string{"ft.host1-000000.175959.log", "ft.host1-000001.175959.log", "ft.host1-000000.180000.log"},
		[]string{withRev(f.namer.name(at), 0), withRev(f.namer.name(at), 1), withRev(f.namer.name(at.Add(time.Second)), 0)})
	require.Equal(t, []string{"new"}, readLines(t, filepath.Join(opts.OutputDir, "ft.host1-000000.180000.log")))
	require.Equal(t, []string{"old"}, readLines(t, filepath.Join(opts.OutputDir, "ft.host1-000000.175959.log")))
	require.Empty(t, readLines(t, filepath.Join(opts.OutputDir, "ft.host1-000001.175959.log")))
}
