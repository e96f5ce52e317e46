package diskqueue

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// fdatasync flushes a segment's data and the metadata needed to read it back
// (its size), skipping timestamps: all a reopened queue needs.
func fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}

// writebackSupported: sync_file_range exists here (startWriteback).
const writebackSupported = true

// syncFileRangeWrite starts the write-back of n bytes of f from off
// (sync_file_range with SYNC_FILE_RANGE_WRITE alone): it returns once the
// dirty pages are submitted, without waiting for them, and consumes no
// write-back error (only a wait does), so the next fsync still reports one.
func syncFileRangeWrite(f *os.File, off, n int64) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
			if serr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "sync_file_range", Path: f.Name(), Err: serr}
	}
	return nil
}
