package queue

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"unsafe"

	"github.com/nsqgo/nsq/internal/protocol"
)

// putIDs writes what FormatID writes, for any first value, across the
// carry from the low 32 bits and the wrap of the uint64 included; protocol.ParseID
// reads FormatID's text back, and no other text.
func TestPutIDsAndParseIDFollowFormatID(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	values := []uint64{0, 9, 15, 0xf, 0xff, 0x9f, 0x0fff, 0xfffffffe, 0xffffffff, 0x1fffffffe, math.MaxUint64 - 1, math.MaxUint64}
	for i := 0; i < 10000; i++ {
		values = append(values, rng.Uint64(), rng.Uint64()|0xfff) // many carries
	}
	out := make([]Message, 3)
	for _, v := range values {
		putIDs(out, v)
		for i := range out {
			var want protocol.MessageID
			protocol.FormatID(v+uint64(i), &want)
			if out[i].ID != want {
				t.Fatalf("putIDs from %x, message %d: %s, want %s", v, i, out[i].ID[:], want[:])
			}
			if got, ok := protocol.ParseID(&want); !ok || got != v+uint64(i) {
				t.Fatalf("ParseID(%s) = %x, %v", want[:], got, ok)
			}
		}
	}
	for _, text := range []string{"000000000000000A", "00000000000000g0", "0000000000000 00", "\x00000000000000000"[:16]} {
		var id protocol.MessageID
		copy(id[:], text)
		if _, ok := protocol.ParseID(&id); ok {
			t.Fatalf("ParseID(%q) took it", text)
		}
	}
}

// Only a batch of the shape a topic publishes is packed: any message that
// differs from the first in a field the packed records share, or has
// attempts, a receipt, or an ID out of sequence, keeps the batch whole.
func TestPackableTakesOnlyPublishedBatches(t *testing.T) {
	if _, _, _, ok := packable(nil); ok {
		t.Fatal("an empty batch packed")
	}
	if _, _, _, ok := packable(publishedBatch(3, 3+packMinBatch-1, 5)); ok {
		t.Fatal("a batch smaller than packMinBatch packed")
	}
	if first, _, _, ok := packable(publishedBatch(3, 203, 5)); !ok || first != 3*7919 {
		t.Fatalf("a published batch: %x, %v", first, ok)
	}
	spoil := []func(m *Message){
		func(m *Message) { m.Timestamp++ },
		func(m *Message) { m.DeliverAt = 1 },
		func(m *Message) { m.Attempts = 1 },
		func(m *Message) { m.receipt = backlogReceipt(1) },
		func(m *Message) { m.ID[15] = 'x' },
		func(m *Message) { protocol.FormatID(1, &m.ID) },
	}
	for k, f := range spoil {
		for _, at := range []int{0, 1, 199} {
			msgs := publishedBatch(3, 203, 5)
			f(&msgs[at])
			if at == 0 && k < 2 {
				continue // the first message sets the shared fields
			}
			if _, _, _, ok := packable(msgs); ok {
				t.Fatalf("spoiled %d at message %d: packed", k, at)
			}
		}
	}
}

// A packed batch comes out of a ring equal to what went in, field for
// field, with its bodies' bytes where they were (not copied) and each
// body's capacity its length; Front and Each show the same messages;
// batches that continue one another in a block are one run.
func TestPackedRunsRebuildEveryField(t *testing.T) {
	var recs SharedRecords
	var r readyRing
	bodies := make([]byte, 1000)
	var want []Message
	first := uint64(math.MaxUint64 - 250) // the IDs wrap within the batches
	for b := 0; b < 4; b++ {
		msgs := make([]Message, 100)
		for i := range msgs {
			n := b*100 + i
			msgs[i] = Message{Body: bodies[n : n+n%7 : n+10], Timestamp: 42, DeliverAt: 17}
			protocol.FormatID(first+uint64(n), &msgs[i].ID)
		}
		msgs[5].Body = nil
		s := recs.Copy(msgs)
		if s.pack == nil {
			t.Fatalf("batch %d not packed", b)
		}
		r.PushShared(s)
		s.Release()
		want = append(want, msgs...)
	}
	if r.runs.Len() != 1 {
		t.Fatalf("%d runs for four batches continuing one another", r.runs.Len())
	}
	check := func(what string, got, want Message) {
		t.Helper()
		if !same(got, want) || cap(got.Body) != len(want.Body) || (got.Body == nil) != (want.Body == nil) {
			t.Fatalf("%s: %+v (cap %d), want %+v", what, got, cap(got.Body), want)
		}
	}
	check("Front", *r.Front(), want[0])
	i := 0
	r.Each(func(m *Message) { check("Each", *m, want[i]); i++ })
	var got []Message
	for r.Len() > 0 {
		got = r.PopInto(got, 37)
		if r.Len() > 0 {
			check("Front after a pop", *r.Front(), want[len(got)])
		}
	}
	for i := range want {
		check("PopInto", got[i], want[i])
	}
	if unsafe.SliceData(got[7].Body) != &bodies[7] {
		t.Fatal("a body was copied")
	}
}

// A packed message costs its entry, 8 bytes on a 64-bit machine, when the
// bodies lie one after another as a socket's batches do (slabs,
// nsqd/body_alloc.go), and a ring run per batch: the rings of ten channels
// queuing every batch add no memory per message.
func TestPackedRecordsCostEightBytesAMessage(t *testing.T) {
	if packEntryBytes > 8 {
		t.Skipf("%d-byte entries on this architecture", packEntryBytes)
	}
	var recs SharedRecords
	var rings [10]readyRing
	const batches, batch = 1000, 200
	slab := make([]byte, 20*batch*10) // ten batches of 20-byte bodies a slab
	msgs := publishedBatch(0, batch, 1)
	before := heapInUse()
	for b := 0; b < batches; b++ {
		if b%10 == 0 {
			slab = make([]byte, len(slab))
		}
		for i := range msgs {
			at := (b%10*batch + i) * 20
			msgs[i].Body = slab[at : at+20 : at+20]
			protocol.FormatID(uint64(b*batch+i), &msgs[i].ID)
		}
		s := recs.Copy(msgs)
		for i := range rings {
			rings[i].PushShared(s)
		}
		s.Release()
	}
	perMessage := float64(heapInUse()-before)/(batches*batch) - 20 // less the bodies
	// Entries (8, and 2.3% of each block left over: ten batches of 200
	// fill 2,000 of its 2,048), their ends (64 of 8 bytes a block: 0.25),
	// ten rings' runs (56 bytes per block of entries, as the batches
	// continue one another) and each ring's first 16 KB block of runs
	// (0.8 bytes a message here): 10.3 measured; with a length beside
	// each pointer 13.9, whole records and a pointer per ring 152.
	if perMessage > 11 {
		t.Fatalf("%.1f bytes a message", perMessage)
	}
	for i := range rings {
		if rings[i].Len() != batches*batch {
			t.Fatalf("ring %d holds %d", i, rings[i].Len())
		}
	}
	t.Logf("%.2f bytes a message", perMessage)
}

// Bodies that do not lie one after another (here overlapping) each need
// an end: such a batch is packed all the same, at 16 bytes an entry, and
// comes out whole.
func TestPackedBodiesApartTakeAnEndEach(t *testing.T) {
	var recs SharedRecords
	var r readyRing
	msgs := publishedBatch(0, 100, 1)
	buf := make([]byte, 200)
	for i := range msgs {
		msgs[i].Body = buf[i : i+3 : i+3]
	}
	want := slices.Clone(msgs)
	s := recs.Copy(msgs)
	if s.pack == nil {
		t.Fatal("not packed")
	}
	if ends := s.pack.ends[s.end0 : s.end0+100]; ends[99].at != 99 || ends[0].n != 3 {
		t.Fatalf("ends %v", ends[:3])
	}
	r.PushShared(s)
	s.Release()
	got := r.PopInto(nil, 1000)
	for i := range want {
		if !same(got[i], want[i]) {
			t.Fatalf("message %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// An entry keeps its body's memory alive by itself: bodies read into slabs
// that nothing else refers to, once the batch is queued, come out as they
// went in after collections that reuse whatever memory was freed.
func TestPackedEntriesKeepTheirSlabsAlive(t *testing.T) {
	var recs SharedRecords
	var r readyRing
	const batch, size = 160, 100
	func() {
		msgs := publishedBatch(0, batch, 1)
		var slab []byte
		for i := range msgs {
			if i%16 == 0 {
				slab = make([]byte, 16*size) // 1,600 bytes: ten slabs, maybe side by side
			}
			body := slab[i%16*size : (i%16+1)*size : (i%16+1)*size]
			for k := range body {
				body[k] = byte(i + k)
			}
			msgs[i].Body = body
		}
		if _, n, _, _ := packable(msgs); n > 10 {
			t.Fatalf("%d ends for ten slabs", n) // at most one per slab: entries without a length
		}
		s := recs.Copy(msgs)
		if s.pack == nil {
			t.Fatal("not packed")
		}
		r.PushShared(s)
		s.Release()
		clear(msgs)
	}()
	var litter [][]byte
	for round := 0; round < 4; round++ {
		runtime.GC()
		for k := 0; k < 2000; k++ {
			b := make([]byte, 16*size)
			for j := range b {
				b[j] = 0xee
			}
			litter = append(litter, b)
		}
	}
	got := r.PopInto(nil, batch)
	for i, m := range got {
		if len(m.Body) != size {
			t.Fatalf("message %d: %d bytes", i, len(m.Body))
		}
		for k, c := range m.Body {
			if c != byte(i+k) {
				t.Fatalf("message %d byte %d: %#x, want %#x", i, k, c, byte(i+k))
			}
		}
	}
	runtime.KeepAlive(litter)
}

// heapInUse is the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// A packed block's entries are sizes the allocator hands out as they
// are (no rounding up): size classes of the small ones, whole pages above
// 32 KB; and a block holds eight batches or more, up to its maximum.
func TestPackBlocksAreAllocatorSizes(t *testing.T) {
	exact := func(bytes int) bool {
		if bytes > 32<<10 {
			return bytes%(8<<10) == 0
		}
		return cap(slices.Grow([]byte(nil), bytes)) == bytes
	}
	for n := 1; n <= 2*packBlockMax; n += 1 + n/50 {
		l := packBlockLen(n)
		if l > packBlockMax || l < min(recordBlockBatches*n, packBlockMax) {
			t.Fatalf("batches of %d: a block of %d entries", n, l)
		}
		if !exact(l * packEntryBytes) {
			t.Fatalf("batches of %d: a block of %d entries is %d bytes", n, l, l*packEntryBytes)
		}
	}
}

// A ring may queue the tail of a packed batch (pushShared of a part): its
// lengths come from the right ends whatever lies apart before it.
func TestPackedTailOfABatchKeepsItsLengths(t *testing.T) {
	for _, from := range []int{1, 13, 14, 50, 99} {
		var recs SharedRecords
		var r readyRing
		msgs := publishedBatch(0, 100, 1)
		buf := make([]byte, 2000)
		at := 0
		for i := range msgs {
			n := i % 5 * 3
			msgs[i].Body = buf[at : at+n : at+n]
			at += n
			if i%7 == 0 {
				at++ // apart from the next
			}
		}
		s := recs.Copy(msgs)
		if s.pack == nil {
			t.Fatal("not packed")
		}
		r.pushShared(s.Msgs[from:], &s)
		s.Release()
		got := r.PopInto(nil, 7)
		got = r.PopInto(got, 1000)
		for i := range got {
			if !same(got[i], msgs[from+i]) {
				t.Fatalf("from %d, message %d: %+v, want %+v", from, i, got[i], msgs[from+i])
			}
		}
	}
}

// CopyPublished packs a batch its caller numbered from first as Copy does,
// and keeps whole one whose first or last ID is not first's; either way
// the batch's body bytes are summed once, for every queue it goes to.
func TestCopyPublishedChecksTheEndsAndSumsTheBytes(t *testing.T) {
	var recs SharedRecords
	msgs := publishedBatch(3, 203, 5)
	first := uint64(3 * 7919)
	s := recs.CopyPublished(msgs, first)
	if s.pack == nil || s.first != first || s.bytes != BodyBytes(msgs) {
		t.Fatalf("packed %v, first %x, bytes %d (want %d)", s.pack != nil, s.first, s.bytes, BodyBytes(msgs))
	}
	var r readyRing
	r.PushShared(s)
	s.Release()
	got := r.PopInto(nil, 1000)
	for i := range msgs {
		if !same(got[i], msgs[i]) {
			t.Fatalf("message %d: %+v, want %+v", i, got[i], msgs[i])
		}
	}
	for _, wrong := range []uint64{first + 1, first - 1} {
		s := recs.CopyPublished(msgs, wrong)
		if s.pack != nil || s.bytes != BodyBytes(msgs) {
			t.Fatalf("first %x for %x: packed %v, bytes %d", wrong, first, s.pack != nil, s.bytes)
		}
		s.Release()
	}
	last := slices.Clone(msgs)
	protocol.FormatID(first+1000, &last[len(last)-1].ID)
	if s := recs.CopyPublished(last, first); s.pack != nil {
		t.Fatal("a batch whose last ID is not first's packed")
	}
}

// A queue counts a shared batch's bytes as the sum of its bodies, whole or
// in part.
func TestPutSharedCountsReadyBytes(t *testing.T) {
	for _, memSize := range []int{1000, 150} {
		q, err := Open(Config{Name: "t:c", MemSize: memSize})
		if err != nil {
			t.Fatal(err)
		}
		var recs SharedRecords
		msgs := publishedBatch(3, 203, 5)
		s := recs.CopyPublished(msgs, 3*7919)
		q.PutShared(s, 0)
		s.Release()
		want := BodyBytes(msgs[:min(memSize, len(msgs))])
		if got := q.bound.readyBytes; got != want {
			t.Fatalf("mem size %d: ready bytes %d, want %d", memSize, got, want)
		}
	}
}
