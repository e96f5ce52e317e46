package nsqd

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"testing"
	"unsafe"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

func testMessages(n int, first uint64) []Message {
	msgs := make([]Message, n)
	for i := range msgs {
		protocol.FormatID(first+uint64(i), &msgs[i].ID)
	}
	return msgs
}

func TestInFlightDeadlineFIFOStaysBoundedWhileHeadIsHeld(t *testing.T) {
	var f inFlight
	held := testMessages(1, 0)
	f.add(held, 0, 1000)
	for round := 0; round < 200; round++ {
		batch := testMessages(100, uint64(1+round*100))
		f.add(batch, int64(round), 1000)
		for _, m := range batch {
			_, ok := f.remove(m.ID)
			require.True(t, ok)
		}
	}
	require.Equal(t, int64(1), f.count.Load())
	require.LessOrEqual(t, f.deadlines.Len(), 2*1+1024+100, "FIN'd entries must not pile up behind a held one")
}

func TestInFlightExpireSkipsFinishedAndHonoursTouch(t *testing.T) {
	var f inFlight
	msgs := testMessages(3, 0)
	f.add(msgs, 0, 100)
	f.remove(msgs[0].ID)
	require.True(t, f.touch(msgs[1].ID, 50, 100, 1000))
	expired, next := f.expire(120, nil)
	require.Len(t, expired, 1)
	require.Equal(t, msgs[2].ID, expired[0].ID)
	require.Equal(t, int64(150), next)
	expired, next = f.expire(150, nil)
	require.Len(t, expired, 1)
	require.Equal(t, msgs[1].ID, expired[0].ID)
	require.Zero(t, next)
}

func TestInFlightTouchIsCappedByMaxMsgTimeout(t *testing.T) {
	var f inFlight
	msgs := testMessages(1, 0)
	f.add(msgs, 0, 100)
	require.True(t, f.touch(msgs[0].ID, 90, 100, 150))
	_, next := f.expire(0, nil)
	require.Equal(t, int64(150), next)
}

// A drain (Empty, a departing client) forgets the latest deadline with the
// deadlines: a long TOUCH before it must not make TOUCHes after it look
// out of order, which would send them to the scanned capped list.
func TestInFlightDrainForgetsTheLatestDeadline(t *testing.T) {
	var f inFlight
	first := testMessages(1, 0)
	f.add(first, 0, 100)
	require.True(t, f.touch(first[0].ID, 10, 10_000, 1_000_000)) // due at 10,010
	require.Equal(t, 1, f.drainEach(func([]Message) {}))

	later := testMessages(2, 1)
	f.add(later, 20, 100)                                     // due at 120
	require.True(t, f.touch(later[0].ID, 30, 100, 1_000_000)) // due at 130: in order
	require.Empty(t, f.capped, "a TOUCH in deadline order went to the capped list")
	expired, next := f.expire(120, nil)
	require.Len(t, expired, 1)
	require.Equal(t, later[1].ID, expired[0].ID)
	require.Equal(t, int64(130), next)
}

func TestInFlightTracksOneCopyOfAnID(t *testing.T) {
	var f inFlight
	first := testMessages(2, 0)
	require.Equal(t, 2, f.add(first, 0, 100))
	batch := append(testMessages(1, 0), testMessages(1, 5)...) // ID 0 again, then a new one
	batch = append(batch, testMessages(1, 5)...)               // and the new one twice
	tracked := f.add(batch, 10, 100)
	require.Equal(t, 1, tracked)
	require.Equal(t, testMessages(1, 5)[0].ID, batch[0].ID, "tracked messages come first")
	require.Equal(t, int64(3), f.count.Load())
	for _, id := range []uint64{0, 1, 5} {
		_, ok := f.remove(testMessages(1, id)[0].ID)
		require.True(t, ok)
	}
	require.Zero(t, f.count.Load(), "every tracked copy could be answered")
}

// The slot table and its open-addressed index against a plain map: random
// deliveries (with IDs that repeat, so second copies occur), FINs of held
// and unknown IDs, TOUCHes and timeouts, checked after every step.
func TestInFlightMatchesAMapUnderRandomOperations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var f inFlight
	model := map[protocol.MessageID]int64{} // ID -> deadline
	id := func() protocol.MessageID {
		var v protocol.MessageID
		// Mostly a small space, so IDs come back while held and
		// probe runs collide; sometimes arbitrary bytes, as from disk.
		if rng.IntN(10) == 0 {
			for i := range v {
				v[i] = byte(rng.IntN(256))
			}
		} else {
			protocol.FormatID(uint64(rng.IntN(3000)), &v)
		}
		return v
	}
	now := int64(0)
	for step := 0; step < 20000; step++ {
		now += int64(rng.IntN(3))
		switch op := rng.IntN(10); {
		case op < 4:
			batch := make([]Message, 1+rng.IntN(20))
			for i := range batch {
				batch[i].ID = id()
			}
			want := 0
			seen := map[protocol.MessageID]bool{}
			for _, m := range batch {
				if _, held := model[m.ID]; !held && !seen[m.ID] {
					seen[m.ID] = true
					want++
				}
			}
			const timeout = 80 // one timeout per client: the FIFO relies on it
			require.Equal(t, want, f.add(batch, now, timeout))
			for _, m := range batch[:want] {
				model[m.ID] = now + timeout
			}
		case op < 8:
			v := id()
			msg, ok := f.remove(v)
			_, held := model[v]
			require.Equal(t, held, ok)
			if ok {
				require.Equal(t, v, msg.ID)
				delete(model, v)
			}
		case op < 9:
			v := id()
			_, held := model[v]
			require.Equal(t, held, f.touch(v, now, 80, 1<<40))
			if held {
				model[v] = now + 80
			}
		default:
			expired, _ := f.expire(now, nil)
			var want []protocol.MessageID
			for v, deadline := range model {
				if deadline <= now {
					want = append(want, v)
					delete(model, v)
				}
			}
			var got []protocol.MessageID
			for _, m := range expired {
				got = append(got, m.ID)
			}
			// The same sets, compared sorted: ElementsMatch's pairwise
			// reflection made this test 21 s of the race pass.
			byBytes := func(a, b protocol.MessageID) int { return bytes.Compare(a[:], b[:]) }
			slices.SortFunc(want, byBytes)
			slices.SortFunc(got, byBytes)
			require.Equal(t, want, got)
		}
		require.Equal(t, int64(len(model)), f.count.Load())
	}
	for v := range model {
		require.True(t, f.has(v))
	}
	require.Len(t, f.drain(), len(model))
	require.Zero(t, f.count.Load())
}

// The deadline FIFO against a slice: pushes, pops and compactions across
// many block boundaries, an emptied FIFO reused.
func TestInFlightDeadlineFIFOMatchesASlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var q deadlineFIFO
	var model []deadlineEntry
	next := int64(0)
	for step := 0; step < 50000; step++ {
		switch op := rng.IntN(100); {
		case op < 55:
			for n := rng.IntN(40); n > 0; n-- {
				next++
				e := deadlineEntry{slot: uint32(next), gen: uint32(next >> 3), deadline: next}
				q.push(e)
				model = append(model, e)
			}
		case op < 99:
			for n := rng.IntN(40); n > 0 && len(model) > 0; n-- {
				require.Equal(t, model[0], *q.front())
				q.dropFront()
				model = model[1:]
			}
		default:
			mod := int64(2 + rng.IntN(3))
			q.filter(func(e *deadlineEntry) bool { return e.deadline%mod != 0 })
			model = slices.DeleteFunc(model, func(e deadlineEntry) bool { return e.deadline%mod == 0 })
		}
		require.Equal(t, len(model), q.Len())
		if len(model) > 0 {
			require.Equal(t, model[0], *q.front())
			require.Equal(t, model[len(model)-1], *q.at(q.Len() - 1))
		}
		require.LessOrEqual(t, len(q.blocks), (len(model)+q.head)/deadlineBlockLen+1, "no blocks kept past the last entry")
	}
}

// Growing to a consumer's RDY allocates about what the slots hold, not the
// copies a doubling slice leaves behind: slots never move once handed out.
func TestInFlightGrowthDoesNotCopySlots(t *testing.T) {
	var f inFlight
	const rdy = 2500
	msgs := testMessages(rdy, 1<<40)
	first := func() *inFlightSlot { return f.slots.at(0) }
	f.add(msgs[:1], 0, 1000)
	held := first()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 1; i < rdy; i += 100 {
		f.add(msgs[i:min(i+100, rdy)], 0, 1000)
	}
	runtime.ReadMemStats(&after)
	require.Same(t, held, first(), "a slot moved while the table grew")
	slotBytes := uint64(rdy) * uint64(unsafe.Sizeof(inFlightSlot{})+unsafe.Sizeof(slotTimes{}))
	grown := after.TotalAlloc - before.TotalAlloc
	// The slots and their times, and the last chunks' unused parts; the
	// lists of chunk pointers (313 and 20) and the shorter lists they grew
	// from; the index, at most half full, so 8192 8-byte entries, and the
	// smaller tables it doubled from; three 16 KB blocks of deadline
	// entries; a margin. A doubling slot slice alone allocated over 1 MB.
	limit := slotBytes + 4<<10 + 2*313*8 + 2*8192*8 + 3*16<<10 + 16<<10
	require.Less(t, grown, limit, "growing to %d in flight allocated %d bytes", rdy, grown)
	t.Logf("%d in flight: %d bytes allocated while growing, slots %d bytes", rdy, grown, slotBytes)
}

// A consumer at RDY 2500 whose in-flight count wanders by a few batches
// (handlers finishing in bursts), at times finishing everything, allocates
// nothing once warmed up: the deadline FIFO reuses the blocks it retires.
func TestInFlightSteadyChurnDoesNotAllocate(t *testing.T) {
	var f inFlight
	const pool = 20000
	msgs := testMessages(pool, 1<<40)
	rng := rand.New(rand.NewPCG(5, 6))
	delivered, finished := 0, 0
	now := int64(0)
	round := func() {
		target := 2500 + rng.IntN(5)*500 // 2500-4500 in flight
		for delivered-finished < target {
			n := min(1+rng.IntN(200), target-(delivered-finished))
			start := delivered % pool
			n = min(n, pool-start)
			now++
			f.add(msgs[start:start+n], now, 1<<40)
			delivered += n
		}
		for delivered-finished > 2500-rng.IntN(6)*500 { // sometimes all of them
			if _, ok := f.remove(msgs[finished%pool].ID); !ok {
				t.Fatal("lost a message")
			}
			finished++
		}
	}
	for i := 0; i < 200; i++ {
		round()
	}
	// Counted directly: AllocsPerRun rounds the average down, and a block
	// lost every few rounds is the failure to catch.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 200; i++ {
		round()
	}
	runtime.ReadMemStats(&after)
	// A few allocations of stray goroutines of earlier tests are tolerated;
	// a FIFO that drops retired blocks made 74 here.
	require.Less(t, after.Mallocs-before.Mallocs, uint64(10))
}

func TestInFlightDrainEachHandsOverEveryHeldMessageInBoundedRuns(t *testing.T) {
	var f inFlight
	msgs := testMessages(700, 1)
	require.Equal(t, 700, f.add(msgs, 0, 1000))
	// Finish every third one: drainEach must skip the freed slots.
	want := map[protocol.MessageID]bool{}
	for i, m := range msgs {
		if i%3 == 0 {
			_, ok := f.remove(m.ID)
			require.True(t, ok)
		} else {
			want[m.ID] = true
		}
	}
	got := map[protocol.MessageID]bool{}
	runs := 0
	handed := f.drainEach(func(run []Message) {
		runs++
		require.LessOrEqual(t, len(run), drainRun)
		require.NotEmpty(t, run)
		for _, m := range run {
			require.False(t, got[m.ID], "handed over twice")
			got[m.ID] = true
		}
	})
	require.Equal(t, len(want), handed)
	require.Equal(t, want, got)
	require.Equal(t, 2, runs, "466 messages in runs of %d", drainRun)
	require.Zero(t, f.count.Load())
	_, ok := f.remove(msgs[1].ID)
	require.False(t, ok, "a drained message is no longer in flight")
	// The table is usable again.
	require.Equal(t, 1, f.add(msgs[1:2], 0, 1000))
	require.True(t, f.has(msgs[1].ID))
	require.Equal(t, 1, f.drainEach(func(run []Message) { require.Equal(t, msgs[1].ID, run[0].ID) }))
	var empty inFlight
	require.Zero(t, empty.drainEach(func([]Message) { t.Fatal("nothing is held") }))
}

// A departing consumer's in-flight messages go back without a copy of all of
// them: that copy was fresh heap at the moment a disk-mode daemon peaks.
func TestInFlightDrainEachCopiesOnlyOneRun(t *testing.T) {
	var f inFlight
	const held = 2500
	f.add(testMessages(held, 1), 0, 1000)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	handed := f.drainEach(func([]Message) {})
	runtime.ReadMemStats(&after)
	require.Equal(t, held, handed)
	allCopy := uint64(held * unsafe.Sizeof(Message{}))
	require.Less(t, after.TotalAlloc-before.TotalAlloc, allCopy/4,
		"drainEach allocated %d bytes; a copy of everything held is %d", after.TotalAlloc-before.TotalAlloc, allCopy)
}

// drain removes and returns everything in flight, for the tests that look
// at it whole.
func (f *inFlight) drain() []Message {
	var msgs []Message
	f.drainEach(func(run []Message) { msgs = append(msgs, run...) })
	return msgs
}

// A slot is one cache line, and the chunks place each slot on a line of its
// own, so that a FIN's search and release touch one line per message.
func TestInFlightSlotIsOneCacheLine(t *testing.T) {
	require.Equal(t, uintptr(64), unsafe.Sizeof(inFlightSlot{}))
	var f inFlight
	f.add(testMessages(300, 1<<40), 0, 1000)
	for slot := uint32(0); slot < 300; slot++ {
		require.Zero(t, uintptr(unsafe.Pointer(f.slots.at(slot)))%64, "slot %d straddles two cache lines", slot)
	}
}

// Every field of a Message, its receipt included, comes back from the
// in-flight table as it went in (REQ, timeouts, drains and peeks hand the
// message on); a body comes back as the same bytes, nil as nil and empty as
// empty. The message is filled field by field through reflection, so a
// field added to queue.Message and not packed into the slot fails here.
func TestInFlightSlotKeepsEveryMessageField(t *testing.T) {
	backing := []byte("0123456789")
	bodies := map[string][]byte{"nil": nil, "empty": backing[3:3], "bytes": backing[2:7]}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			var m Message
			protocol.FormatID(0xabc, &m.ID)
			v := reflect.ValueOf(&m).Elem()
			for i := 0; i < v.NumField(); i++ {
				f := v.Field(i)
				// Unexported fields (the receipt) are written through their
				// address, as the queue itself would set them.
				f = reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
				switch v.Type().Field(i).Name {
				case "ID":
				case "Body":
					f.Set(reflect.ValueOf(body))
				default:
					switch f.Kind() {
					case reflect.Int64:
						f.SetInt(int64(1000 + i))
					case reflect.Uint16, reflect.Uint64:
						f.SetUint(uint64(7 + i))
					default:
						t.Fatalf("Message field %s of kind %s: teach this test (and the slot) about it", v.Type().Field(i).Name, f.Kind())
					}
				}
			}
			require.NotZero(t, m.Receipt(), "the receipt was set")
			var f inFlight
			f.add([]Message{m}, 0, 1000)
			got, ok := f.remove(m.ID)
			require.True(t, ok)
			require.True(t, reflect.DeepEqual(m, got), "packed %+v, got back %+v", m, got)
			require.Equal(t, body == nil, got.Body == nil, "nil and empty bodies stay apart")
			require.Equal(t, uintptr(unsafe.Pointer(unsafe.SliceData(body))), uintptr(unsafe.Pointer(unsafe.SliceData(got.Body))), "the same bytes, not a copy (addresses compared, not what they point at)")
			require.Len(t, got.Body, len(body))
			require.Equal(t, len(got.Body), cap(got.Body), "no room to append into the bytes after the body")
		})
	}
}
