package queue

import "github.com/nsqgo/nsq/internal/hugepage"

// readyRing is a queue's ready messages in memory, in delivery order: a
// ring of pointers to records (records.go) rather than of the messages
// themselves. A published message's record is the topic's, one for all of
// its channels (PushShared); a message that belongs to this queue alone
// (requeued, promoted, read back from disk) is copied into the queue's own
// records (Push). Either way a record is only read once pointed to: Pop
// copies the message out, and the caller owns and may change that copy.
//
// An entry is 8 bytes instead of a whole message's 72, so a message queued
// in n channels takes 72 + 8n bytes instead of 72n, and appending a batch
// to a channel writes an eighth of the memory.
//
// The ring holds its records' blocks (records.go) by runs: spans lists, in
// ring order, how many consecutive entries point into which block, each run
// one hold on its block, released once the last of its entries is popped
// or cleared. A batch pushed after one from the same block extends the
// last run, so a topic's fan-out of MPUBs costs a ring one hold per eight
// batches.
type readyRing struct {
	ptrs Ring[*Message]
	own  Records
	// spans[spanHead:] are the runs, front first; their counts add up to
	// ptrs.Len().
	spans    []span
	spanHead int
}

// maxKeptSpans bounds the runs' slice an empty ring keeps for reuse.
const maxKeptSpans = 64

// span is a run of consecutive ring entries pointing into one block.
type span struct {
	block *recordBlock
	n     int
}

// AdviseFresh shows the ring's and the own records' new blocks to a.
func (r *readyRing) AdviseFresh(a *hugepage.Advisor) {
	r.ptrs.AdviseFresh(a)
	r.own.AdviseFresh(a)
}

func (r *readyRing) Len() int { return r.ptrs.Len() }

// Push appends copies of msgs, kept in the queue's own records.
func (r *readyRing) Push(msgs ...Message) {
	recs, block := r.own.copy(msgs)
	r.push(recs, block)
}

// PushShared appends pointers to s's records; the ring holds their block
// from now on, so the caller may Release s once done with it.
func (r *readyRing) PushShared(s Shared) { r.push(s.Msgs, s.block) }

// push appends pointers to msgs, records of block, which the caller holds.
func (r *readyRing) push(msgs []Message, block *recordBlock) {
	if len(msgs) == 0 {
		return
	}
	if last := len(r.spans) - 1; last >= r.spanHead && r.spans[last].block == block {
		r.spans[last].n += len(msgs)
	} else {
		block.hold()
		r.spans = append(r.spans, span{block: block, n: len(msgs)})
	}
	for len(msgs) > 0 {
		tail := r.ptrs.tailSpace()
		n := min(len(tail), len(msgs))
		for i := range tail[:n] {
			tail[i] = &msgs[i]
		}
		r.ptrs.size += n
		msgs = msgs[n:]
	}
}

// PopInto moves up to max messages from the front into dst, as copies.
func (r *readyRing) PopInto(dst []Message, max int) []Message {
	p := &r.ptrs
	popped := 0
	for max > 0 && p.size > 0 {
		front := p.blocks[0]
		end := min(p.head+p.size, p.blockLen, p.head+max)
		for _, m := range front[p.head:end] {
			dst = append(dst, *m)
		}
		clear(front[p.head:end]) // drop references for the GC
		n := end - p.head
		popped += n
		max -= n
		p.size -= n
		p.head = end
		p.frontConsumed()
	}
	// Only now, with every popped record copied out, may their blocks be
	// reused.
	r.releaseFront(popped)
	return dst
}

// releaseFront ends the runs of the first n entries, which are gone.
func (r *readyRing) releaseFront(n int) {
	for n > 0 {
		s := &r.spans[r.spanHead]
		k := min(n, s.n)
		s.n -= k
		n -= k
		if s.n == 0 {
			block := s.block
			*s = span{}
			r.spanHead++
			block.release()
		}
	}
	switch {
	case r.spanHead == len(r.spans):
		r.spans = r.spans[:0]
		if cap(r.spans) > maxKeptSpans {
			r.spans = nil // a long queue's runs are not kept by an empty one
		}
		r.spanHead = 0
	case r.spanHead >= 32 && r.spanHead*2 >= len(r.spans):
		// Move the live runs to the front: each is moved at most once per
		// run popped, and the slice stays under twice the live runs.
		live := copy(r.spans, r.spans[r.spanHead:])
		clear(r.spans[live:])
		r.spans = r.spans[:live]
		r.spanHead = 0
	}
}

// Front returns the first message, not to be modified; the ring must not
// be empty.
func (r *readyRing) Front() *Message { return *r.ptrs.Front() }

// Each calls fn for every message in order; fn must not modify it.
func (r *readyRing) Each(fn func(*Message)) {
	r.ptrs.Each(func(m **Message) { fn(*m) })
}

// Clear drops everything, releases the blocks of the ring and ends its
// holds on records; the own records and their spare blocks are kept.
func (r *readyRing) Clear() {
	r.ptrs.Clear()
	for i := r.spanHead; i < len(r.spans); i++ {
		r.spans[i].block.release()
	}
	r.spans, r.spanHead = nil, 0
}
