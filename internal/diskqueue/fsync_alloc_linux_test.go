package diskqueue

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchmarkFdatasyncByAllocation measures what the sync policy's fdatasync
// costs depending on how the write segment's blocks were allocated before
// the records were written into them. One op is one sync interval as nsqd
// writes it at the defaults: 2,500 records (13 pwrites of 200, 130 us
// apart, about the pace of two publishers in the disk shape) and one
// fdatasync; a segment is 100 MB as with --max-bytes-per-file's default,
// a fresh file when it is full. The metric that matters is fsync-us/op
// (the median fdatasync); ns/op includes the pwrites and the pauses.
//
// The variants:
//   - append: what the writer does (writer.go): records appended to a
//     file that grows with them;
//   - keepsize-whole: the segment's 100 MB allocated with
//     fallocate(FALLOC_FL_KEEP_SIZE) when the file is made (the size, and
//     so the format, unchanged);
//   - keepsize-chunk: the same 8 MB at a time, at least 4 MB ahead of the
//     write position;
//   - fallocate-size: fallocate without KEEP_SIZE (the file 100 MB long at
//     once; not a format this queue could use, for comparison);
//   - overwrite: the segment written with zeros and fdatasynced first, so
//     the records overwrite blocks already written (the upper bound: no
//     block or size changes for the fdatasync to make durable).
//
// Run it on the file system of the data directory (TMPDIR; compare.sh
// makes its data dirs there too), under the shared lock:
//
//	flock -o /tmp/bench.lock go test -run - -bench FdatasyncByAllocation -benchtime 150x -count 4 ./internal/diskqueue/
//
// Measured: README "Disk phase: the cost of an fsync by how the segment's
// blocks were allocated".
func BenchmarkFdatasyncByAllocation(b *testing.B) {
	for _, body := range []int{200, 1024} {
		for _, v := range []string{"append", "keepsize-whole", "keepsize-chunk", "fallocate-size", "overwrite"} {
			b.Run(fmt.Sprintf("body=%d/%s", body, v), func(b *testing.B) {
				benchFdatasyncAlloc(b, v, 26+body)
			})
		}
	}
}

const (
	allocBenchSegment = 100 << 20
	allocBenchChunk   = 8 << 20
	allocBenchEvery   = 2500
	allocBenchBatch   = 200
	allocBenchGap     = 130 * time.Microsecond
)

// allocSegment is one segment file of the benchmark and how far its blocks
// were allocated ahead (keepsize-chunk).
type allocSegment struct {
	f         *os.File
	pos       int64
	allocated int64
}

func benchFdatasyncAlloc(b *testing.B, variant string, record int) {
	dir := b.TempDir()
	var frame []byte
	for i := range allocBenchBatch {
		frame = appendRecord(frame, payload(i, record))
	}
	zeros := make([]byte, 1<<20)
	n := 0
	open := func() *allocSegment {
		n++
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("seg-%d", n)), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		s := &allocSegment{f: f}
		switch variant {
		case "keepsize-whole":
			err = fallocateKeepSize(f, 0, allocBenchSegment)
		case "fallocate-size":
			err = syscall.Fallocate(int(f.Fd()), 0, 0, allocBenchSegment)
		case "overwrite":
			for off := int64(0); off < allocBenchSegment && err == nil; off += int64(len(zeros)) {
				_, err = f.WriteAt(zeros, off)
			}
			if err == nil {
				err = fdatasync(f)
			}
		}
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	seg := open()
	defer func() { seg.f.Close() }()
	took := make([]time.Duration, 0, b.N)
	b.SetBytes(int64(len(frame)) * (allocBenchEvery + allocBenchBatch - 1) / allocBenchBatch)
	b.ResetTimer()
	for range b.N {
		if seg.pos+int64(len(frame))*(allocBenchEvery/allocBenchBatch+1) > allocBenchSegment {
			b.StopTimer()
			seg.f.Close()
			if err := os.Remove(seg.f.Name()); err != nil {
				b.Fatal(err)
			}
			seg = open()
			b.StartTimer()
		}
		for unsynced := 0; unsynced < allocBenchEvery; unsynced += allocBenchBatch {
			if variant == "keepsize-chunk" && seg.pos+allocBenchChunk/2 >= seg.allocated {
				if err := fallocateKeepSize(seg.f, seg.allocated, allocBenchChunk); err != nil {
					b.Fatal(err)
				}
				seg.allocated += allocBenchChunk
			}
			if _, err := seg.f.WriteAt(frame, seg.pos); err != nil {
				b.Fatal(err)
			}
			seg.pos += int64(len(frame))
			// A spin, not time.Sleep: a sleep this short takes about 1 ms
			// here, ten times the pace to imitate.
			for until := time.Now().Add(allocBenchGap); time.Now().Before(until); {
			}
		}
		start := time.Now()
		if err := fdatasync(seg.f); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "fsync-us/op")
	b.ReportMetric(float64(took[len(took)*9/10].Microseconds()), "fsync-p90-us/op")
}

// fallocateKeepSize allocates blocks for [off, off+n) of f without changing
// its size (FALLOC_FL_KEEP_SIZE).
func fallocateKeepSize(f *os.File, off, n int64) error {
	const keepSize = 0x01 // FALLOC_FL_KEEP_SIZE, linux/falloc.h
	for {
		err := syscall.Fallocate(int(f.Fd()), keepSize, off, n)
		if err != syscall.EINTR {
			return err
		}
	}
}
