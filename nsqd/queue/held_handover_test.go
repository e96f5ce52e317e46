package queue

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
)

// heldOf returns a memory-only Held holding count messages, published in
// batches of batch.
// counted, when not nil, is what CountBodyBytes counts.
func heldOf(t testing.TB, count, batch int, counted *atomic.Int64) *Held {
	t.Helper()
	h, err := OpenHeld(Config{Name: "t", MemSize: count})
	if err != nil {
		t.Fatal(err)
	}
	if counted != nil {
		h.CountBodyBytes(counted)
	}
	msgs := make([]Message, batch)
	for held := 0; held < count; held += batch {
		n := min(batch, count-held)
		for i := range msgs[:n] {
			msgs[i] = Message{Body: []byte(fmt.Sprint(held + i)), Timestamp: int64(held + i)}
		}
		if _, dropped, _ := h.Put(msgs[:n]); dropped != 0 {
			t.Fatalf("dropped %d", dropped)
		}
	}
	return h
}

// Handed over to two channels' queues, the held memory is one set of
// records both rings point at, in order; nothing is left held, and the
// queues pop every message intact.
func TestHeldHandOverSharesTheRecords(t *testing.T) {
	const count = 1000
	var counted atomic.Int64
	h := heldOf(t, count, 7, &counted)
	if counted.Load() == 0 {
		t.Fatal("nothing counted")
	}
	queues := []*Queue{memoryQueue(t, count), memoryQueue(t, count)}
	runs := 0
	var blocks []*recordBlock
	handed := h.HandOverMemory(func(run Shared) {
		runs++
		blocks = append(blocks, run.block)
		for _, q := range queues {
			if p := q.RequeueShared(run, 0); p != nil {
				t.Fatal("a queue with room wrote to disk")
			}
		}
	})
	if handed != count || h.MemoryLen() != 0 || counted.Load() != 0 {
		t.Fatalf("handed over %d, %d left, %d bytes counted", handed, h.MemoryLen(), counted.Load())
	}
	if runs > count/100 {
		t.Fatalf("%d runs for %d messages in batches of 7: batches of a block are not one run", runs, count)
	}
	for i := 0; i < count; i++ {
		a, b := queues[0].ready.recordAt(i), queues[1].ready.recordAt(i)
		if a != b {
			t.Fatalf("message %d: the queues hold different records", i)
		}
	}
	for qi, q := range queues {
		got, fromDisk, _ := q.Take(nil, count+1, 0)
		if fromDisk != 0 {
			t.Fatalf("queue %d: %d asked from disk", qi, fromDisk)
		}
		if len(got) != count {
			t.Fatalf("queue %d: took %d", qi, len(got))
		}
		for i, m := range got {
			if string(m.Body) != fmt.Sprint(i) || m.Timestamp != int64(i) {
				t.Fatalf("queue %d message %d: %q at %d", qi, i, m.Body, m.Timestamp)
			}
		}
	}
	// Consumed everywhere, the blocks have no holder left, the one the
	// Held was carving included: none keeps its records' bodies alive.
	for i, b := range blocks {
		if refs := b.refs.Load(); refs != 0 {
			t.Fatalf("block %d of %d: %d holders left", i, len(blocks), refs)
		}
	}
}

func memoryQueue(t testing.TB, size int) *Queue {
	t.Helper()
	q, err := Open(Config{Name: "t:c", MemSize: size})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// Handing the held memory over copies no message: a channel's queue gets a
// pointer per message (8 bytes, in ring blocks), where taking the memory
// out and requeueing it cost two 72-byte copies and a slice of them all.
func TestHeldHandOverAllocatesNoCopy(t *testing.T) {
	const count = 50_000
	h := heldOf(t, count, 200, nil)
	q := memoryQueue(t, count)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	h.HandOverMemory(func(run Shared) { q.RequeueShared(run, 0) })
	runtime.ReadMemStats(&after)
	perMessage := float64(after.TotalAlloc-before.TotalAlloc) / count
	if q.ready.Len() != count {
		t.Fatalf("queued %d", q.ready.Len())
	}
	if perMessage > 16 {
		t.Fatalf("the hand-over allocated %.1f bytes a message: messages are copied", perMessage)
	}
	t.Logf("%.1f bytes allocated a message", perMessage)
}
