package queue

import (
	"slices"
	"unsafe"

	"github.com/nsqgo/nsq/internal/hugepage"
)

// readyRing is a queue's ready messages in memory, in delivery order: a
// ring of runs of records (records.go, packed.go) rather than of the
// messages themselves. A published message's record is the topic's, one
// for all of its channels (PushShared); a message that belongs to this
// queue alone (requeued, promoted, read back from disk) is copied into the
// queue's own records (Push). Either way a record is only read once
// pointed to: Pop copies the message out (or rebuilds it, from a packed
// record), and the caller owns and may change that copy.
//
// A run is consecutive records of one block: whole records
// (full.msgs[start:end]) or packed entries (pack, start to end, with the
// first ID, Timestamp and DeliverAt they share). It is one hold on its
// block, released once its last message is popped or cleared. A batch
// pushed right after the previous one in the same block, continuing its
// IDs with the same times, extends the last run, so a ring holds about one
// run per batch or fewer, and a message queued in n channels of a topic
// costs 8 bytes of packed record in all, not a pointer per channel.
type readyRing struct {
	runs Ring[readyRun]
	size int // messages in the runs
	own  Records
	// front is Front's answer for a packed run, rebuilt.
	front Message
}

// readyRun is a run of records of one block (full or pack).
type readyRun struct {
	full       *recordBlock
	pack       *packBlock
	start, end int32
	// end0 is, for a packed run, the index of the first of its block's
	// ends at or after start (packed.go).
	end0 int32
	// A packed run's messages share these; first is the ID value of the
	// message at start.
	first         uint64
	ts, deliverAt int64
}

// AdviseFresh shows the ring's and the own records' new blocks to a.
func (r *readyRing) AdviseFresh(a *hugepage.Advisor) {
	r.runs.AdviseFresh(a)
	r.own.AdviseFresh(a)
}

func (r *readyRing) Len() int { return r.size }

// Push appends copies of msgs, kept in the queue's own records.
func (r *readyRing) Push(msgs ...Message) {
	recs, block := r.own.copy(msgs)
	r.pushFull(recs, block)
}

// PushShared appends s's records; the ring holds their block from now on,
// so the caller may Release s once done with it.
func (r *readyRing) PushShared(s Shared) { r.pushShared(s.Msgs, &s) }

// pushShared appends msgs, a part of s.Msgs, as the records of s.
func (r *readyRing) pushShared(msgs []Message, s *Shared) {
	if len(msgs) == 0 {
		return
	}
	if s.pack == nil {
		r.pushFull(msgs, s.block)
		return
	}
	k := indexIn(msgs, s.Msgs)
	end0 := s.end0
	if k > 0 {
		end0 = s.pack.endFrom(end0, s.at+k)
	}
	r.pushPacked(s.pack, s.at+k, end0, len(msgs), s.first+uint64(k), msgs[0].Timestamp, msgs[0].DeliverAt)
}

// indexIn is the index of msgs[0] in all, of which msgs is a part.
func indexIn(msgs, all []Message) int {
	return int((uintptr(unsafe.Pointer(&msgs[0])) - uintptr(unsafe.Pointer(&all[0]))) / uintptr(recordBytes))
}

// pushFull appends recs, records of block, which the caller holds.
func (r *readyRing) pushFull(recs []Message, block *recordBlock) {
	if len(recs) == 0 {
		return
	}
	start := int32(indexIn(recs, block.msgs))
	end := start + int32(len(recs))
	r.size += len(recs)
	if n := r.runs.Len(); n > 0 {
		if last := r.runs.at(n - 1); last.full == block && last.end == start {
			last.end = end
			return
		}
	}
	block.hold()
	r.runs.Push(readyRun{full: block, start: start, end: end})
}

// pushPacked appends n packed entries of block from at on, whose first end
// is end0.
func (r *readyRing) pushPacked(block *packBlock, at, end0, n int, first uint64, ts, deliverAt int64) {
	start := int32(at)
	end := start + int32(n)
	r.size += n
	if k := r.runs.Len(); k > 0 {
		if last := r.runs.at(k - 1); last.pack == block && last.end == start &&
			last.first+uint64(last.end-last.start) == first && last.ts == ts && last.deliverAt == deliverAt {
			last.end = end
			return
		}
	}
	block.hold()
	r.runs.Push(readyRun{pack: block, start: start, end: end, end0: int32(end0), first: first, ts: ts, deliverAt: deliverAt})
}

// PopInto moves up to max messages from the front into dst, as copies.
func (r *readyRing) PopInto(dst []Message, max int) []Message {
	for max > 0 && r.size > 0 {
		run := r.runs.Front()
		k := min(max, int(run.end-run.start))
		if run.full != nil {
			dst = append(dst, run.full.msgs[run.start:run.start+int32(k)]...)
		} else {
			dst = run.unpack(dst, k)
			run.first += uint64(k)
			if run.start+int32(k) < run.end {
				run.end0 = int32(run.pack.endFrom(int(run.end0), int(run.start)+k))
			}
		}
		run.start += int32(k)
		r.size -= k
		max -= k
		if run.start == run.end {
			// Its messages are copied out: the block may be reused.
			full, pack := run.full, run.pack
			r.runs.DropFront()
			release(full, pack)
		}
	}
	return dst
}

// release ends a run's hold on its block.
func release(full *recordBlock, pack *packBlock) {
	if full != nil {
		full.release()
	} else {
		pack.release()
	}
}

// unpack appends the first k messages of a packed run to dst.
func (run *readyRun) unpack(dst []Message, k int) []Message {
	n := len(dst)
	dst = slices.Grow(dst, k)[:n+k]
	out := dst[n:]
	start := int(run.start)
	bodies := run.pack.bodies
	ends := run.pack.ends[run.end0:]
	ts, deliverAt := run.ts, run.deliverAt
	for i := 0; i < k; {
		// Up to the next end, a length is the distance to the next body
		// (packed.go); the entry at the end has its own.
		end := ends[0]
		stop := min(int(end.at)-start, k)
		if stop > i {
			unpackFollowing(out[i:stop], bodies[start+i:start+stop+1], ts, deliverAt) // the one after stop exists: stop <= end.at
		}
		i = stop
		if i < k {
			m := &out[i]
			m.Body = unsafe.Slice(bodies[start+i], end.n)
			m.Timestamp, m.DeliverAt = ts, deliverAt
			m.Attempts, m.receipt = 0, 0
			ends = ends[1:]
			i++
		}
	}
	putIDs(out, run.first)
	return dst
}

// unpackFollowing writes the messages of out but for their IDs: bodies at
// next, each as long as the distance to the next one's start (packed.go);
// next has one more than out. Not inlined: inside unpack its loop ran out
// of registers and kept its variables on the stack (BenchmarkPackedFanOut3
// 2.97 against 2.65 us).
//
//go:noinline
func unpackFollowing(out []Message, next []*byte, ts, deliverAt int64) {
	next = next[:len(out)+1]
	p := uintptr(unsafe.Pointer(next[0]))
	for j := range out {
		q := uintptr(unsafe.Pointer(next[j+1]))
		// Field by field: a whole-struct store goes through a temporary
		// and a typed copy, several times the cost.
		m := &out[j]
		m.Body = unsafe.Slice(next[j], q-p)
		m.Timestamp, m.DeliverAt = ts, deliverAt
		m.Attempts, m.receipt = 0, 0
		p = q
	}
}

// Front returns the first message, not to be modified; the ring must not
// be empty. A packed one is rebuilt, valid until the ring changes.
func (r *readyRing) Front() *Message {
	run := r.runs.Front()
	if run.full != nil {
		return &run.full.msgs[run.start]
	}
	run.unpack(r.scratch(), 1)
	return &r.front
}

// scratch is a slice of no length over front, for unpack to append one
// message to without allocating.
func (r *readyRing) scratch() []Message { return unsafe.Slice(&r.front, 1)[:0] }

// Each calls fn for every message in order; fn must not modify it.
func (r *readyRing) Each(fn func(*Message)) {
	r.runs.Each(func(run *readyRun) {
		if run.full != nil {
			for i := run.start; i < run.end; i++ {
				fn(&run.full.msgs[i])
			}
			return
		}
		var one [1]Message
		at := *run
		for at.start < at.end {
			m := at.unpack(one[:0], 1)
			fn(&m[0])
			at.start++
			at.first++
			if at.start < at.end {
				at.end0 = int32(at.pack.endFrom(int(at.end0), int(at.start)))
			}
		}
	})
}

// Clear drops everything and ends the ring's holds on records; the own
// records and their spare blocks are kept.
func (r *readyRing) Clear() {
	r.runs.Each(func(run *readyRun) { release(run.full, run.pack) })
	r.runs.Clear()
	r.size = 0
	r.front = Message{}
}
