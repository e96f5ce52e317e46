package diskqueue

import (
	"sync"
)

// consumer is one reading end of a queue: the Queue's own (a queue opened
// without Options.Log) or a Cursor's (cursor.go). Both embed one, so that
// reading, acknowledging, FIN progress, depth and read memory have one
// implementation. What differs is only which positions a Read may cover
// (the write end, or a cursor's intervals) and what removes segments.
//
// Its locks are its owner's (doc.go has the order, nsqd/LOCKS.md a row for
// each), given at init: rmu is the reader role (Queue.rmu, Cursor.rmu);
// pmu guards the published state below it (Queue.mu, Cursor.mu); amu
// guards the tracker and the read memory (Queue.amu, Cursor.amu).
type consumer struct {
	ready chan struct{} // capacity 1, never closed

	rmu *sync.Mutex // reader role: guards r
	r   reader

	pmu *sync.Mutex // guards the fields up to amu
	// readFile, readPos: published read position, the next record Read
	// returns (a cursor's may sit in a gap between its intervals).
	readFile, readPos int64
	depth             int64
	// replay: the reader's FIN progress left from the metadata loaded at
	// Open (or a cursor's Close), as of the published read position
	// (progress.go).
	replay replay
	stats  Stats // counters; Depth and positions are filled in by Stats()

	amu  *sync.Mutex // records read and not yet acknowledged; see ack.go
	acks tracker
	mem  readMemory // the slabs records were read into (readmem.go); under amu
	// reuse is Options.ReuseReads.
	reuse bool
	// who prefixes its log lines: "" for the Queue's, "cursor NAME: ".
	who string
}

// init readies a consumer guarded by its owner's locks rmu, pmu and amu,
// logging as who.
func (s *consumer) init(rmu, pmu, amu *sync.Mutex, opts Options, who string) {
	s.who = who
	s.ready = make(chan struct{}, 1)
	s.rmu, s.pmu, s.amu = rmu, pmu, amu
	s.acks = tracker{base: firstSeq}
	s.mem = readMemory{fresh: opts.FreshReadMemory}
	s.reuse = opts.ReuseReads
}

func (s *consumer) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// countDamage counts damage the reader (or the queue's recovery) skipped.
func (s *consumer) countDamage(records, bytes int64) {
	s.pmu.Lock()
	s.stats.SkippedRecords += records
	s.stats.SkippedBytes += bytes
	s.pmu.Unlock()
}

// depthNow is Depth.
func (s *consumer) depthNow() int64 {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	return s.depth
}

// ack is Ack.
func (s *consumer) ack(seqs []uint64) {
	s.amu.Lock()
	for _, seq := range seqs {
		s.mem.done(s.acks.ack(seq), true)
	}
	s.amu.Unlock()
}

// done is Done.
func (s *consumer) done(seq uint64) {
	s.amu.Lock()
	s.mem.done(s.acks.ack(seq), !s.reuse)
	s.amu.Unlock()
}

// keep is Keep.
func (s *consumer) keep(seqs []uint64) {
	if !s.reuse {
		return
	}
	s.amu.Lock()
	for _, seq := range seqs {
		if slab, ok := s.acks.outstandingSlab(seq); ok {
			s.mem.keep(slab)
		}
	}
	s.amu.Unlock()
}

// unacked is Unacked.
func (s *consumer) unacked() int64 {
	s.amu.Lock()
	defer s.amu.Unlock()
	return s.acks.unacked
}

// frontierLocked is where the oldest outstanding record starts, or the
// published read position when none is. Caller holds pmu and amu.
func (s *consumer) frontierLocked() position {
	if _, e, ok := s.acks.frontier(); ok {
		return position{e.file, e.pos}
	}
	return position{s.readFile, s.readPos}
}

// forget drops every outstanding record and its memory (Empty, a cursor's
// reload or Delete): acknowledging one afterwards does nothing.
func (s *consumer) forget() {
	s.amu.Lock()
	s.acks.reset()
	s.mem.forget()
	s.amu.Unlock()
}

// setLocked moves the published state to read position p with depth and
// the FIN progress rp. Caller holds pmu.
func (s *consumer) setLocked(p position, depth int64, rp replay) {
	s.readFile, s.readPos = p.file, p.off
	s.depth = depth
	s.replay = rp
}

// moveReader puts the reader at p with the FIN progress rp, as Open (or
// Empty) leaves it. Caller holds rmu.
func (s *consumer) moveReader(p position, rp replay) {
	r := &s.r
	r.close()
	r.file = p.file
	r.seg.seek(p.off)
	r.replay, r.gap = rp, false
}

// closeReader releases the reader's file and buffer. Caller holds rmu.
func (s *consumer) closeReader() {
	s.r.close()
	s.r.seg.release()
}

// startRead readies the reader for a Read. Caller holds rmu.
func (s *consumer) startRead() *reader {
	r := &s.r
	r.used = true
	r.starts = r.starts[:0]
	return r
}

// tookLocked publishes what a Read took: the read position, the depth
// (less the records returned and the damage skipped), the records' Seqs
// in out[base:], and the FIN progress left. The tracker is updated under
// pmu with the depth, so that a metadata snapshot never sees the records
// in neither place (progressLocked). It returns the frontier, which
// decides what segments the Read released. Caller holds rmu and pmu.
func (s *consumer) tookLocked(out []Record, base int, skipped int64) position {
	r := &s.r
	s.readFile, s.readPos = r.file, r.seg.pos
	moved := int64(len(out)-base) + skipped
	s.depth = max(s.depth-moved, 0)
	s.amu.Lock()
	for i, st := range r.starts {
		out[base+i].Seq = s.acks.push(st)
		s.mem.ref(st.slab)
	}
	s.replay = r.replay
	frontier := s.frontierLocked()
	s.amu.Unlock()
	return frontier
}

// endRead ends a Read of q that returned out[base:] and err, at the tail
// of its records or not, and released segments (the reader left them, or
// acknowledgements did since) or not. At the tail the depth is known to be
// zero (it is exact except after a crash or skipped damage), so a stale
// count is dropped and logged; a Read error is counted. Records left
// behind are signalled. It returns the Read's result: the records, or the
// error when there are none. Caller holds pmu, which endRead releases.
func (s *consumer) endRead(q *Queue, out []Record, base int, err error, atTail, release bool) ([]Record, error) {
	staleDepth := int64(0)
	if atTail && s.depth != 0 {
		staleDepth, s.depth = s.depth, 0
	}
	if !atTail && s.depth <= 0 {
		// The depth is 0 only at the tail. An estimate that ran out
		// before it (a replay after a crash that skipped damage counted
		// out before the crash once more) must not hide the records left:
		// callers read while the depth says there is something to read.
		s.depth = 1
	}
	if err != nil {
		s.stats.ReadErrors++
	}
	s.pmu.Unlock()
	if staleDepth != 0 {
		q.logf("%sdepth %d at the tail, reset to 0", s.who, staleDepth)
	}
	if release {
		q.removeLater() // a log's removes what no cursor needs
	}
	if !atTail {
		s.signal()
	}
	if len(out) > base {
		return out, nil
	}
	return out, err
}

// readStatsLocked fills in the reading end's part of st: depth, read position,
// what is outstanding. Caller holds pmu.
func (s *consumer) readStatsLocked(st *Stats) {
	st.Depth = s.depth
	st.ReadFile, st.ReadPos = s.readFile, s.readPos
	s.amu.Lock()
	st.Unacked = s.acks.unacked
	s.amu.Unlock()
}

// progressLocked is the reading end's part of a metadata snapshot: the
// frontier (read), the depth from there on with the outstanding records
// (which a reopen delivers again), and the FIN progress past the frontier
// (progress.go): readEnd, the furthest the reader got (or the end of what
// a replay still has to go through), and the unfinished records before it,
// the outstanding ones, then the replay's own spans not yet reached. pmu
// and amu are held together so that a concurrent Read, which moves
// records from depth to the tracker under both, is seen whole. Caller
// holds pmu.
func (s *consumer) progressLocked() (read, readEnd position, depth int64, unfinished []span) {
	reader := position{s.readFile, s.readPos}
	read, depth = reader, s.depth
	var ahead []span
	readEnd, ahead = s.replay.remaining(reader)
	s.amu.Lock()
	if _, e, ok := s.acks.frontier(); ok {
		read = position{e.file, e.pos}
		depth += s.acks.unacked
		unfinished = s.acks.unfinishedSpans()
		if readEnd == (position{}) {
			readEnd = reader
		}
	}
	s.amu.Unlock()
	return read, readEnd, depth, append(unfinished, ahead...)
}

// idle gives back what an idle reading end holds, from the periodic sync:
// a tracker a burst left large, and, when no Read ran since the last tick,
// the reader's buffers and read memory. TryLock: never wait for a Read in
// progress.
func (s *consumer) idle() {
	s.amu.Lock()
	s.acks.shrink()
	s.amu.Unlock()
	if s.rmu.TryLock() {
		if !s.r.used {
			s.r.seg.release()
		}
		s.amu.Lock()
		s.mem.trim(!s.r.used)
		s.amu.Unlock()
		s.r.used = false
		s.rmu.Unlock()
	}
}
