//go:build !windows

package nsqd

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// dataDirLock is an exclusive flock on the data directory itself, so a
// second nsqd on the same --data-path refuses to start. No lock file is
// created: the lock vanishes with the process, as upstream's does. Windows
// has no flock: nsqd/datadir_windows.go locks nothing.
type dataDirLock struct {
	dir *os.File
}

func lockDataDir(path string) (*dataDirLock, error) {
	dir, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("failed to lock data-path: %w", err)
	}
	if err := syscall.Flock(int(dir.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		dir.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("failed to lock data-path: cannot flock directory %s - %s (possibly in use by another instance of nsqd)", path, err)
		}
		return nil, fmt.Errorf("failed to lock data-path: cannot flock directory %s - %w", path, err)
	}
	return &dataDirLock{dir: dir}, nil
}

func (l *dataDirLock) release() {
	if l == nil {
		return
	}
	syscall.Flock(int(l.dir.Fd()), syscall.LOCK_UN)
	l.dir.Close()
}
