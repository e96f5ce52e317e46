package queue

import (
	"os"
	"path/filepath"
	"testing"
)

// The dead set's costs, beside the bare write (and fsync) of the same
// record for scale. Bodies are 100 bytes. Run:
//
//	go test ./nsqd/queue/ -run XXX -bench DeadSet -benchmem

const deadBenchBody = 100

func deadBenchSet(b *testing.B, noSync bool) *DeadSet {
	b.Helper()
	d, err := OpenDeadSet(DeadSetOptions{Dir: b.TempDir(), Name: "t:c", NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

func deadBenchMessage() DeadMessage {
	m := deadMsg("0123456789abcdef", string(make([]byte, deadBenchBody)))
	m.Attempts, m.Timestamp = 5, 1
	return m
}

func BenchmarkDeadSetAdd(b *testing.B) {
	for _, tc := range []struct {
		name   string
		noSync bool
	}{{"nosync", true}, {"fsync", false}} {
		b.Run(tc.name, func(b *testing.B) {
			d := deadBenchSet(b, tc.noSync)
			m := deadBenchMessage()
			b.ReportAllocs()
			b.SetBytes(deadBenchBody)
			for b.Loop() {
				if _, err := d.Add(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDeadSetAddAtBound is Add into a full set: every Add also drops
// the oldest, in the same write.
func BenchmarkDeadSetAddAtBound(b *testing.B) {
	d := deadBenchSet(b, true)
	if _, err := d.SetMaxDepth(1000); err != nil {
		b.Fatal(err)
	}
	m := deadBenchMessage()
	for range 1000 {
		if _, err := d.Add(m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if n, err := d.Add(m); err != nil || n != 1 {
			b.Fatalf("dropped %d: %v", n, err)
		}
	}
}

// BenchmarkDeadSetBaselineWrite is the floor for any durable append: one
// pwrite of the same framed record at the end of a file (and one fsync),
// nothing else.
func BenchmarkDeadSetBaselineWrite(b *testing.B) {
	for _, tc := range []struct {
		name string
		sync bool
	}{{"nosync", false}, {"fsync", true}} {
		b.Run(tc.name, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "baseline"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			m := deadBenchMessage()
			rec := appendDeadMessage(nil, &m)
			var off int64
			b.ReportAllocs()
			b.SetBytes(deadBenchBody)
			for b.Loop() {
				if _, err := f.WriteAt(rec, off); err != nil {
					b.Fatal(err)
				}
				if tc.sync {
					if err := f.Sync(); err != nil {
						b.Fatal(err)
					}
				}
				off += int64(len(rec))
			}
		})
	}
}

// BenchmarkDeadSetPeek pages 100 messages out of 10,000, from the oldest
// and from the middle.
func BenchmarkDeadSetPeek(b *testing.B) {
	d := deadBenchSet(b, true)
	m := deadBenchMessage()
	batch := make([]DeadMessage, 100)
	for i := range batch {
		batch[i] = m
	}
	for range 100 {
		if _, err := d.Add(batch...); err != nil {
			b.Fatal(err)
		}
	}
	for _, after := range []uint64{0, 5000} {
		b.Run(map[uint64]string{0: "oldest", 5000: "middle"}[after], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				got, err := d.Peek(after, 100)
				if err != nil || len(got) != 100 {
					b.Fatalf("%d: %v", len(got), err)
				}
			}
		})
	}
}

// BenchmarkDeadSetTakeCommit redrives 10 messages per op (one Take, one
// Commit: one write), refilling the set outside the timer.
func BenchmarkDeadSetTakeCommit(b *testing.B) {
	for _, tc := range []struct {
		name   string
		noSync bool
	}{{"nosync", true}, {"fsync", false}} {
		b.Run(tc.name, func(b *testing.B) {
			d := deadBenchSet(b, true)
			m := deadBenchMessage()
			refill := make([]DeadMessage, 1000)
			for i := range refill {
				refill[i] = m
			}
			b.ReportAllocs()
			for b.Loop() {
				if d.Depth() < 10 {
					b.StopTimer()
					d.opts.NoSync = true
					if _, err := d.Add(refill...); err != nil {
						b.Fatal(err)
					}
					d.opts.NoSync = tc.noSync
					b.StartTimer()
				}
				taken, err := d.Take(10)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := d.Commit(taken); err != nil || n != 10 {
					b.Fatalf("%d: %v", n, err)
				}
			}
		})
	}
}

// BenchmarkDeadSetOpen is the recovery of a set of 10,000 messages (one
// 1.5 MB file): read, scan and index.
func BenchmarkDeadSetOpen(b *testing.B) {
	dir := b.TempDir()
	opts := DeadSetOptions{Dir: dir, Name: "t:c", NoSync: true}
	d, err := OpenDeadSet(opts)
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]DeadMessage, 100)
	for i := range batch {
		batch[i] = deadBenchMessage()
	}
	for range 100 {
		if _, err := d.Add(batch...); err != nil {
			b.Fatal(err)
		}
	}
	d.Close()
	b.ReportAllocs()
	for b.Loop() {
		d, err := OpenDeadSet(opts)
		if err != nil || d.Depth() != 10000 {
			b.Fatalf("depth %d: %v", d.Depth(), err)
		}
		d.Close()
	}
}
