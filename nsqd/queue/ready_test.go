package queue

import (
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/nsqgo/nsq/internal/protocol"
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

// publishedBatch is messages from..to-1 as a topic publishes them (and
// packs them, packed.go): consecutive IDs, one Timestamp and DeliverAt, no
// attempts or receipt; the bodies differ.
func publishedBatch(from, to int, ts int64) []Message {
	msgs := make([]Message, 0, to-from)
	for n := from; n < to; n++ {
		m := Message{Body: testBody[:n%len(testBody)], Timestamp: ts}
		// Consecutive within the batch, from a first value far from n's.
		protocol.FormatID(uint64(from)*7919+uint64(n-from), &m.ID)
		msgs = append(msgs, m)
	}
	return msgs
}

// recordRef names a record: its block and index.
type recordRef struct {
	full  *recordBlock
	pack  *packBlock
	index int32
}

// recordAt names the record the i-th message of r is.
func (r *readyRing) recordAt(i int) recordRef {
	for k := 0; k < r.runs.Len(); k++ {
		run := r.runs.at(k)
		if n := int(run.end - run.start); i >= n {
			i -= n
			continue
		}
		return recordRef{full: run.full, pack: run.pack, index: run.start + int32(i)}
	}
	panic("recordAt past the end")
}

// The ready ring behaves as a FIFO of message values under any mix of
// copied and shared pushes, pops, peeks and clears, and what a pop hands
// out is a copy: changing it changes neither the ring nor a shared record.
func TestReadyRingMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var r readyRing
	var shared SharedRecords
	var model []Message
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
			if rng.IntN(2) == 0 { // as a topic publishes: packed
				msgs = publishedBatch(next-len(msgs), next, int64(step))
			}
			recs := shared.Copy(msgs)
			r.PushShared(recs)
			recs.Release()
			model = append(model, msgs...)
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

// Popped runs leave nothing in the ring and end their holds, so a block
// is reusable (and its records' bodies collectable) once every ring has
// handed its messages out.
func TestReadyRingClearsPoppedRuns(t *testing.T) {
	for _, packed := range []bool{false, true} {
		var r readyRing
		var recs SharedRecords
		var copies []Shared
		for i := 0; i < 5; i++ {
			msgs := make([]Message, 1000)
			if packed {
				msgs = publishedBatch(i*1000, (i+1)*1000, 1)
			}
			s := recs.Copy(msgs)
			if (s.pack != nil) != packed {
				t.Fatalf("packed %v: Copy packed %v", packed, s.pack != nil)
			}
			r.PushShared(s)
			s.Release()
			copies = append(copies, s)
		}
		r.PopInto(nil, r.Len()-1)
		if r.runs.Len() != 1 {
			t.Fatalf("packed %v: %d runs left for one message", packed, r.runs.Len())
		}
		for _, b := range append(r.runs.blocks, r.runs.spare...) {
			for i := range b {
				if b[i] != (readyRun{}) && &b[i] != r.runs.Front() {
					t.Fatalf("packed %v: a popped run is still in the ring", packed)
				}
			}
		}
		r.Clear()
		for i, s := range copies {
			refs := int64(0)
			if s.block != nil {
				refs = s.block.refs.Load()
			} else {
				refs = s.pack.refs.Load()
			}
			if max := int64(1); refs > max { // the SharedRecords' own, while it carves
				t.Fatalf("packed %v: batch %d's block has %d holders after the ring let go", packed, i, refs)
			}
		}
	}
}

// Copy hands out contiguous copies that later copies never overlap while
// held, in blocks: batches of the usual sizes share blocks (no allocation
// per batch), and one bigger than a block gets its own.
func TestRecordsCopiesAreStableAndDisjoint(t *testing.T) {
	var recs SharedRecords
	var got [][]Message
	var want [][]Message
	next := 0
	for _, n := range []int{1, 200, 200, 7, 5000, 200, 1, 20000, 3, 0} {
		msgs := make([]Message, n)
		for i := range msgs {
			msgs[i] = msgN(next)
			next++
		}
		out := recs.Copy(msgs).Msgs // held for ever
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
// eight batches while they are held, and a block's unused tail is under an
// eighth of it.
func TestRecordsBlocksServeManyBatches(t *testing.T) {
	var recs SharedRecords
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

// Steady shared and own pushes and pops allocate nothing: record blocks
// whose messages were all popped are carved again.
func TestReadyRingSteadyStateAllocatesNothing(t *testing.T) {
	for _, batch := range [][]Message{make([]Message, 200), publishedBatch(0, 200, 1)} {
		steadyStateAllocatesNothing(t, batch)
	}
}

func steadyStateAllocatesNothing(t *testing.T, batch []Message) {
	var rings [3]readyRing
	var recs SharedRecords
	dst := make([]Message, 0, 256)
	round := func() {
		s := recs.Copy(batch)
		for i := range rings {
			rings[i].PushShared(s)
		}
		s.Release()
		rings[0].Push(batch[:7]...) // a requeue: the ring's own records
		for i := range rings {
			dst = rings[i].PopInto(dst[:0], 150)
		}
	}
	for i := 0; i < 100; i++ {
		round()
	}
	for i := range rings {
		rings[i].PopInto(dst[:0], rings[i].Len())
	}
	if allocs := testing.AllocsPerRun(400, func() {
		round()
		for i := range rings {
			dst = rings[i].PopInto(dst[:0], rings[i].Len())
		}
	}); allocs != 0 {
		t.Fatalf("%v allocations per batch", allocs)
	}
}

func BenchmarkReadyRingFanOut3(b *testing.B) {
	var rings [3]readyRing
	var recs SharedRecords
	batch := publishedBatch(0, 200, 1)
	dst := make([]Message, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		shared := recs.Copy(batch)
		for i := range rings {
			rings[i].PushShared(shared)
			dst = rings[i].PopInto(dst[:0], 200)
		}
		shared.Release()
	}
}

// A batch the queue takes whole is pointed at; one it takes only in part
// (its bound left room for some) is copied, so its records block is not
// kept alive by a few of its messages. Packed or not.
func TestPutSharedPointsOnlyAtWholeBatches(t *testing.T) {
	for _, packed := range []bool{false, true} {
		q, err := Open(Config{Name: "t:c", MemSize: 14})
		if err != nil {
			t.Fatal(err)
		}
		var recs SharedRecords
		published := func(from, to int) []Message {
			if packed {
				return publishedBatch(from, to, 1)
			}
			var msgs []Message
			for n := from; n < to; n++ {
				m := msgN(n)
				m.receipt, m.DeliverAt = 0, 0 // published now: no disk record
				msgs = append(msgs, m)
			}
			return msgs
		}
		whole := recs.Copy(published(0, 10))
		if (whole.pack != nil) != packed {
			t.Fatalf("packed %v: Copy packed %v", packed, whole.pack != nil)
		}
		if p, _ := q.PutShared(whole, 0); p != nil {
			t.Fatal("a memory queue with room wrote to disk")
		}
		part := recs.Copy(published(10, 18))
		if p, _ := q.PutShared(part, 0); p != nil {
			t.Fatal("a memory queue wrote to disk")
		}
		if q.ReadyInMemory() != 14 || q.Dropped() != 4 {
			t.Fatalf("%d ready, %d dropped; want 14 and 4", q.ReadyInMemory(), q.Dropped())
		}
		for i := 0; i < 14; i++ {
			ref := q.ready.recordAt(i)
			inWhole := ref.full != nil && ref.full == whole.block || ref.pack != nil && ref.pack == whole.pack
			inPart := ref.full != nil && ref.full == part.block || ref.pack != nil && ref.pack == part.pack
			if i < 10 && !inWhole {
				t.Errorf("packed %v: message %d of the whole batch is a copy", packed, i)
			}
			if i >= 10 && (inPart || ref.full != q.ready.own.cur) {
				t.Errorf("packed %v: message %d of the partial batch is not the queue's own copy", packed, i)
			}
		}
		got, _, _ := q.Take(nil, 20, 0)
		whole.Release()
		part.Release()
		if len(got) != 14 {
			t.Fatalf("took %d, want 14", len(got))
		}
		want := append(published(0, 10), published(10, 18)[:4]...)
		for i := range got {
			if !same(got[i], want[i]) {
				t.Fatalf("packed %v: ready message %d is %+v, want %+v", packed, i, got[i], want[i])
			}
		}
	}
}

// Several rings fed from one SharedRecords, as a topic's channels are, in
// any mix of fan-outs to some of them (some held a while between Copy and
// the pushes, as a publisher is while others copy), own copies, pops and
// clears: every
// ring hands out exactly what was pushed to it, in order, so no record is
// written while a ring points at it; every block's count of holders is
// what the rings' runs, the current blocks and the callers' holds say;
// a spare block is cleared and held by nobody; and blocks are reused,
// rather than one allocated per eight batches.
func TestSharedRecordsReusedAcrossRingsMatchesModel(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		rng := rand.New(rand.NewPCG(seed, 10))
		var shared SharedRecords
		var rings [4]readyRing
		var models [4][]Message
		seen := map[*recordBlock]bool{} // every block the rings held
		seenPacks := map[*packBlock]bool{}
		next, copied, maxLive := 0, 0, 0
		type fanOut struct {
			shared Shared
			msgs   []Message
		}
		var held []fanOut // copied, not yet pushed
		batch := func(n int) []Message {
			msgs := make([]Message, n)
			for i := range msgs {
				msgs[i] = msgN(next)
				msgs[i].receipt = 0 // a shared record holds none
				next++
			}
			return msgs
		}
		const steps = 4000
		check := func(step int, op string) {
			t.Helper()
			// Every state is checked in full every 8th step and at the
			// end: a wrong count or an overwritten record persists until
			// then (a full check per step cost 38 s under -race), and
			// every pop compares what it got at once.
			if step%8 != 0 && step != steps-1 {
				return
			}
			expected := map[*recordBlock]int64{}
			expectedPacks := map[*packBlock]int64{}
			holders := func(b *recordBlock, p *packBlock) {
				if b != nil {
					expected[b]++
					seen[b] = true
				}
				if p != nil {
					expectedPacks[p]++
					seenPacks[p] = true
				}
			}
			holders(shared.records.cur, shared.packs.cur)
			for _, f := range held {
				holders(f.shared.block, f.shared.pack)
				for j := range f.msgs {
					if !same(f.shared.Msgs[j], f.msgs[j]) {
						t.Fatalf("seed %d step %d %s: a held record changed", seed, step, op)
					}
				}
			}
			for i := range rings {
				r := &rings[i]
				if r.Len() != len(models[i]) {
					t.Fatalf("seed %d step %d %s: ring %d has %d, model %d", seed, step, op, i, r.Len(), len(models[i]))
				}
				j := 0
				r.Each(func(m *Message) {
					if !same(*m, models[i][j]) {
						t.Fatalf("seed %d step %d %s: ring %d message %d is %+v, want %+v", seed, step, op, i, j, *m, models[i][j])
					}
					j++
				})
				total := 0
				r.runs.Each(func(run *readyRun) {
					if run.end <= run.start || (run.full == nil) == (run.pack == nil) {
						t.Fatalf("seed %d step %d %s: ring %d has an empty or unnamed run", seed, step, op, i)
					}
					total += int(run.end - run.start)
					holders(run.full, run.pack)
				})
				if total != r.Len() {
					t.Fatalf("seed %d step %d %s: ring %d runs count %d of %d", seed, step, op, i, total, r.Len())
				}
				holders(r.own.cur, nil)
			}
			live := 0
			for b := range seen {
				if expected[b] > 0 {
					live++
				}
				if got := b.refs.Load(); got != expected[b] {
					t.Fatalf("seed %d step %d %s: a block has %d holders, want %d", seed, step, op, got, expected[b])
				}
			}
			for b := range seenPacks {
				if expectedPacks[b] > 0 {
					live++
				}
				if got := b.refs.Load(); got != expectedPacks[b] {
					t.Fatalf("seed %d step %d %s: a packed block has %d holders, want %d", seed, step, op, got, expectedPacks[b])
				}
			}
			for i := range shared.packs.spare {
				if b := shared.packs.spare[i].Load(); b != nil {
					if expectedPacks[b] != 0 {
						t.Fatalf("seed %d step %d %s: a spare packed block is held", seed, step, op)
					}
					for _, body := range b.bodies {
						if body != nil {
							t.Fatalf("seed %d step %d %s: a spare packed block keeps a body", seed, step, op)
						}
					}
				}
			}
			maxLive = max(maxLive, live)
			for _, spares := range [][]*recordBlock{spareBlocks(&shared.records), spareBlocks(&rings[0].own)} {
				for _, b := range spares {
					if expected[b] != 0 {
						t.Fatalf("seed %d step %d %s: a spare block is held", seed, step, op)
					}
					for i := range b.msgs {
						if b.msgs[i].Body != nil {
							t.Fatalf("seed %d step %d %s: a spare block keeps a body", seed, step, op)
						}
					}
				}
			}
		}
		for step := 0; step < steps; step++ {
			switch op := rng.IntN(20); {
			case op < 6: // a fan-out to some of the rings
				n := rng.IntN(300)
				if rng.IntN(200) == 0 {
					n = recordBlockMaxBytes/recordBytes + 1 + rng.IntN(100) // a block of its own
				}
				if len(held) == 0 || len(held) < 4 && rng.IntN(2) == 0 {
					msgs := batch(n)
					if n > 0 && rng.IntN(2) == 0 { // as a topic publishes: packed
						msgs = publishedBatch(next-n, next, int64(step))
					}
					held = append(held, fanOut{shared.Copy(msgs), msgs})
					copied += n
					check(step, "Copy")
					break
				}
				// Fan out one of the batches copied so far.
				k := rng.IntN(len(held))
				f := held[k]
				held = append(held[:k], held[k+1:]...)
				for i := range rings {
					if rng.IntN(4) != 0 {
						rings[i].PushShared(f.shared)
						models[i] = append(models[i], f.msgs...)
					}
				}
				f.shared.Release()
				check(step, "fan-out")
			case op < 8: // a requeue into one ring's own records
				i := rng.IntN(len(rings))
				msgs := batch(rng.IntN(40))
				rings[i].Push(msgs...)
				models[i] = append(models[i], msgs...)
				check(step, "Push")
			case op < 19:
				i := rng.IntN(len(rings))
				n := rng.IntN(400)
				got := rings[i].PopInto(nil, n)
				want := models[i][:min(n, len(models[i]))]
				if len(got) != len(want) {
					t.Fatalf("seed %d step %d: PopInto(%d) gave %d, want %d", seed, step, n, len(got), len(want))
				}
				for j := range got {
					if !same(got[j], want[j]) {
						t.Fatalf("seed %d step %d: popped %+v, want %+v", seed, step, got[j], want[j])
					}
				}
				models[i] = models[i][len(got):]
				check(step, "PopInto")
			default:
				i := rng.IntN(len(rings))
				rings[i].Clear()
				models[i] = nil
				check(step, "Clear")
			}
		}
		if blocks, unreused := len(seen)+len(seenPacks), copied/(recordBlockBatches*150); blocks*4 > unreused {
			t.Fatalf("seed %d: %d blocks for %d records copied, about %d without reuse", seed, blocks, copied, unreused)
		}
		t.Logf("seed %d: %d blocks for %d records copied, about %d without reuse, at most %d held at once", seed, len(seen)+len(seenPacks), copied, copied/(recordBlockBatches*150), maxLive)
	}
}

// spareBlocks lists r's spare blocks.
func spareBlocks(r *Records) []*recordBlock {
	var out []*recordBlock
	for i := range r.spare {
		if b := r.spare[i].Load(); b != nil {
			out = append(out, b)
		}
	}
	return out
}
