package queue

// heldMemory is the memory part of a topic's held messages (held.go),
// oldest first: records (records.go) carved from the Held's own blocks,
// listed as runs of consecutive records of one block. Records rather than
// a ring of messages so that handing the held messages over to channels
// (Held.HandOverMemory) gives each channel's ready ring pointers to the
// same records (ready.go), a run per block, instead of copying every
// 72-byte message out into one large slice and into each channel again:
// a million held messages cost a SUB that created the first channel over a
// second of copying under the topic's write lock.
//
// A record listed here is referred to by nothing else (records are carved
// once; a run handed over leaves the list), so heldMemory may clear the
// records it drops or pops, so that they keep no bodies alive. Guarded by
// Held.mu.
type heldMemory struct {
	records Records
	runs    Ring[recordRun]
	count   int   // messages held
	bytes   int64 // and their bodies
}

// recordRun is block.msgs[start:end], held (one hold on block) until it is
// popped, dropped, cleared or handed over.
type recordRun struct {
	block      *recordBlock
	start, end int
}

func (r *recordRun) msgs() []Message { return r.block.msgs[r.start:r.end:r.end] }

// Len is the number of messages held.
func (m *heldMemory) Len() int { return m.count }

// Push appends copies of msgs. A batch carved right after the last run in
// the same block extends it, so a block's batches are one run.
func (m *heldMemory) Push(msgs []Message) {
	if len(msgs) == 0 {
		return
	}
	block, start := m.records.copyIndexed(msgs)
	m.count += len(msgs)
	m.bytes += BodyBytes(msgs)
	if n := m.runs.Len(); n > 0 {
		if last := m.runs.at(n - 1); last.block == block && last.end == start {
			last.end += len(msgs)
			return
		}
	}
	block.hold() // before anything else is copied (Records.copy)
	m.runs.Push(recordRun{block: block, start: start, end: start + len(msgs)})
}

// DropFront removes the oldest message and returns it; Len must not be 0.
func (m *heldMemory) DropFront() Message {
	r := m.runs.Front()
	rec := &r.block.msgs[r.start]
	msg := *rec
	*rec = Message{}
	r.start++
	m.count--
	m.bytes -= int64(len(msg.Body))
	if r.start == r.end {
		m.dropFrontRun()
	}
	return msg
}

// dropFrontRun ends the front run's hold.
func (m *heldMemory) dropFrontRun() {
	block := m.runs.Front().block
	m.runs.DropFront()
	block.release()
}

// PopInto moves up to max messages from the front into dst, as copies.
func (m *heldMemory) PopInto(dst []Message, max int) []Message {
	for max > 0 && m.count > 0 {
		r := m.runs.Front()
		n := min(max, r.end-r.start)
		recs := r.block.msgs[r.start : r.start+n]
		dst = append(dst, recs...)
		m.bytes -= BodyBytes(recs)
		clear(recs)
		r.start += n
		m.count -= n
		max -= n
		if r.start == r.end {
			m.dropFrontRun()
		}
	}
	return dst
}

// Each calls fn for every message, oldest first; fn must not modify it.
func (m *heldMemory) Each(fn func(*Message)) {
	m.runs.Each(func(r *recordRun) {
		recs := r.msgs()
		for i := range recs {
			fn(&recs[i])
		}
	})
}

// Clear drops everything.
func (m *heldMemory) Clear() {
	m.runs.Each(func(r *recordRun) {
		clear(r.msgs())
		r.block.release()
	})
	m.runs.Clear()
	m.records.dropCurrent()
	m.count, m.bytes = 0, 0
}

// takeRuns removes every run, for a caller that hands them over and then
// ends each run's hold (heldRuns.release).
func (m *heldMemory) takeRuns() heldRuns {
	taken := heldRuns{runs: m.runs}
	m.runs = Ring[recordRun]{}
	// The runs' holds keep their blocks for the channels; the block being
	// carved must not stay held for a Put that may never come.
	m.records.dropCurrent()
	m.count, m.bytes = 0, 0
	return taken
}

// heldRuns is held memory taken out of a Held, each run still held.
type heldRuns struct{ runs Ring[recordRun] }

// each calls fn with each run's records, oldest first, as a Shared whose
// hold is the run's: fn may queue them (Queue.RequeueShared), not Release
// them.
func (h *heldRuns) each(fn func(Shared)) {
	h.runs.Each(func(r *recordRun) { fn(Shared{Msgs: r.msgs(), block: r.block}) })
}

// release ends every run's hold; the records must not be used after.
func (h *heldRuns) release() {
	h.runs.Each(func(r *recordRun) { r.block.release() })
	h.runs.Clear()
}
