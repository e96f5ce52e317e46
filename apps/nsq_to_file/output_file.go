package main

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// maxRevisions bounds the search for a free revision, so that a directory
// that refuses every name fails instead of looping.
const maxRevisions = 1 << 20

// outputFile is one topic's current output file, as upstream's nsq_to_file keeps it:
// opened in the work dir under the next free revision, written through a
// buffer or gzip, synced on demand (each sync ends a gzip member), and
// on close moved to the output dir without overwriting anything.
type outputFile struct {
	opts  *Options
	namer *fileNamer
	logf  func(level logLevel, format string, args ...any)

	out  *os.File
	buf  *bufio.Writer // plain files
	gz   *gzip.Writer  // gzip files
	w    io.Writer
	path string // relative to the work and output dirs, revision filled in

	name     string // current name, <REV> unreplaced
	rev      uint
	openTime time.Time
	due      time.Time // when to rotate by time (hasDue), see rotationDue
	hasDue   bool
	size     int64 // bytes written, uncompressed
	dirty    bool  // written since the last sync
	members  int   // gzip members completed in this file
}

func (f *outputFile) moving() bool { return f.opts.WorkDir != f.opts.OutputDir }

// needsRotation: no file open, the name changed (a new <DATETIME>), the
// file is older than --rotate-interval or bigger than --rotate-size.
func (f *outputFile) needsRotation(now time.Time) bool {
	if f.out == nil {
		return true
	}
	if name := f.namer.name(now); name != f.name {
		f.logf(infoLevel, "new filename %s, rotating...", name)
		return true
	}
	if f.opts.RotateInterval > 0 {
		if open := now.Sub(f.openTime); open >= f.opts.RotateInterval {
			f.logf(infoLevel, "%s since last open, rotating...", open)
			return true
		}
	}
	if f.opts.RotateSize > 0 && f.size > f.opts.RotateSize {
		f.logf(infoLevel, "%s currently %d bytes (> %d), rotating...", f.out.Name(), f.size, f.opts.RotateSize)
		return true
	}
	return false
}

// rotationDue is when the open file must next be rotated by time: at
// --rotate-interval after it was opened, or when the name changes (a new
// <DATETIME>), whichever comes first. False when no file is open or
// neither applies; rotation by size happens as bytes are written.
func (f *outputFile) rotationDue() (time.Time, bool) {
	if f.out == nil {
		return time.Time{}, false
	}
	return f.due, f.hasDue
}

// computeDue sets the deadline of the file just opened at f.openTime.
func (f *outputFile) computeDue() {
	due, ok := f.namer.nextChange(f.openTime)
	if f.opts.RotateInterval > 0 {
		if byAge := f.openTime.Add(f.opts.RotateInterval); !ok || byAge.Before(due) {
			due, ok = byAge, true
		}
	}
	f.due, f.hasDue = due, ok
}

// rotate closes the current file, if any, and opens the next one: the
// next revision of the same name, or revision 0 of a new name.
func (f *outputFile) rotate(now time.Time) error {
	if err := f.close(); err != nil {
		return err
	}
	name := f.namer.name(now)
	if name != f.name {
		f.rev = 0
	} else {
		f.rev++
	}
	f.name = name
	f.openTime = now
	f.computeDue()
	for tries := 0; ; tries, f.rev = tries+1, f.rev+1 {
		if tries == maxRevisions {
			return fmt.Errorf("no free revision of %s after %d tries", name, tries)
		}
		opened, err := f.tryOpen(withRev(name, f.rev))
		if err != nil {
			return err
		}
		if opened {
			return nil
		}
	}
}

// tryOpen opens path in the work dir, unless that revision is taken: it
// exists in the output dir, exists in the work dir when files are
// created exclusively (gzip, --rotate-interval), or is already bigger
// than --rotate-size. Other files are appended to.
func (f *outputFile) tryOpen(path string) (bool, error) {
	workPath := filepath.Join(f.opts.WorkDir, path)
	if err := os.MkdirAll(filepath.Dir(workPath), 0o770); err != nil {
		return false, fmt.Errorf("unable to create dir: %w", err)
	}
	if f.moving() {
		outPath := filepath.Join(f.opts.OutputDir, path)
		if err := os.MkdirAll(filepath.Dir(outPath), 0o770); err != nil {
			return false, fmt.Errorf("unable to create dir: %w", err)
		}
		_, err := os.Stat(outPath)
		if err == nil {
			f.logf(warnLevel, "output file already exists: %s", outPath)
			return false, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("unable to stat output file %s: %w", outPath, err)
		}
	}
	flags := os.O_WRONLY | os.O_CREATE
	if f.opts.GZIP || f.opts.RotateInterval > 0 {
		flags |= os.O_EXCL
	} else {
		flags |= os.O_APPEND
	}
	out, err := os.OpenFile(workPath, flags, 0o666)
	if errors.Is(err, fs.ErrExist) {
		f.logf(warnLevel, "working file already exists: %s", workPath)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("unable to open %s: %w", workPath, err)
	}
	info, err := out.Stat()
	if err != nil {
		out.Close()
		return false, fmt.Errorf("unable to stat file %s: %w", workPath, err)
	}
	if f.opts.RotateSize > 0 && info.Size() > f.opts.RotateSize {
		f.logf(infoLevel, "%s currently %d bytes (> %d), rotating...", workPath, info.Size(), f.opts.RotateSize)
		out.Close()
		return false, nil
	}
	f.logf(infoLevel, "opening %s", workPath)
	f.out, f.path, f.size, f.dirty, f.members = out, path, info.Size(), false, 0
	if f.opts.GZIP {
		f.gz, _ = gzip.NewWriterLevel(out, f.opts.GZIPLevel) // level checked by validate
		f.w = f.gz
	} else {
		f.buf = bufio.NewWriterSize(out, 64*1024)
		f.w = f.buf
	}
	return true, nil
}

// write appends one message body and its newline.
func (f *outputFile) write(body []byte) error {
	if _, err := f.w.Write(body); err != nil {
		return err
	}
	if _, err := f.w.Write([]byte{'\n'}); err != nil {
		return err
	}
	f.size += int64(len(body)) + 1
	f.dirty = true
	return nil
}

// sync makes everything written durable: buffers are flushed, a gzip
// member is completed (so a reader gets every synced message even if the
// rest of the file is lost) and the file is fsynced.
func (f *outputFile) sync() error {
	if f.out == nil {
		return nil
	}
	if err := f.endMember(false); err != nil {
		return err
	}
	if err := f.out.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", f.out.Name(), err)
	}
	return nil
}

// endMember flushes what is buffered. For gzip it completes the member,
// if anything was written into it or, with always, if the file would
// otherwise hold no member at all (an empty file is not valid gzip).
func (f *outputFile) endMember(always bool) error {
	if f.buf != nil {
		if err := f.buf.Flush(); err != nil {
			return fmt.Errorf("write %s: %w", f.out.Name(), err)
		}
		return nil
	}
	if !f.dirty && !(always && f.members == 0) {
		return nil
	}
	if err := f.gz.Close(); err != nil {
		return fmt.Errorf("finish gzip member of %s: %w", f.out.Name(), err)
	}
	f.members++
	f.dirty = false
	f.gz.Reset(f.out)
	return nil
}

// close syncs and closes the file and, with a separate work dir, moves it
// to the output dir.
func (f *outputFile) close() error {
	if f.out == nil {
		return nil
	}
	err := f.endMember(true)
	if err == nil {
		if serr := f.out.Sync(); serr != nil {
			err = fmt.Errorf("failed to fsync output file: %w", serr)
		}
	}
	out := f.out
	f.out, f.buf, f.gz, f.w = nil, nil, nil, nil
	if cerr := out.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("failed to close output file: %w", cerr)
	}
	if err != nil {
		return err
	}
	if f.moving() {
		return f.moveToOutput()
	}
	return nil
}

// moveToOutput links the closed work file into the output dir, bumping
// the revision until the name is free, then unlinks it: consumers of the
// output dir only see complete files and nothing is overwritten.
func (f *outputFile) moveToOutput() error {
	src := filepath.Join(f.opts.WorkDir, f.path)
	dst := filepath.Join(f.opts.OutputDir, f.path)
	f.logf(infoLevel, "moving finished file %s to %s", src, dst)
	for rev, tries := f.rev+1, 0; ; rev, tries = rev+1, tries+1 {
		err := exclusiveRename(src, dst)
		if err == nil {
			return nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("unable to move file from %s to %s: %w", src, dst, err)
		}
		if tries == maxRevisions {
			return fmt.Errorf("unable to move file from %s: no free name after %d tries", src, tries)
		}
		f.logf(warnLevel, "destination file already exists: %s", dst)
		dst = filepath.Join(f.opts.OutputDir, withRev(f.name, rev))
	}
}

// exclusiveRename moves src to dst unless dst exists (then the error is
// fs.ErrExist): a hard link cannot replace a file, unlike rename.
func exclusiveRename(src, dst string) error {
	if err := os.Link(src, dst); err != nil {
		return err
	}
	return os.Remove(src)
}

// abandon closes the file without syncing or moving it, after a fatal
// error: what it holds was never acknowledged.
func (f *outputFile) abandon() {
	if f.out != nil {
		f.out.Close()
		f.out, f.buf, f.gz, f.w = nil, nil, nil, nil
	}
}
