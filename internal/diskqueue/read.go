package diskqueue

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// reader is the consuming end of the queue. Guarded by Queue.rmu.
type reader struct {
	file   int64    // segment being read
	f      *os.File // nil until opened
	seg    segReader
	sealed bool // file is below the write segment: its size is final
	used   bool // a Read ran since the last idle check
	spans  [][]byte
	starts []ackEntry // where each record of the Read in progress starts
	// replay skips the records finished before the last crash or Close
	// (progress.go); published to Queue.replay at the end of each Read.
	replay replay
	// gap: something was skipped since the last record returned, so the
	// next one must not share a span with it.
	gap bool
}

func (r *reader) close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	r.sealed = false
}

// Record is one record as it was Put.
type Record struct {
	// Data is owned by the caller. Records returned by one Read call share
	// backing arrays (each slice is capped at its own length, so appending
	// to one never overwrites another); keeping any of them keeps its array
	// alive. With Options.ReuseReads, Data must not be used after the record
	// is passed to Done: its memory may then be overwritten by a later Read
	// (Ack and Keep leave it to the caller for good).
	Data []byte
	// Legacy is true for a record read from a segment written by upstream
	// nsqd, whose payload uses upstream's message layout.
	Legacy bool
	// Seq identifies the record to Ack. Seqs increase by one per record
	// returned, from 1 at Open (they restart with every Open, so a seq from
	// before a reopen must not be acknowledged to the new queue); 0 is never
	// a seq.
	Seq uint64
}

// Read returns up to maxRecords records without blocking; nil, nil when there is
// nothing to read. It stops early once the records read hold maxReadBytes
// of Data (readmem.go), returning at least one record however big.
// Damaged data met on the way is skipped (see FORMAT.md, "Damage"), copied
// to a side file, logged and counted.
//
// A returned record leaves Depth and is outstanding (Unacked) until its Seq
// is passed to Ack. The persisted read position never passes an outstanding
// record: after a crash, or a Close, every record outstanding at the last
// metadata write is delivered again, together with those acknowledged
// after it (at-least-once; see FORMAT.md, "Acknowledgements and
// redelivery"). Every record read must eventually be acknowledged,
// including one the caller cannot use: until then its segment and all
// later ones stay on disk.
//
// An I/O error is returned only when no record was read before it; the
// position does not move past unread bytes, so the next call retries.
func (q *Queue) Read(maxRecords int) ([]Record, error) {
	return orNil(q.ReadAppend(nil, maxRecords))
}

// orNil is Read's result from ReadAppend's: nil when no record was read.
func orNil(out []Record, err error) ([]Record, error) {
	if len(out) == 0 {
		return nil, err
	}
	return out, err
}

// ReadAppend is Read appending to dst: a caller that reuses dst reads
// without allocating (with Options.ReuseReads; Record.Data). It returns dst
// as it was when nothing was read.
func (q *Queue) ReadAppend(dst []Record, maxRecords int) ([]Record, error) {
	if maxRecords <= 0 {
		return dst, nil
	}
	q.rmu.Lock()
	defer q.rmu.Unlock()
	closed, write := q.writeEnd()
	if closed {
		return dst, ErrClosed
	}
	if q.opts.Log {
		return dst, errLogRead
	}
	q.startRead()
	base := len(dst)
	readBytes := 0
	out, skipped, err := q.readRun(&q.consumer, write.file, write.off, dst, base, maxRecords, &readBytes)

	q.mu.Lock()
	keepFrom := q.tookLocked(out, base, skipped).file
	// Segments left behind by the reader, or released by acks since.
	release := q.removeFrom < keepFrom
	atTail := q.readFile == q.writeFile && q.readPos == q.writePos
	return q.endRead(q, out, base, err, atTail, release)
}

// readRun reads records of the reading end rs (the Queue's, or a
// Cursor's) up to the write end wf,wp (or a cursor's interval end) into
// out, until out holds maxRecords records past base or the records read
// hold maxReadBytes (readBytes carries the count across the runs of one
// Read). The records' tracker entries are appended to rs.r.starts, one per
// record of out[base:], for the caller to register (tookLocked). Caller
// holds rs.rmu.
func (q *Queue) readRun(rs *consumer, wf, wp int64, out []Record, base, maxRecords int, readBytes *int) (_ []Record, skipped int64, err error) {
	r := &rs.r
	spans := r.spans[:0]
	flush := func() {
		from := len(out) - base
		out = q.appendRecords(rs, out, spans, r.starts[from:from+len(spans)], r.seg.format == formatLegacy, maxRecords)
		clear(spans)
		spans = spans[:0]
	}
	// big reads a big record only partly buffered straight into its own
	// memory (readBig), reporting whether it took the next record: the
	// spans so far go first, since the read reuses the buffer they point
	// into. A record finished before the last crash or Close (replay) is
	// read and dropped, so that the buffer never has to hold it.
	big := func() bool {
		h, ok := r.seg.bigNext(maxSlab)
		if !ok {
			return false
		}
		flush()
		start, data, slabID, ok := q.readBig(rs, h)
		if !ok {
			return false
		}
		if r.replay.finished(position{r.file, start}) {
			// Not delivered again, not counted in depth, as in the
			// parse path below; its memory is free at once.
			q.untakeBig(rs, slabID)
			r.gap = true
			return true
		}
		*readBytes += len(data)
		r.starts = appendStart(r.starts, r.file, start, r.gap)
		r.starts[len(r.starts)-1].slab = slabID
		r.gap = false
		out = appendRecord1(out, data, false)
		return true
	}
loop:
	for len(out)-base+len(spans) < maxRecords && *readBytes < maxReadBytes {
		if r.file > wf || (r.file == wf && r.seg.pos >= wp) {
			break
		}
		if r.f == nil {
			if err = q.openReadFile(rs, wf, wp); err != nil {
				break
			}
			continue
		}
		if !r.sealed {
			if r.file < wf {
				// The writer has moved on: this segment is final.
				if err = sealReadFile(r); err != nil {
					break
				}
			} else if r.seg.limit < wp && !r.seg.short {
				r.seg.setLimit(wp)
			}
		}
		if !r.replay.active() {
			// The common case, an intact record wholly buffered, without
			// building an item: returned by value (nine words) and copied,
			// the item cost more than the checks (reader.go, nextIntact).
			if start, data, ok := r.seg.nextIntact(); ok {
				spans = append(spans, data)
				*readBytes += len(data)
				r.starts = appendStart(r.starts, r.file, start, r.gap)
				r.gap = false
				continue
			}
		}
		if big() {
			continue
		}
		it := r.seg.parse()
		switch it.kind {
		case itemRecord:
			if r.replay.finished(position{r.file, it.start}) {
				// Finished before the crash or Close: not delivered again,
				// not counted in depth (the metadata's depth excluded it).
				r.gap = true
				continue
			}
			spans = append(spans, it.data)
			*readBytes += len(it.data)
			// The record's own start, not the position before the item:
			// redelivery must not re-skip damage that preceded it.
			r.starts = appendStart(r.starts, r.file, it.start, r.gap)
			r.gap = false
		case itemNeedMore:
			flush() // a fill may move the buffered bytes the spans point at
			// Parse may have passed a segment header or damage to a big
			// record's header and asked for the record whole: a fill would
			// grow the buffer to it (for records over the buffer's size)
			// and copy it out. readBig reads it into its memory instead.
			if big() {
				continue
			}
			if err = r.seg.fill(); err != nil {
				err = fmt.Errorf("read %s: %w", r.f.Name(), err)
				break loop
			}
		case itemDamage:
			r.gap = true
			skipped += it.records
			q.skipDamage(r.f, r.file, it, rs.countDamage)
		case itemEnd:
			if r.sealed {
				flush()
				finishReadFile(r)
				continue
			}
			if r.seg.short && r.seg.pos < wp {
				// The write segment is shorter than what was written to it:
				// something outside the queue truncated it.
				q.skipDamage(nil, r.file, item{start: r.seg.pos, end: wp, records: 1,
					reason: "segment shorter than the data written to it"}, rs.countDamage)
				skipped++
				r.seg.seek(wp)
			}
			break loop
		}
	}
	flush()
	r.spans = spans
	return out, skipped, err
}

// readBig reads the big record whose header h the reader rs has buffered
// (segReader.bigNext) into memory of its own: with Options.ReuseReads a
// big slab of the read memory (slabID names it, 0 for memory that is not
// reused), else a new array. ok false: the record was not read (damage, a
// short file, an error), the memory went back, and parse decides. Caller
// holds rs.rmu.
func (q *Queue) readBig(rs *consumer, h recordHeader) (start int64, data []byte, slabID uint32, ok bool) {
	n := int(h.length)
	var s *slab
	var dst []byte
	if q.opts.ReuseReads && n <= maxReused {
		rs.amu.Lock()
		s = rs.mem.take(n, n)
		rs.amu.Unlock()
		dst = s.buf[:0]
	} else {
		// Room for the next record's header too (segReader.readBig).
		dst = make([]byte, 0, n+recHeaderSize)
	}
	start, data, ok = rs.r.seg.readBig(h, dst)
	if s == nil {
		return start, data, 0, ok
	}
	if !ok {
		rs.amu.Lock()
		rs.mem.untake(s)
		rs.amu.Unlock()
		return 0, nil, 0, false
	}
	s.buf = s.buf[:n]
	return start, data, s.id, true
}

// untakeBig gives back the slab (id, 0 for memory not reused) of a record
// readBig read and Read does not return: it is free again at once. Caller
// holds rs.rmu.
func (q *Queue) untakeBig(rs *consumer, id uint32) {
	if id == 0 {
		return
	}
	rs.amu.Lock()
	rs.mem.untake(rs.mem.live[id-1])
	rs.amu.Unlock()
}

// appendStart appends the tracker entry of a record starting at pos of
// segment file. Its fields are stored one by one into the slice: appending
// an ackEntry literal builds it on the stack first and copies it with wider
// loads than the stores that built it, a store-forwarding stall that cost
// more than the rest of the append (perf annotate of BenchmarkReadDone).
func appendStart(starts []ackEntry, file, pos int64, afterGap bool) []ackEntry {
	starts = grow1(starts)
	e := &starts[len(starts)-1]
	e.file, e.pos, e.slab, e.acked, e.afterGap = file, pos, 0, false, afterGap
	return starts
}

// grow1 returns s one element longer; the new element's fields are the
// caller's to set (it may hold an old value when s is reused).
func grow1[T any](s []T) []T {
	if len(s) < cap(s) {
		return s[:len(s)+1]
	}
	var zero T
	return append(s, zero)
}

// appendRecords copies the spans (which alias the read buffer) into memory
// of their own and appends them to out as Records: one new array, or with
// Options.ReuseReads slabs of the queue's read memory (readmem.go), whose
// ids it sets in the records' tracker entries, starts. Called under rmu.
func (q *Queue) appendRecords(rs *consumer, out []Record, spans [][]byte, starts []ackEntry, legacy bool, maxRecords int) []Record {
	if len(spans) == 0 {
		return out
	}
	total := 0
	for _, s := range spans {
		total += len(s)
	}
	if out == nil {
		out = make([]Record, 0, min(maxRecords, 1024))
	}
	if !q.opts.ReuseReads {
		buf := make([]byte, total)
		off := 0
		for _, s := range spans {
			n := copy(buf[off:], s)
			out = appendRecord1(out, buf[off:off+n:off+n], legacy)
			off += n
		}
		return out
	}
	var cur *slab
	left := 0 // bytes of the small spans not yet copied
	for _, s := range spans {
		if len(s) <= maxSlab {
			left += len(s)
		}
	}
	for i, s := range spans {
		if len(s) > maxSlab {
			if len(s) > maxReused {
				// Larger than any slab: memory of its own, never reused.
				out = appendRecord1(out, bytes.Clone(s), legacy)
				continue
			}
			// A big slab of its own; the small slab being filled, if
			// any, stays open for the records after it.
			rs.amu.Lock()
			big := rs.mem.take(len(s), len(s))
			rs.amu.Unlock()
			big.buf = append(big.buf, s...)
			out = appendRecord1(out, big.buf[:len(s):len(s)], legacy)
			starts[i].slab = big.id
			continue
		}
		if cur == nil || len(cur.buf)+len(s) > cap(cur.buf) {
			rs.amu.Lock()
			cur = rs.mem.take(min(left, maxSlab), len(s))
			rs.amu.Unlock()
		}
		off := len(cur.buf)
		cur.buf = append(cur.buf, s...)
		out = appendRecord1(out, cur.buf[off:len(cur.buf):len(cur.buf)], legacy)
		starts[i].slab = cur.id
		left -= len(s)
	}
	return out
}

// appendRecord1 appends a Record of data to out, its Seq left for the
// caller, field by field for the reason appendStart gives.
func appendRecord1(out []Record, data []byte, legacy bool) []Record {
	out = grow1(out)
	r := &out[len(out)-1]
	r.Data, r.Legacy, r.Seq = data, legacy, 0
	return out
}

// openReadFile opens the segment the reader is positioned in. A segment that
// does not exist is skipped: it was consumed and removed after the metadata
// was last written, or lost.
func (q *Queue) openReadFile(rs *consumer, wf, wp int64) error {
	r := &rs.r
	path := segmentPath(q.opts.Dir, q.opts.Name, r.file)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		if r.file < wf {
			q.logf("segment %s is missing, moving on to the next", path)
			r.file++
			r.seg.seek(0)
			return nil
		}
		// The write segment itself is gone: nothing to read up to wp.
		q.skipDamage(nil, r.file, item{start: r.seg.pos, end: wp, records: 1, reason: "write segment is missing"}, rs.countDamage)
		r.seg.seek(wp)
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	fm, err := sniffFormat(f, r.file < q.legacyEnd)
	if err != nil {
		f.Close()
		return fmt.Errorf("read header of %s: %w", path, err)
	}
	r.f = f
	r.seg.reset(f, fm, q.bounds, r.seg.pos, wp)
	r.seg.fitChunk = true // big records go to readBig, not the buffer
	r.sealed = false
	if r.file < wf {
		return sealReadFile(r)
	}
	return nil
}

// sealReadFile fixes the read limit of a segment the writer has left at the
// file's final size.
func sealReadFile(r *reader) error {
	fi, err := r.f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", r.f.Name(), err)
	}
	r.seg.setLimit(fi.Size())
	r.sealed = true
	return nil
}

// finishReadFile moves on from a fully read segment. The segment itself is
// removed by removeAcked once its records are all acknowledged.
func finishReadFile(r *reader) {
	r.close()
	r.file++
	r.seg.seek(0)
}

// skipDamage records a damaged region: its bytes go to a side file (when src
// can still provide them), a log line says what was skipped, and the
// counters grow (count, nil for none). It never fails: damage must not stop
// the queue.
func (q *Queue) skipDamage(src io.ReaderAt, seg int64, it item, count func(records, bytes int64)) {
	size := it.end - it.start
	kept := "not kept (no bytes to copy)"
	if src != nil && size > 0 {
		side := filepath.Join(q.opts.Dir, damagedFileName(q.opts.Name, seg, it.start))
		if err := copyRange(side, src, it.start, size); err != nil {
			kept = fmt.Sprintf("not kept: %s", err)
		} else {
			kept = "kept in " + side
		}
	}
	q.logf("%s at offset %d of %s: skipped %d bytes (%d records at least), %s",
		it.reason, it.start, segmentFileName(q.opts.Name, seg), size, it.records, kept)
	if count != nil {
		count(it.records, size)
	}
}

// copyRange copies size bytes at off of src into a new file at path.
func copyRange(path string, src io.ReaderAt, off, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, io.NewSectionReader(src, off, size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
