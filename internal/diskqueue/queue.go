package diskqueue

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Queue is a durable FIFO of opaque records. Create it with Open.
type Queue struct {
	opts     Options
	bounds   bounds
	metaPath string
	stop     chan struct{} // closed by Close/Delete to stop syncLoop and removeLoop
	loops    sync.WaitGroup
	// removeKick asks removeLoop to remove the segments a Read released
	// (capacity 1: kicks while one is pending add nothing). removing is
	// held by removeLoop while it removes, so that a test can wait for it.
	removeKick chan struct{}
	removing   sync.Mutex

	// legacyEnd is fixed at Open: segments below it may be upstream's.
	legacyEnd int64

	wmu sync.Mutex // writer role; see the lock order in doc.go
	w   writer
	// writePiece is the bytes a commit encodes before writing them
	// (writer.go's writePiece; a test sets it smaller).
	writePiece int64
	spare      []*putReq // recycled pending slice; guarded by wmu

	rmu sync.Mutex // reader role: consumer.r
	// consumer is the queue's reading end (consumer.go): the reader under
	// rmu, the published read state under mu, and the records read and
	// not yet acknowledged under amu. A log (Options.Log) does not read
	// through it: its cursors each have their own. Its read position is
	// then the lowest segment the cursors keep (removeForCursors).
	consumer

	mu       sync.Mutex
	closed   bool
	pending  []*putReq // batches waiting for the writer
	freeReqs []*putReq // finished requests kept for the next puts (writer.go)
	// published write position: readers never look past it
	writeFile, writePos int64
	removeFrom          int64 // lowest segment number that may still need removing

	amu sync.Mutex // records read and not yet acknowledged: consumer.acks, consumer.mem

	saved meta // the metadata last written; guarded by wmu

	// Options.Log (cursor.go). lmu guards cursors (nil until Open has
	// loaded them), logFrom (the lowest segment removal has not claimed),
	// logGone (segments above it removed already) and needs (scratch).
	lmu     sync.Mutex
	cursors map[string]*Cursor
	logFrom int64
	logGone map[int64]struct{}
	needs   [][2]int64
	// tailRecords is how many records Open's recovery found past the
	// metadata's write end; guarded by wmu.
	tailRecords int64
}

// Open opens (or creates) the queue opts.Name in opts.Dir, recovering from
// whatever a crash or an upstream nsqd left there; see FORMAT.md for the
// recovery rules. It fails only on I/O errors and on data written by a newer
// format version; damage is skipped, logged and counted instead.
func Open(opts Options) (*Queue, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("diskqueue %s: open: %w", opts.Name, err)
	}
	q := &Queue{
		opts:       opts,
		bounds:     boundsFor(opts),
		metaPath:   filepath.Join(opts.Dir, metaFileName(opts.Name)),
		stop:       make(chan struct{}),
		removeKick: make(chan struct{}, 1),

		writePiece: writePiece,
	}
	q.consumer.init(&q.rmu, &q.mu, &q.amu, opts, "")
	if err := q.recover(); err != nil {
		q.closeWriteFile()
		return nil, fmt.Errorf("diskqueue %s: open: %w", opts.Name, err)
	}
	if opts.Log {
		files, err := listQueueFiles(opts.Dir, opts.Name)
		if err == nil {
			err = q.loadCursors(files.cursors)
		}
		if err != nil {
			q.closeWriteFile()
			return nil, fmt.Errorf("diskqueue %s: open: %w", opts.Name, err)
		}
	} else if q.readable() {
		q.signal()
	}
	q.loops.Add(2)
	go q.syncLoop()
	go q.removeLoop()
	return q, nil
}

// Ready is signalled whenever records become readable: after a Put, at Open
// when records are waiting, and after a Read that left records behind. A
// consumer waits on it, then calls Read until it returns no records.
func (q *Queue) Ready() <-chan struct{} { return q.ready }

// readable reports whether a Read would find something (or damage to skip).
func (q *Queue) readable() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.readFile < q.writeFile || q.readPos < q.writePos
}

// Depth is the number of records written and not yet read. After a crash it
// is an estimate until the reader reaches the end of the queue (FORMAT.md,
// "Depth").
func (q *Queue) Depth() int64 { return q.depthNow() }

// Stats returns a snapshot of the queue's counters and positions.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.stats
	s.WriteFile, s.WritePos = q.writeFile, q.writePos
	q.readStatsLocked(&s)
	return s
}

// writeEnd is the published write end, and whether the queue is closed.
func (q *Queue) writeEnd() (closed bool, write position) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed, position{q.writeFile, q.writePos}
}

func (q *Queue) logf(format string, args ...any) {
	q.opts.Logf("DISKQUEUE(%s): "+format, append([]any{q.opts.Name}, args...)...)
}

// Sync fsyncs written records, persists the metadata now, and removes the
// segments that acknowledgements have released: once it returns they are
// gone, including those a removeLoop pass had claimed before Sync's own
// removal found them taken.
func (q *Queue) Sync() error {
	if err := q.syncMeta(); err != nil {
		return err
	}
	// removing is taken alone (the lock order in doc.go), after wmu: this
	// waits for a removeLoop pass still unlinking what it claimed.
	q.removing.Lock()
	defer q.removing.Unlock()
	q.removeAcked()
	return nil
}

// syncMeta is Sync's part under the writer role.
func (q *Queue) syncMeta() error {
	q.wmu.Lock()
	defer q.wmu.Unlock()
	q.mu.Lock()
	closed := q.closed
	q.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return q.persistMeta()
}

// syncLoop enforces SyncTimeout: written records are fsynced and changed
// metadata (a write, a read, an acknowledgement that moved the frontier) is
// persisted at least that often.
func (q *Queue) syncLoop() {
	defer q.loops.Done()
	t := time.NewTicker(q.opts.SyncTimeout)
	defer t.Stop()
	for {
		select {
		case <-q.stop:
			return
		case <-t.C:
			q.tick()
		}
	}
}

// removeLoop removes the segments Reads released (removeAcked), off the
// reader's path. Removing a segment is unlinking a file whose page cache
// the kernel then frees: about 8 ms for a 100 MB segment, during which a
// Read that removed it itself returned nothing to deliver, and nsqd's
// consumer waited (README, "Disk backlog read: big records straight into
// their memory"). What is removed, and when it may be, is unchanged:
// removeAcked decides under mu, as it does for the periodic sync and the
// writer, which still remove in line; Close removes what is left.
func (q *Queue) removeLoop() {
	defer q.loops.Done()
	for {
		select {
		case <-q.stop:
			return
		case <-q.removeKick:
			q.removing.Lock()
			q.removeAcked()
			q.removing.Unlock()
		}
	}
}

// removeLater asks removeLoop to remove released segments.
func (q *Queue) removeLater() {
	select {
	case q.removeKick <- struct{}{}:
	default: // one is pending: it will see these too
	}
}

func (q *Queue) tick() {
	q.wmu.Lock()
	defer q.wmu.Unlock()
	q.mu.Lock()
	closed := q.closed
	q.mu.Unlock()
	if closed {
		return
	}
	if q.w.unsynced > 0 || !q.snapshot().equal(q.saved) || q.opts.Log && q.cursorsChanged() {
		if err := q.persistMeta(); err != nil {
			q.logf("periodic sync: %s", err)
		}
	}
	// An idle writer gives its encoding buffer back (a queue that was
	// published to and is now only consumed holds no write memory).
	if !q.w.wrote {
		q.w.buf = nil
	}
	q.w.wrote = false
	// An idle reader gives its buffers back; a busy one keeps them.
	q.idle()
	if q.opts.Log {
		q.tickCursors()
	}
}

// snapshot is the metadata that describes the queue now. Its read position
// is the frontier: the oldest record read and not acknowledged, or the next
// record to read when none is outstanding; its depth counts every record
// from there on, outstanding ones included, since a reopened queue delivers
// them again. Past the frontier it records FIN progress (progress.go;
// consumer.progressLocked). A reopened queue delivers only the unfinished
// records before readEnd, so depth counts only them.
func (q *Queue) snapshot() meta {
	q.mu.Lock()
	defer q.mu.Unlock()
	m := meta{
		writeFile: q.writeFile, writePos: q.writePos,
		legacyEnd: q.legacyEnd,
	}
	var read position
	read, m.readEnd, m.depth, m.unfinished = q.progressLocked()
	m.readFile, m.readPos = read.file, read.off
	return m
}

// persistMeta fsyncs written records, then writes the metadata, then removes
// the segments that acknowledgements released. Data first: the metadata must
// never name a write position beyond durable data, since recovery scans
// forward from it. Caller holds wmu.
func (q *Queue) persistMeta() error {
	var err error
	if q.w.unsynced > 0 {
		err = q.syncWriteFile()
	}
	if err == nil && q.opts.Log {
		// Before the queue's own: its read position follows what the
		// cursors hold (removeForCursors).
		err = q.persistCursors()
	}
	if err == nil {
		m := q.snapshot()
		if err = writeMeta(q.metaPath, m); err == nil {
			q.saved = m
		}
	}
	// Even when the metadata cannot be written: freeing space may be what
	// lets the next write succeed.
	q.removeAcked()
	if err == nil {
		return nil
	}
	q.mu.Lock()
	q.stats.WriteErrors++
	q.stats.Health = err
	q.mu.Unlock()
	return err
}

// Close fsyncs written records, persists the metadata and releases the
// files. Puts waiting for the writer fail with ErrClosed. Records read and
// not yet acknowledged are delivered again by the next Open: acknowledge
// what was finished before closing.
func (q *Queue) Close() error {
	if err := q.shutdown(true); err != nil {
		return fmt.Errorf("diskqueue %s: close: %w", q.opts.Name, err)
	}
	return nil
}

// Delete closes the queue without persisting anything and removes all of its
// files: segments, metadata, and damage side files.
func (q *Queue) Delete() error {
	err := q.shutdown(false)
	if errors.Is(err, ErrClosed) {
		err = nil // deleting a closed queue still removes its files
	}
	files, lerr := listQueueFiles(q.opts.Dir, q.opts.Name)
	if lerr != nil {
		return fmt.Errorf("diskqueue %s: delete: %w", q.opts.Name, errors.Join(err, lerr))
	}
	names := []string{metaFileName(q.opts.Name), metaFileName(q.opts.Name) + ".damaged"}
	for _, n := range files.segments {
		names = append(names, segmentFileName(q.opts.Name, n))
	}
	for _, c := range files.cursors {
		names = append(names, cursorMetaFileName(q.opts.Name, c))
	}
	names = append(names, files.temps...)
	names = append(names, files.extra...)
	for _, n := range names {
		if rerr := os.Remove(filepath.Join(q.opts.Dir, n)); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	if err != nil {
		return fmt.Errorf("diskqueue %s: delete: %w", q.opts.Name, err)
	}
	return nil
}

func (q *Queue) shutdown(persist bool) error {
	q.mu.Lock()
	already := q.closed
	q.closed = true
	q.mu.Unlock()
	if already {
		return ErrClosed
	}
	close(q.stop)
	q.loops.Wait()

	q.wmu.Lock()
	defer q.wmu.Unlock()
	q.rmu.Lock()
	defer q.rmu.Unlock()
	var err error
	if persist {
		err = q.persistMeta()
	}
	q.closeWriteFile()
	q.closeReader()
	q.w.buf = nil
	if q.opts.Log {
		q.closeCursors()
	}
	return err
}

// Empty drops every record, outstanding ones included (acknowledging them
// afterwards does nothing): the metadata moves both positions to a fresh
// segment number, then the old segments are removed. Side files are kept.
func (q *Queue) Empty() error {
	q.wmu.Lock()
	defer q.wmu.Unlock()
	q.rmu.Lock()
	defer q.rmu.Unlock()
	if q.opts.Log {
		return fmt.Errorf("diskqueue %s: empty: %w (empty its cursors)", q.opts.Name, errLogRead)
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	next := q.w.file + 1
	q.setLocked(position{next, 0}, 0, replay{})
	q.writeFile, q.writePos = next, 0
	q.removeFrom = next // Empty removes the older segments itself
	q.forget()
	q.mu.Unlock()

	q.closeWriteFile()
	q.w.file, q.w.pos, q.w.unsynced, q.w.broken, q.w.ahead.from, q.w.ahead.ran = next, 0, 0, false, 0, false
	q.moveReader(position{next, 0}, replay{})

	// Metadata first: a crash between the two steps leaves old segments
	// below the read position, which Open removes; the other order could
	// resurrect them.
	err := q.persistMeta()
	files, lerr := listQueueFiles(q.opts.Dir, q.opts.Name)
	err = errors.Join(err, lerr)
	for _, n := range files.segments {
		if n < next {
			if rerr := os.Remove(segmentPath(q.opts.Dir, q.opts.Name, n)); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				err = errors.Join(err, rerr)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("diskqueue %s: empty: %w", q.opts.Name, err)
	}
	return nil
}
