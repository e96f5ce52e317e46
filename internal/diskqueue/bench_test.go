package diskqueue

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"
)

// The shape of upstream's bench: MPUB batches of 200 messages of 200 bytes,
// i.e. 226-byte records with nsqd's 26-byte message header.
const (
	benchBatch  = 200
	benchRecord = 226
)

func benchOptions(b *testing.B) Options {
	return Options{
		Dir:         b.TempDir(),
		Name:        "bench",
		MinMsgSize:  26,
		MaxMsgSize:  1024*1024 + 26,
		SyncEvery:   2500,
		SyncTimeout: 2 * time.Second,
	}
}

func benchBatchRecords() [][]byte {
	recs := make([][]byte, benchBatch)
	for i := range recs {
		recs[i] = payload(i, benchRecord)
	}
	return recs
}

// BenchmarkPut: one op is one Put of 200 records (nsqd's defaults:
// SyncEvery=2500, 100 MB segments).
func BenchmarkPut(b *testing.B) {
	q, err := Open(benchOptions(b))
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	recs := benchBatchRecords()
	b.SetBytes(benchBatch * benchRecord)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := q.Put(recs); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkPutParallelSync1: concurrent single-record Puts with SyncEvery=1,
// where group commit shares fsyncs between callers.
func BenchmarkPutParallelSync1(b *testing.B) {
	o := benchOptions(b)
	o.SyncEvery = 1
	q, err := Open(o)
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	rec := [][]byte{payload(1, benchRecord)}
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := q.Put(rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(q.Stats().Syncs)/float64(b.N), "fsyncs/op")
}

// BenchmarkRead: one op is one Read of up to 200 records from a backlog on
// disk (refilled outside the timer).
func BenchmarkRead(b *testing.B) {
	q, err := Open(benchOptions(b))
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	recs := benchBatchRecords()
	const refill = 500 // batches written per untimed refill
	b.SetBytes(benchBatch * benchRecord)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%refill == 0 {
			b.StopTimer()
			for range refill {
				if err := q.Put(recs); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
		}
		got, err := q.Read(benchBatch)
		if err != nil || len(got) != benchBatch {
			b.Fatalf("read %d records: %v", len(got), err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkScanGarbage: the cost of skipping damage, per byte of garbage.
func BenchmarkScanGarbage(b *testing.B) {
	data := appendSegmentHeader(nil)
	rng := rand.New(rand.NewPCG(3, 4))
	for len(data) < 8<<20 {
		data = append(data, byte(rng.Uint32()))
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var s segReader
		s.reset(bytes.NewReader(data), formatV1, bounds{v1Max: readCeiling}, 0, int64(len(data)))
		for {
			it, err := s.next()
			if err != nil {
				b.Fatal(err)
			}
			if it.kind == itemEnd {
				break
			}
		}
	}
}
