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
type readyRing struct {
	ptrs Ring[*Message]
	own  Records
}

// AdviseFresh shows the ring's and the own records' new blocks to a.
func (r *readyRing) AdviseFresh(a *hugepage.Advisor) {
	r.ptrs.AdviseFresh(a)
	r.own.AdviseFresh(a)
}

func (r *readyRing) Len() int { return r.ptrs.Len() }

// Push appends copies of msgs, kept in the queue's own records.
func (r *readyRing) Push(msgs ...Message) {
	r.PushShared(r.own.Copy(msgs))
}

// PushShared appends pointers to msgs, which must stay unmodified where
// they are (a Records' copies) for as long as the ring holds them.
func (r *readyRing) PushShared(msgs []Message) {
	for len(msgs) > 0 {
		block := r.ptrs.tailSpace()
		n := min(len(block), len(msgs))
		for i := range block[:n] {
			block[i] = &msgs[i]
		}
		r.ptrs.size += n
		msgs = msgs[n:]
	}
}

// PopInto moves up to max messages from the front into dst, as copies.
func (r *readyRing) PopInto(dst []Message, max int) []Message {
	p := &r.ptrs
	for max > 0 && p.size > 0 {
		front := p.blocks[0]
		end := min(p.head+p.size, p.blockLen, p.head+max)
		for _, m := range front[p.head:end] {
			dst = append(dst, *m)
		}
		clear(front[p.head:end]) // drop references for the GC
		n := end - p.head
		max -= n
		p.size -= n
		p.head = end
		p.frontConsumed()
	}
	return dst
}

// Front returns the first message, not to be modified; the ring must not
// be empty.
func (r *readyRing) Front() *Message { return *r.ptrs.Front() }

// Each calls fn for every message in order; fn must not modify it.
func (r *readyRing) Each(fn func(*Message)) {
	r.ptrs.Each(func(m **Message) { fn(*m) })
}

// Clear drops everything and releases the blocks.
func (r *readyRing) Clear() {
	fresh := r.ptrs.fresh
	*r = readyRing{}
	r.AdviseFresh(fresh)
}
