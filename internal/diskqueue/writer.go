package diskqueue

import (
	"fmt"
	"os"
	"slices"
	"time"
)

// writer is the append end of the queue. Guarded by Queue.wmu.
type writer struct {
	f        *os.File   // write segment; nil until the first write into it
	file     int64      // write segment number
	pos      int64      // bytes in the write segment (0: header not written yet)
	unsynced int64      // records written since the last fsync
	broken   bool       // the segment may hold bytes past pos: start a new one
	ahead    flushAhead // the background fdatasync (flushahead.go)
	buf      []byte     // encoding buffer, reused across groups
	// wrote: a group was written since the last periodic sync, which drops
	// buf when none was (an idle writer keeps no buffer).
	wrote bool
	// starts is where each record of the group being committed begins, in
	// order; kept only with ReadOnWrite, reused across groups.
	starts []ackEntry
}

// writePiece is how many bytes of a group the writer encodes before it
// writes them out: a large group (a departing consumer's thousands of
// messages going back to disk) is written with several write calls from one
// small buffer instead of being copied whole into a buffer of its size. The
// group's records still become visible to readers only once all of it is
// written (publishWrite), and a failure cuts the segment back to where the
// group began in it, so a failed Put stores nothing either way.
const writePiece = 256 << 10

// maxKeptBuf bounds the encoding buffer kept between groups: one that a
// single large record grew past it is dropped after the group.
const maxKeptBuf = 2 * writePiece

// putReq is one Put call waiting for the writer. done and err are written by
// the goroutine that commits the request and read by its owner, both under
// wmu.
type putReq struct {
	records [][]byte
	batch   Batch // instead of records, from PutBatch
	// framed, instead of records, from PutFramed: its records from to
	// from+n-1, copied framed as they are.
	framed  *Framed
	from, n int
	done    bool
	err     error
	first   uint64 // Seq of the first record, with ReadOnWrite
}

// Put appends records with one write call for the whole batch (two when the
// batch crosses a segment boundary), applies the sync policy and returns once
// the records are written, and fsynced when the policy says so for this
// batch. A record outside [MinMsgSize, MaxMsgSize] fails the whole batch
// before anything is written. Put keeps no reference to records or their
// bytes once it returns, so the caller may reuse them.
//
// With Options.ReadOnWrite the records count as read once written, and
// first is the Seq of the first of them: the batch holds Seqs first to
// first+len(records)-1, to pass to Ack. Otherwise first is 0: a record gets
// its Seq when Read returns it.
//
// Concurrent Puts are committed together (group commit): each caller queues
// its batch, then takes the writer role; the first to get it writes every
// queued batch with one write and at most one fsync, and the others find
// their batch done when their turn comes.
func (q *Queue) Put(records [][]byte) (first uint64, err error) {
	return q.put(putReq{records: records})
}

// Batch is a batch of records that PutBatch encodes straight into the
// writer's buffer: the caller need not gather them into byte slices first
// (for a large batch, a second copy of all of it).
type Batch interface {
	// Len is the number of records.
	Len() int
	// Size is the length of record i.
	Size(i int) int
	// Append appends record i, exactly Size(i) bytes, to dst.
	Append(dst []byte, i int) []byte
}

// PutBatch is Put for a Batch: the same group commit, sync policy, size
// checks and all-or-nothing outcome. The writer calls b's methods, from the
// caller's or another putter's goroutine, only until PutBatch returns.
func (q *Queue) PutBatch(b Batch) (first uint64, err error) {
	return q.put(putReq{batch: b})
}

// len and size read a request's records, given any of the ways.
func (r *putReq) len() int {
	if r.framed != nil {
		return r.n
	}
	if r.batch != nil {
		return r.batch.Len()
	}
	return len(r.records)
}

func (r *putReq) size(i int) int {
	if r.framed != nil {
		return r.framed.recordSize(r.from + i)
	}
	if r.batch != nil {
		return r.batch.Size(i)
	}
	return len(r.records[i])
}

// maxFreeReqs bounds the finished requests a queue keeps for reuse: as many
// as putters commonly wait in one group.
const maxFreeReqs = 16

func (q *Queue) put(in putReq) (first uint64, err error) {
	n := in.len()
	if n == 0 {
		return 0, nil
	}
	lo, hi := int64(q.opts.MinMsgSize), int64(q.opts.MaxMsgSize)
	for i := range n {
		if size := int64(in.size(i)); size < lo || size > hi {
			return 0, fmt.Errorf("diskqueue %s: put: record %d of %d has %d bytes, outside [%d, %d]: %w",
				q.opts.Name, i+1, n, size, lo, hi, ErrRecordSize)
		}
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return 0, ErrClosed
	}
	// The request waits in pending, where the group's leader reaches it
	// from another goroutine, so it lives on the heap: a finished one is
	// reused rather than one allocated per put.
	var req *putReq
	if k := len(q.freeReqs); k > 0 {
		req = q.freeReqs[k-1]
		q.freeReqs = q.freeReqs[:k-1]
	} else {
		req = new(putReq)
	}
	*req = in
	q.pending = append(q.pending, req)
	q.mu.Unlock()

	q.wmu.Lock()
	defer q.wmu.Unlock()
	// Runs before wmu's release, once the results are read: the leader that
	// finished req did so under wmu and dropped its group, so nothing else
	// refers to req now.
	defer q.freeReq(req)
	if req.done {
		return req.first, req.err
	}
	q.mu.Lock()
	group := q.pending
	q.pending = q.spare
	closed := q.closed
	unread := q.readFile != q.writeFile || q.readPos != q.writePos
	q.mu.Unlock()

	switch {
	case closed:
		err = ErrClosed
	case q.opts.ReadOnWrite && unread:
		err = fmt.Errorf("diskqueue %s: put: %w", q.opts.Name, ErrUnread)
	case q.opts.ReadOnWrite:
		// Holding the reader role across the commit: no Read may see the
		// records between their publication and markRead.
		q.rmu.Lock()
		if err = q.commit(group); err == nil {
			q.markRead(group)
		}
		q.rmu.Unlock()
	default:
		err = q.commit(group)
	}
	for _, g := range group {
		g.done, g.err = true, err
	}
	clear(group)
	q.spare = group[:0]
	return req.first, err
}

// freeReq keeps a finished request for the next put, without the caller's
// records.
func (q *Queue) freeReq(req *putReq) {
	*req = putReq{}
	q.mu.Lock()
	if len(q.freeReqs) < maxFreeReqs {
		q.freeReqs = append(q.freeReqs, req)
	}
	q.mu.Unlock()
}

// markRead hands out the Seqs of a ReadOnWrite group just committed and
// moves the reader past it, as if Read had returned every record. Put
// checked before writing that the reader was at the end, so the records are
// exactly those between its position and the new end. Caller holds wmu and
// rmu.
func (q *Queue) markRead(group []*putReq) {
	w := &q.w
	r := &q.r
	if r.file != w.file {
		r.close()
		r.file = w.file
	}
	r.seg.seek(w.pos)
	r.seg.setLimit(w.pos)
	q.mu.Lock()
	q.readFile, q.readPos = r.file, w.pos
	q.amu.Lock()
	i := 0
	for _, g := range group {
		for range g.len() {
			seq := q.acks.push(w.starts[i])
			if g.first == 0 {
				g.first = seq
			}
			i++
		}
	}
	keepFrom := q.frontierLocked().file
	q.amu.Unlock()
	release := q.removeFrom < keepFrom
	q.mu.Unlock()
	clear(w.starts)
	w.starts = w.starts[:0]
	if release {
		// Segments whose records were all acknowledged since the last
		// write: nothing reads this queue to remove them.
		q.removeAcked()
	}
}

// commit writes every record of group and publishes the new write position.
// Caller holds wmu.
func (q *Queue) commit(group []*putReq) (err error) {
	w := &q.w
	var written int64 // records written (and synced where the policy asked)
	defer func() { q.publishWrite(written, err) }()

	q.prepareWriteFile()
	startFile, startPos := w.file, w.pos
	defer func() {
		// A group is stored or refused whole: its callers are all told the
		// same error, so chunks already sealed into earlier segments must
		// not be delivered either.
		if err != nil && w.file != startFile {
			q.rollBack(startFile, startPos)
			written = 0
		}
	}()
	// Grown once to what the group needs, up to a piece: a large group
	// would otherwise leave a trail of doubled buffers.
	size := int64(segHeaderSize)
	for _, req := range group {
		for i := range req.len() {
			size += int64(recHeaderSize + req.size(i))
		}
	}
	piece := q.writePiece
	buf := slices.Grow(w.buf[:0], int(min(size, piece, q.opts.MaxBytesPerFile)))
	w.wrote = true
	defer func() {
		if cap(buf) <= maxKeptBuf {
			w.buf = buf[:0]
		} else {
			w.buf = nil
		}
	}()
	segStart := w.pos // where this group began in the write segment
	var inSeg int64   // records of this group in the write segment
	for _, req := range group {
		for i := range req.len() {
			size := int64(recHeaderSize + req.size(i))
			end := w.pos + int64(len(buf))
			switch {
			case end > segHeaderSize && end+size > q.opts.MaxBytesPerFile:
				// Records never straddle segments: finish this one (synced,
				// so that every sealed segment is durable) and roll over.
				if err = q.flushChunk(buf, segStart, inSeg, true); err != nil {
					return err
				}
				written += inSeg
				buf, inSeg = buf[:0], 0
				q.advanceWriteFile()
				end, segStart = 0, 0
			case len(buf) > 0 && int64(len(buf))+size > piece:
				// A piece is full: out it goes, unsynced and not yet
				// visible to readers.
				if err = q.flushChunk(buf, segStart, 0, false); err != nil {
					return err
				}
				buf = buf[:0]
			}
			if end == 0 {
				buf = appendSegmentHeader(buf)
			}
			if q.opts.ReadOnWrite {
				w.starts = append(w.starts, ackEntry{file: w.file, pos: w.pos + int64(len(buf))})
			}
			if req.framed != nil {
				// Framed once for every queue it goes to (framed.go).
				buf = append(buf, req.framed.framed(req.from+i)...)
			} else if buf, err = appendRecordOf(buf, req, i); err != nil {
				if w.pos != segStart {
					q.unwrite(segStart) // the group's pieces written so far
				}
				return fmt.Errorf("diskqueue %s: %w", q.opts.Name, err)
			}
			inSeg++
		}
	}
	sync := w.unsynced+inSeg >= q.opts.SyncEvery
	if err = q.flushChunk(buf, segStart, inSeg, sync); err != nil {
		return err
	}
	written += inSeg
	return nil
}

// flushChunk writes buf at the end of the write segment with one call,
// counts n more unsynced records (those of the group written into this
// segment so far, once its last piece is out), then fsyncs if sync is set.
// On failure the segment is cut back to from, where the group began in it
// (its earlier pieces were written too), so that records whose Put failed
// are not delivered.
func (q *Queue) flushChunk(buf []byte, from, n int64, sync bool) error {
	w := &q.w
	if len(buf) == 0 {
		if sync && w.unsynced > 0 {
			return q.syncWriteFile()
		}
		return nil
	}
	if w.f == nil {
		if err := q.openWriteFile(); err != nil {
			return err
		}
	}
	if _, err := w.f.WriteAt(buf, w.pos); err != nil {
		q.unwrite(from)
		return err // an *os.PathError: it names the file already
	}
	w.pos += int64(len(buf))
	w.unsynced += n
	if sync {
		if err := q.syncWriteFile(); err != nil {
			// After a failed fsync the kernel may already have dropped the
			// dirty pages: the chunk's fate is unknown, so remove it.
			w.unsynced -= n
			q.unwrite(from)
			return err
		}
		return nil
	}
	q.maybeFlushAhead()
	return nil
}

// rollBack undoes a commit that failed after it had sealed chunks into
// segments before the current one: the segments it created are removed and
// the segment it started in is cut back to where the commit began, and that
// cut is fsynced (the sealed chunk was, and must not come back after a
// crash). If the cut fails, the segment is abandoned as in unwrite. Caller
// holds wmu; readers never saw the commit's records (publishWrite comes
// after).
func (q *Queue) rollBack(file, pos int64) {
	w := &q.w
	q.closeWriteFile()
	for n := w.file; n > file; n-- {
		path := segmentPath(q.opts.Dir, q.opts.Name, n)
		if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() {
			if err := os.Remove(path); err != nil {
				q.logf("cannot remove %s after a failed write: %s", path, err)
			}
		}
	}
	if err := syncDir(q.opts.Dir); err != nil {
		q.logf("after a failed write: %s", err)
	}
	w.file, w.pos, w.unsynced, w.broken, w.ahead.from, w.ahead.ran = file, pos, 0, false, pos, false
	if pos == 0 {
		// The commit began a segment of its own: nothing before it to keep.
		path := segmentPath(q.opts.Dir, q.opts.Name, file)
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			q.logf("cannot remove %s after a failed write: %s", path, err)
			w.broken = true
		} else if err := syncDir(q.opts.Dir); err != nil {
			q.logf("after a failed write: %s", err)
		}
		return
	}
	path := segmentPath(q.opts.Dir, q.opts.Name, file)
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err == nil {
		w.f = f
		if err = f.Truncate(pos); err == nil {
			err = fdatasync(f)
		}
	}
	if err != nil {
		q.logf("cannot cut %s back to %d after a failed write, starting a new segment: %s", path, pos, err)
		w.broken = true
	}
}

// unwrite truncates the write segment back to pos after a failed write. If
// even that fails, the segment is abandoned: the next write starts a new
// one, and the reader treats the stray bytes as damage.
func (q *Queue) unwrite(pos int64) {
	w := &q.w
	w.pos = pos
	w.ahead.from = min(w.ahead.from, pos)
	aheadRan := q.waitFlushAhead()
	err := w.f.Truncate(pos)
	if err == nil && aheadRan {
		// A flush ahead (flushahead.go) may have put bytes past pos on the
		// device: the cut must get there too, or a crash would bring back
		// records whose Put failed.
		err = w.ahead.syncFunc()(w.f)
	}
	if err != nil {
		q.logf("cannot truncate %s back to %d after a failed write, starting a new segment: %s", w.f.Name(), pos, err)
		w.broken = true
	}
}

// prepareWriteFile settles which segment a commit appends to, before the
// commit encodes anything (a new segment needs its header first in the
// buffer): it leaves a broken segment, and reopens the segment recovered at
// Open, or leaves it too if it cannot be opened.
func (q *Queue) prepareWriteFile() {
	w := &q.w
	if w.broken {
		// Seal what the abandoned segment holds up to pos as well as we can;
		// its stray tail is left to the reader's damage handling.
		if err := q.syncWriteFile(); err != nil {
			q.logf("abandoning %s: %s", w.f.Name(), err)
		}
		q.advanceWriteFile()
	}
	if w.f == nil && w.pos > 0 {
		path := segmentPath(q.opts.Dir, q.opts.Name, w.file)
		f, err := os.OpenFile(path, os.O_RDWR, 0o600)
		if err != nil {
			// What the segment held is out of reach, but the queue keeps
			// working in a new segment.
			q.logf("write segment %s unusable, starting a new segment: %s", path, err)
			q.advanceWriteFile()
			return
		}
		w.f = f
	}
}

// openWriteFile creates a new write segment (pos is 0).
func (q *Queue) openWriteFile() error {
	w := &q.w
	path := segmentPath(q.opts.Dir, q.opts.Name, w.file)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create segment: %w", err)
	}
	// A leftover of a failed creation holds nothing anyone was told is
	// stored: start empty.
	if err := f.Truncate(0); err != nil {
		f.Close()
		return fmt.Errorf("create segment %s: %w", path, err)
	}
	// The new directory entry must be durable before an fsync of the file
	// can promise that its records survive.
	if err := syncDir(q.opts.Dir); err != nil {
		f.Close()
		return err
	}
	w.f = f
	return nil
}

// advanceWriteFile closes the write segment and moves to the next number;
// the new file is created by the next write.
func (q *Queue) advanceWriteFile() {
	q.closeWriteFile()
	w := &q.w
	w.file, w.pos, w.unsynced, w.broken, w.ahead.from, w.ahead.ran = w.file+1, 0, 0, false, 0, false
}

func (q *Queue) closeWriteFile() {
	if err := q.takeFlushAheadErr(); err != nil && q.w.f != nil {
		// Only a failing commit or Close leaves a file without a policy
		// fsync after its flush ahead: the records are not promised.
		q.logf("%s: %s", q.w.f.Name(), err)
	}
	if q.w.f != nil {
		if err := q.w.f.Close(); err != nil {
			q.logf("close %s: %s", q.w.f.Name(), err)
		}
		q.w.f = nil
	}
}

// syncWriteFile fsyncs the write segment. Caller holds wmu.
func (q *Queue) syncWriteFile() error {
	w := &q.w
	aheadErr := q.takeFlushAheadErr()
	if w.f == nil {
		w.unsynced = 0
		return nil
	}
	start := time.Now()
	w.ahead.from = w.pos
	err := fdatasync(w.f)
	if err == nil && aheadErr != nil {
		err = aheadErr // the write-back error this fsync no longer sees
	}
	if q.opts.SyncObserver != nil {
		q.opts.SyncObserver(time.Since(start))
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", w.f.Name(), err)
	}
	w.unsynced, w.ahead.ran = 0, false
	q.mu.Lock()
	q.stats.Syncs++
	q.mu.Unlock()
	return nil
}

// publishWrite makes the records of a commit visible to readers and updates
// health. Caller holds wmu.
func (q *Queue) publishWrite(written int64, err error) {
	if q.opts.ReadOnWrite {
		// The records are read already (markRead), not waiting in depth.
		if err != nil {
			clear(q.w.starts)
			q.w.starts = q.w.starts[:0]
		}
		written = 0
	}
	q.mu.Lock()
	q.writeFile, q.writePos = q.w.file, q.w.pos
	if q.opts.Log {
		// A log's records are its cursors' (cursor.go), counted in
		// theirs under mu with the write end they lie below.
		if written > 0 {
			q.publishToCursors(written)
		}
		written = 0
	}
	q.depth += written
	if err != nil {
		q.stats.WriteErrors++
		q.stats.Health = err
	} else {
		q.stats.Health = nil
	}
	q.mu.Unlock()
	if written > 0 {
		q.signal()
	}
}
