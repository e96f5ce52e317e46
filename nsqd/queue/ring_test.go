package queue

import (
	"math/rand/v2"
	"testing"
)

// bigItem makes blocks of 16 items, so the model test crosses block
// boundaries often: its size (1 KB) sets the ring's block length
// (ring.go, newBlock), and the blank field is there for that size alone.
type bigItem struct {
	v int
	_ [1016]byte
}

// The ring behaves as a slice-backed FIFO under any mix of operations.
func TestRingMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var r Ring[bigItem]
	var model []int
	next := 0
	check := func(op string) {
		t.Helper()
		if r.Len() != len(model) {
			t.Fatalf("after %s: Len %d, model %d", op, r.Len(), len(model))
		}
		i := 0
		r.Each(func(it *bigItem) {
			if it.v != model[i] {
				t.Fatalf("after %s: item %d is %d, model %d", op, i, it.v, model[i])
			}
			i++
		})
		if len(model) > 0 && r.Front().v != model[0] {
			t.Fatalf("after %s: Front %d, model %d", op, r.Front().v, model[0])
		}
		if want := (r.head + r.size + 15) / 16; r.size > 0 && len(r.blocks) != want {
			t.Fatalf("after %s: %d blocks for head %d size %d, want %d", op, len(r.blocks), r.head, r.size, want)
		}
		if len(r.spare) > maxSpareBlocks {
			t.Fatalf("after %s: %d spare blocks", op, len(r.spare))
		}
	}
	for step := 0; step < 20000; step++ {
		switch op := rng.IntN(10); {
		case op < 4:
			n := rng.IntN(40)
			items := make([]bigItem, n)
			for i := range items {
				items[i].v = next
				model = append(model, next)
				next++
			}
			r.Push(items...)
			check("Push")
		case op < 7:
			n := rng.IntN(40)
			got := r.PopInto(nil, n)
			want := model[:min(n, len(model))]
			for i := range got {
				if got[i].v != want[i] {
					t.Fatalf("PopInto item %d is %d, want %d", i, got[i].v, want[i])
				}
			}
			if len(got) != len(want) {
				t.Fatalf("PopInto(%d) gave %d, want %d", n, len(got), len(want))
			}
			model = model[len(want):]
			check("PopInto")
		case op < 8:
			if len(model) > 0 {
				r.DropFront()
				model = model[1:]
				check("DropFront")
			}
		case op < 9:
			mod := rng.IntN(4) + 2
			r.Filter(func(it *bigItem) bool { return it.v%mod != 0 })
			kept := model[:0]
			for _, v := range model {
				if v%mod != 0 {
					kept = append(kept, v)
				}
			}
			model = kept
			check("Filter")
		default:
			if rng.IntN(20) == 0 {
				r.Clear()
				model = nil
				check("Clear")
			}
		}
	}
}

// Popped slots are zeroed, so the ring holds no references to what left.
func TestRingClearsPoppedItems(t *testing.T) {
	var r Ring[Message]
	body := []byte("x")
	for i := 0; i < 3*r.blockLenFor(); i++ {
		r.Push(Message{Body: body})
	}
	r.PopInto(nil, r.Len()-1)
	for _, b := range append(r.blocks, r.spare...) {
		for i := range b {
			if b[i].Body != nil && !(&b[i] == r.Front()) {
				t.Fatalf("a popped slot still references its body")
			}
		}
	}
}

// blockLenFor is the block length a ring of Message uses.
func (r *Ring[T]) blockLenFor() int {
	if r.blockLen == 0 {
		r.blocks = append(r.blocks, r.newBlock())
	}
	return r.blockLen
}

// Steady push/pop reuses blocks: no allocation per message.
func TestRingSteadyStateAllocatesNothing(t *testing.T) {
	var r Ring[Message]
	batch := make([]Message, 200)
	dst := make([]Message, 0, 256)
	for i := 0; i < 100; i++ { // warm up to the steady backlog
		r.Push(batch...)
		dst = r.PopInto(dst[:0], 150)
	}
	allocs := testing.AllocsPerRun(200, func() {
		r.Push(batch...)
		dst = r.PopInto(dst[:0], 200)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per batch", allocs)
	}
}

func BenchmarkRingPushPop(b *testing.B) {
	var r Ring[Message]
	batch := make([]Message, 200)
	dst := make([]Message, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		r.Push(batch...)
		dst = r.PopInto(dst[:0], 200)
	}
}

// Filling a deep queue, as a channel does when nobody consumes.
func BenchmarkRingFill(b *testing.B) {
	batch := make([]Message, 200)
	b.ReportAllocs()
	for b.Loop() {
		var r Ring[Message]
		for range 5000 {
			r.Push(batch...)
		}
	}
}
