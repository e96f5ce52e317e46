package queue

import (
	"math/rand/v2"
	"testing"
	"unsafe"
)

// msgN is a message that carries its number in Timestamp and Attempts, and
// a receipt, so a test sees every field survive the ring.
func msgN(n int) Message {
	return Message{Body: testBody[:n%len(testBody)], Timestamp: int64(n), Attempts: uint16(n), DeliverAt: int64(n) * 3, receipt: receipt(n + 1)}
}

// testBody is the bytes msgN's bodies share; never written.
var testBody = []byte("0123456789")

// same compares every field, and the body by identity (its bytes are
// shared, never copied).
func same(a, b Message) bool {
	return a.ID == b.ID && unsafe.SliceData(a.Body) == unsafe.SliceData(b.Body) && len(a.Body) == len(b.Body) &&
		a.Timestamp == b.Timestamp && a.DeliverAt == b.DeliverAt && a.Attempts == b.Attempts && a.receipt == b.receipt
}

// The ready ring behaves as a FIFO of message values under any mix of
// copied and shared pushes, pops, peeks and clears, and what a pop hands
// out is a copy: changing it changes neither the ring nor a shared record.
func TestReadyRingMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var r readyRing
	var shared SharedRecords
	var model []Message
	var sharedCopies [][]Message // what PushShared was given, to check it is never written
	var sharedOrig [][]Message
	next := 0
	check := func(op string) {
		t.Helper()
		if r.Len() != len(model) {
			t.Fatalf("after %s: Len %d, model %d", op, r.Len(), len(model))
		}
		i := 0
		r.Each(func(m *Message) {
			if !same(*m, model[i]) {
				t.Fatalf("after %s: message %d is %+v, model %+v", op, i, *m, model[i])
			}
			i++
		})
		if len(model) > 0 && !same(*r.Front(), model[0]) {
			t.Fatalf("after %s: Front %+v, model %+v", op, *r.Front(), model[0])
		}
		for b := range sharedCopies {
			for j := range sharedCopies[b] {
				if !same(sharedCopies[b][j], sharedOrig[b][j]) {
					t.Fatalf("after %s: a shared record was written", op)
				}
			}
		}
	}
	batch := func() []Message {
		msgs := make([]Message, rng.IntN(300))
		for i := range msgs {
			msgs[i] = msgN(next)
			next++
		}
		return msgs
	}
	for step := 0; step < 3000; step++ {
		switch op := rng.IntN(12); {
		case op < 3:
			msgs := batch()
			r.Push(msgs...)
			model = append(model, msgs...)
			for i := range msgs {
				msgs[i].Attempts = 9999 // the caller's slice is not the ring's
			}
			check("Push")
		case op < 6:
			msgs := batch()
			for i := range msgs {
				msgs[i].receipt = 0 // a shared record holds none
			}
			recs := shared.Copy(msgs)
			r.PushShared(recs)
			model = append(model, msgs...)
			sharedCopies = append(sharedCopies, recs)
			sharedOrig = append(sharedOrig, append([]Message(nil), recs...))
			check("PushShared")
		case op < 11:
			n := rng.IntN(500)
			got := r.PopInto(make([]Message, 0, 4), n)
			want := model[:min(n, len(model))]
			if len(got) != len(want) {
				t.Fatalf("PopInto(%d) gave %d, want %d", n, len(got), len(want))
			}
			for i := range got {
				if !same(got[i], want[i]) {
					t.Fatalf("PopInto: message %d is %+v, want %+v", i, got[i], want[i])
				}
				got[i].Attempts++ // the caller's copy
			}
			model = model[len(got):]
			check("PopInto")
		default:
			r.Clear()
			model = nil
			check("Clear")
		}
	}
}

// Popped slots hold no pointer, so a record is collectable once every ring
// has handed its message out.
func TestReadyRingClearsPoppedPointers(t *testing.T) {
	var r readyRing
	var recs Records
	for i := 0; i < 5; i++ {
		r.PushShared(recs.Copy(make([]Message, 1000)))
	}
	r.PopInto(nil, r.Len()-1)
	for _, b := range append(r.ptrs.blocks, r.ptrs.spare...) {
		for i := range b {
			if b[i] != nil && b[i] != r.Front() {
				t.Fatalf("a popped slot still points at its record")
			}
		}
	}
}

// Copy hands out contiguous copies that later copies never overlap, in
// blocks: batches of the usual sizes share blocks (no allocation per
// batch), and one bigger than a block gets its own.
func TestRecordsCopiesAreStableAndDisjoint(t *testing.T) {
	var recs Records
	var got [][]Message
	var want [][]Message
	next := 0
	for _, n := range []int{1, 200, 200, 7, 5000, 200, 1, 20000, 3, 0} {
		msgs := make([]Message, n)
		for i := range msgs {
			msgs[i] = msgN(next)
			next++
		}
		out := recs.Copy(msgs)
		if len(out) != n || cap(out) != n {
			t.Fatalf("Copy of %d: len %d cap %d", n, len(out), cap(out))
		}
		clear(msgs) // the source is the caller's to reuse
		got = append(got, out)
		want = append(want, append([]Message(nil), out...))
	}
	seen := map[*Message]bool{}
	for b := range got {
		for i := range got[b] {
			if !same(got[b][i], msgN(int(got[b][i].Timestamp))) || !same(got[b][i], want[b][i]) {
				t.Fatalf("batch %d message %d changed: %+v", b, i, got[b][i])
			}
			if seen[&got[b][i]] {
				t.Fatalf("batch %d message %d overlaps an earlier copy", b, i)
			}
			seen[&got[b][i]] = true
		}
	}
	if total := len(seen); total != next {
		t.Fatalf("%d records for %d messages", total, next)
	}
}

// Copying batches of 200, as MPUBs fan out, allocates one block per
// eight batches, and a block's unused tail is under an eighth of it.
func TestRecordsBlocksServeManyBatches(t *testing.T) {
	var recs Records
	batch := make([]Message, 200)
	recs.Copy(batch) // the first block
	allocs := testing.AllocsPerRun(160, func() { recs.Copy(batch) })
	if allocs > 1.0/recordBlockBatches+0.01 {
		t.Fatalf("%v allocations per batch of 200, want one per %d batches", allocs, recordBlockBatches)
	}
	blockLen := recordBlockBatches * 200
	if waste := blockLen % 200; waste*8 > blockLen {
		t.Fatalf("a block of %d records wastes %d", blockLen, waste)
	}
	if blockLen*int(unsafe.Sizeof(Message{})) > recordBlockMaxBytes {
		t.Fatalf("block of %d records is over the maximum", blockLen)
	}
}

// Steady shared pushes and pops allocate nothing but the records' blocks.
func TestReadyRingSteadyStateAllocatesOnlyRecordBlocks(t *testing.T) {
	var r readyRing
	var recs Records
	batch := make([]Message, 200)
	dst := make([]Message, 0, 256)
	for i := 0; i < 100; i++ {
		r.PushShared(recs.Copy(batch))
		dst = r.PopInto(dst[:0], 150)
	}
	allocs := testing.AllocsPerRun(160, func() {
		r.PushShared(recs.Copy(batch))
		dst = r.PopInto(dst[:0], 200)
	})
	if allocs > 1.0/recordBlockBatches+0.01 {
		t.Fatalf("%v allocations per batch", allocs)
	}
}

func BenchmarkReadyRingFanOut3(b *testing.B) {
	var rings [3]readyRing
	var recs Records
	batch := make([]Message, 200)
	dst := make([]Message, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		shared := recs.Copy(batch)
		for i := range rings {
			rings[i].PushShared(shared)
			dst = rings[i].PopInto(dst[:0], 200)
		}
	}
}

// A batch the queue takes whole is pointed at; one it takes only in part
// (its bound left room for some) is copied, so its records block is not
// kept alive by a few of its messages.
func TestPutSharedPointsOnlyAtWholeBatches(t *testing.T) {
	q, err := Open(Config{Name: "t:c", MemSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	var recs Records
	inBatch := func(m *Message, batch []Message) bool {
		at := uintptr(unsafe.Pointer(m))
		return at >= uintptr(unsafe.Pointer(&batch[0])) && at <= uintptr(unsafe.Pointer(&batch[len(batch)-1]))
	}
	published := func(from, to int) []Message {
		var msgs []Message
		for n := from; n < to; n++ {
			m := msgN(n)
			m.receipt, m.DeliverAt = 0, 0 // published now: no disk record
			msgs = append(msgs, m)
		}
		return msgs
	}
	whole := recs.Copy(published(0, 3))
	if p := q.PutShared(whole, 0); p != nil {
		t.Fatal("a memory queue with room wrote to disk")
	}
	part := recs.Copy(published(3, 7))
	if p := q.PutShared(part, 0); p != nil {
		t.Fatal("a memory queue wrote to disk")
	}
	if q.ReadyInMemory() != 5 || q.Dropped() != 2 {
		t.Fatalf("%d ready, %d dropped; want 5 and 2", q.ReadyInMemory(), q.Dropped())
	}
	i := 0
	q.ready.ptrs.Each(func(m **Message) {
		if i < 3 && !inBatch(*m, whole) {
			t.Errorf("message %d of the whole batch is a copy", i)
		}
		if i >= 3 && inBatch(*m, part) {
			t.Errorf("message %d of the partial batch points into it", i)
		}
		i++
	})
	got, _, _ := q.Take(nil, 10, 0)
	if len(got) != 5 {
		t.Fatalf("took %d, want 5", len(got))
	}
	want := published(0, 5)
	for i := range got {
		if !same(got[i], want[i]) {
			t.Fatalf("ready message %d is %+v, want %+v", i, got[i], want[i])
		}
	}
}
