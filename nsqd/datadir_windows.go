package nsqd

import (
	"fmt"
	"os"
)

// dataDirLock on Windows locks nothing, as upstream nsqd's data-dir lock on
// Windows does not: Windows has no flock, and the standard library offers no
// lock on a directory handle. A second nsqd on the same --data-path there is
// not refused (README, "Install": the known risks on Windows). A missing or
// unreadable data path is still refused at start, with the same error as
// nsqd/datadir_flock.go's.
type dataDirLock struct{}

func lockDataDir(path string) (*dataDirLock, error) {
	dir, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("failed to lock data-path: %w", err)
	}
	dir.Close()
	return &dataDirLock{}, nil
}

func (l *dataDirLock) release() {}
