package diskqueue

import (
	"bytes"
	"fmt"
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
func BenchmarkPut(b *testing.B) { benchPut(b, benchBatch, benchRecord) }

// benchPut times Puts of batch records of record bytes each into a queue
// with nsqd's defaults, one Put per op.
func benchPut(b *testing.B, batch, record int) {
	q, err := Open(benchOptions(b))
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	recs := make([][]byte, batch)
	for i := range recs {
		recs[i] = payload(i, record)
	}
	b.SetBytes(int64(batch * record))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := putErr(q.Put(recs)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkPutKB is BenchmarkPut with 1 KB nsqd messages (1,050-byte
// records): compare.sh's size1k shape past its memory bound. Its 210 KB
// batches are where a piece size below the group's (writePiece) shows as
// extra write calls.
func BenchmarkPutKB(b *testing.B) { benchPut(b, benchBatch, 1024+26) }

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
			if err := putErr(q.Put(rec)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(q.Stats().Syncs)/float64(b.N), "fsyncs/op")
}

// BenchmarkRead: one op is one Read of up to 200 records from a backlog on
// disk (refilled outside the timer) and one Ack of them, as a consumer that
// keeps up does; unacknowledged, they would pile up in the tracker.
func BenchmarkRead(b *testing.B) {
	q, err := Open(benchOptions(b))
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	recs := benchBatchRecords()
	const refill = 500 // batches written per untimed refill
	seqs := make([]uint64, 0, benchBatch)
	b.SetBytes(benchBatch * benchRecord)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%refill == 0 {
			b.StopTimer()
			for range refill {
				if err := putErr(q.Put(recs)); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
		}
		got, err := q.Read(benchBatch)
		if err != nil || len(got) != benchBatch {
			b.Fatalf("read %d records: %v", len(got), err)
		}
		for _, r := range got {
			seqs = append(seqs, r.Seq)
		}
		q.Ack(seqs...)
		seqs = seqs[:0]
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

// BenchmarkAck: one op is one Ack of one record, as nsqd does on every FIN
// of a message read from disk. Records are put and read outside the timer,
// ackBatch at a time; the sub-benchmarks differ in the order of the acks:
// in order, shuffled within each batch, and in order with one record held
// outstanding throughout (the ring then evicts it to the stragglers, and
// every later ack still finds its slot directly).
func BenchmarkAck(b *testing.B) {
	const ackBatch = 4096
	for _, mode := range []string{"in-order", "shuffled", "one-held"} {
		b.Run(mode, func(b *testing.B) {
			o := benchOptions(b)
			o.MinMsgSize = 1
			q, err := Open(o)
			if err != nil {
				b.Fatal(err)
			}
			defer q.Close()
			recs := make([][]byte, ackBatch)
			for i := range recs {
				recs[i] = []byte{byte(i)}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			seqs := make([]uint64, 0, ackBatch)
			refill := func() {
				if err := putErr(q.Put(recs)); err != nil {
					b.Fatal(err)
				}
				seqs = seqs[:0]
				for len(seqs) < ackBatch {
					got, err := q.Read(ackBatch - len(seqs))
					if err != nil || len(got) == 0 {
						b.Fatalf("read: %d records, %v", len(got), err)
					}
					for _, r := range got {
						seqs = append(seqs, r.Seq)
					}
				}
				if mode == "shuffled" {
					rng.Shuffle(len(seqs), func(i, j int) { seqs[i], seqs[j] = seqs[j], seqs[i] })
				}
			}
			refill()
			if mode == "one-held" {
				seqs = seqs[1:] // never acked
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i, k := 0, 0; i < b.N; i, k = i+1, k+1 {
				if k == len(seqs) {
					b.StopTimer()
					refill()
					k = 0
					b.StartTimer()
				}
				q.Ack(seqs[k])
			}
			b.StopTimer()
			if mode == "one-held" && q.Unacked() == 0 {
				b.Fatal("the held record was acknowledged")
			}
		})
	}
}

// BenchmarkReadDone: one op is one ReadAppend of up to 50 records with
// ReuseReads, each finished with Done, as nsqd's disk path reads and FINs.
// Sizes: nsqd's 200-byte, 1 KB and 64 KB bodies with their 26-byte header,
// a 300,000-byte record (over the 256 KB read buffer) and nsqd's largest at
// the default --max-msg-size, a 1 MB body with its header.
func BenchmarkReadDone(b *testing.B) {
	for _, size := range []int{benchRecord, 1<<10 + 26, 64<<10 + 26, 300000, 1<<20 + 26} {
		b.Run(fmt.Sprintf("record=%d", size), func(b *testing.B) {
			o := benchOptions(b)
			o.ReuseReads = true
			q, err := Open(o)
			if err != nil {
				b.Fatal(err)
			}
			defer q.Close()
			const batch = 50
			recs := make([][]byte, batch)
			for i := range recs {
				recs[i] = payload(i, size)
			}
			// Refill outside the timer, about 64 MB at a time.
			refill := max(1, (64<<20)/(batch*size))
			dst := make([]Record, 0, batch)
			b.SetBytes(int64(batch * size))
			b.ReportAllocs()
			b.ResetTimer()
			// User CPU per record, the refills' own left out: the read's
			// parsing, copying and tracking, without the system calls
			// whose cost follows the machine's load.
			// cpu-ns/record adds the system CPU: where the copy out of the
			// page cache is (big records are read straight into their
			// memory, so their copy moved from user to system CPU).
			var refillCPU, refillAll time.Duration
			startCPU, startAll := userCPU(), processCPU()
			for i := range b.N {
				if i%refill == 0 {
					b.StopTimer()
					before, beforeAll := userCPU(), processCPU()
					for range refill {
						if err := putErr(q.Put(recs)); err != nil {
							b.Fatal(err)
						}
					}
					refillCPU += userCPU() - before
					refillAll += processCPU() - beforeAll
					b.StartTimer()
				}
				// A Read stops at maxReadBytes: big records take a few.
				dst = dst[:0]
				for len(dst) < batch {
					n := len(dst)
					dst, err = q.ReadAppend(dst, batch-n)
					if err != nil || len(dst) == n {
						b.Fatalf("read %d records: %v", len(dst), err)
					}
				}
				for _, r := range dst {
					q.Done(r.Seq)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(userCPU()-startCPU-refillCPU)/float64(b.N*batch), "user-ns/record")
			b.ReportMetric(float64(processCPU()-startAll-refillAll)/float64(b.N*batch), "cpu-ns/record")
		})
	}
}

// BenchmarkPut64K: one op is one Put of 50 records of 64 KB (compare.sh's
// size64k and disk64k shapes past the memory bound).
func BenchmarkPut64K(b *testing.B) { benchPut(b, 50, 64<<10+26) }

// BenchmarkPutOnceReadThreeCursors is the fan-out of one topic to three
// channels past their memory bound, both ways: "ThreeQueues" frames each
// 200-record batch of 226-byte records once and puts it into three queues
// (PutFramed, as nsqd's channels do today), and each queue's reader reads
// and acknowledges it; "LogThreeCursors" puts it once into a log (cursor.go)
// that three joined cursors read and acknowledge. nsqd's defaults
// (SyncEvery 2500, 100 MB segments), reads of 200 with ReuseReads and Done.
// One op is one record put and delivered to all three readers; cpu-ns/record
// is the process's user+system CPU per record, steadier than ns/op on a
// shared machine.
func BenchmarkPutOnceReadThreeCursors(b *testing.B) {
	records := make(recordsBatch, benchBatch)
	for i := range records {
		records[i] = payload(i, benchRecord)
	}
	read := func(b *testing.B, dst []Record, readAppend func([]Record, int) ([]Record, error), done func(uint64)) []Record {
		got, err := readAppend(dst[:0], benchBatch)
		if err != nil || len(got) != benchBatch {
			b.Fatalf("read %d records: %v", len(got), err)
		}
		for _, r := range got {
			done(r.Seq)
		}
		return got
	}
	for _, mode := range []string{"ThreeQueues", "LogThreeCursors"} {
		b.Run(mode, func(b *testing.B) {
			o := benchOptions(b)
			o.ReuseReads = true
			var (
				qs      []*Queue
				cursors []*Cursor
				log     *Queue
				f       Framed
				dsts    [3][]Record
			)
			if mode == "ThreeQueues" {
				for k := range 3 {
					ok := o
					ok.Name = fmt.Sprintf("clicks:c%d", k)
					q, err := Open(ok)
					if err != nil {
						b.Fatal(err)
					}
					defer q.Close()
					qs = append(qs, q)
				}
			} else {
				o.Log = true
				var err error
				if log, err = Open(o); err != nil {
					b.Fatal(err)
				}
				defer log.Close()
				for k := range 3 {
					c, err := log.Cursor(fmt.Sprintf("c%d", k))
					if err != nil {
						b.Fatal(err)
					}
					if err := c.Join(); err != nil {
						b.Fatal(err)
					}
					cursors = append(cursors, c)
				}
			}
			b.SetBytes(3 * benchRecord)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			n := 0
			for ; n < b.N; n += benchBatch {
				if log == nil {
					f.Reset()
					if err := f.Frame(&records); err != nil {
						b.Fatal(err)
					}
					for k, q := range qs {
						if _, err := q.PutFramed(&f, 0, f.Len()); err != nil {
							b.Fatal(err)
						}
						dsts[k] = read(b, dsts[k], q.ReadAppend, q.Done)
					}
					continue
				}
				if _, err := log.PutBatch(&records); err != nil {
					b.Fatal(err)
				}
				for k, c := range cursors {
					dsts[k] = read(b, dsts[k], c.ReadAppend, c.Done)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(processCPU()-cpu0)/float64(n), "cpu-ns/record")
		})
	}
}
