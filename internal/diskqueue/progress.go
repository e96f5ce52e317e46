package diskqueue

// FIN progress past the frontier (FORMAT.md, "Acknowledgements and
// redelivery"). The metadata's read position alone would make a crash
// deliver again every record after the oldest unfinished one, finished or
// not: one message held for a minute would replay a minute of traffic. So
// the metadata also records how far the reader had got (readEnd) and the
// records between the frontier and readEnd that were still unfinished, as
// runs of record start offsets. After a reopen the reader delivers, before
// readEnd, only records whose start lies in a run; the others were finished.
//
// Runs, not a bitmap: records have no index of their own on disk, only a
// start offset, and the unfinished records come in runs (a batch in flight,
// one held message), so the list is proportional to the unfinished records,
// never to the span between the frontier and readEnd.

// position is a place in the queue: a segment number and a byte offset.
type position struct{ file, off int64 }

func (p position) less(q position) bool {
	return p.file < q.file || (p.file == q.file && p.off < q.off)
}

// span covers the records of segment file whose start offset is in
// [first, last]: records read consecutively, with no other record between
// them, none of them finished.
type span struct{ file, first, last int64 }

func (s span) start() position { return position{s.file, s.first} }
func (s span) end() position   { return position{s.file, s.last} }

// replay is what a reopened queue still knows about the records between its
// read position and end: those starting in a span are delivered, the others
// were finished before the crash or Close and are skipped. Inactive (zero
// end) once the reader has passed end. The spans slice is never modified,
// only resliced, so copies of a replay may share it.
type replay struct {
	end   position
	spans []span
}

func (r *replay) active() bool { return r.end != position{} }

// finished reports whether the record starting at p, the next record the
// reader met, was finished before the reopen. Records must be passed in
// increasing position order.
func (r *replay) finished(p position) bool {
	if !r.active() {
		return false
	}
	if !p.less(r.end) {
		*r = replay{}
		return false
	}
	for len(r.spans) > 0 && r.spans[0].end().less(p) {
		r.spans = r.spans[1:]
	}
	return len(r.spans) == 0 || p.less(r.spans[0].start())
}

// remaining is the part of r that still matters to a reader at p: nothing
// (a zero end) when p has reached end; else the spans not wholly before p,
// the first one cut at p.
func (r replay) remaining(p position) (end position, spans []span) {
	if !r.active() || !p.less(r.end) {
		return position{}, nil
	}
	for _, s := range r.spans {
		if s.end().less(p) {
			continue
		}
		if s.file == p.file && s.first < p.off {
			s.first = p.off
		}
		spans = append(spans, s)
	}
	return r.end, spans
}

// unfinishedSpans lists the outstanding records as spans, oldest first.
// Records of consecutive seqs in the same segment share a span unless the
// reader skipped something between them (a finished record being replayed,
// damage): the span would then cover what lies between.
func (t *tracker) unfinishedSpans() []span {
	var (
		out     []span
		prevSeq uint64
		have    bool
	)
	add := func(seq uint64, e ackEntry) {
		if e.acked {
			return
		}
		if have && seq == prevSeq+1 && !e.afterGap {
			if last := &out[len(out)-1]; last.file == e.file {
				last.last = e.pos
				prevSeq = seq
				return
			}
		}
		out = append(out, span{file: e.file, first: e.pos, last: e.pos})
		prevSeq, have = seq, true
	}
	for _, s := range t.old[t.oldHead:] {
		add(s.seq, s.ackEntry)
	}
	for i := range t.n {
		add(t.base+uint64(i), t.at(i))
	}
	return out
}
