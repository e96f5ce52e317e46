//go:build !linux

package diskqueue

import "os"

// fdatasync falls back to a full fsync where fdatasync is not available.
func fdatasync(f *os.File) error { return f.Sync() }

// writebackSupported: no sync_file_range here; the writer starts no
// write-back of its own (startWriteback), and the policy's fsync writes
// everything, as before.
const writebackSupported = false

func syncFileRangeWrite(*os.File, int64, int64) error { return nil }
