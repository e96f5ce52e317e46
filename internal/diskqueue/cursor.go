package diskqueue

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// Cursors: a queue opened with Options.Log is written once and read by any
// number of named cursors, each with its own read position,
// acknowledgements, FIN progress, depth, read memory and metadata file. It
// is the disk side of a topic log: a topic writes each batch once, and each
// channel reads it through its cursor instead of writing it again to a
// queue of its own.
//
// Addressing. The segment format has no room for a recipient, and needs
// none: a cursor is joined over intervals of write positions. Join opens an
// interval at the write end, Leave closes it at the write end, and a record
// is the cursor's iff its start lies in one of its intervals. Both take the
// writer role, so every Put (every group commit) is wholly before or after
// them. Read walks the cursor's intervals in order and seeks over the gaps
// between them.
//
// Durability. Join writes the cursor's metadata (fsynced) before it
// returns: a crash after a later acknowledged Put must still deliver that
// record to the cursor. Leave does not: a Leave lost to a crash leaves the
// interval open, so the cursor is delivered the records put after it too
// (duplicates, never loss); the next metadata write records it. An interval
// open at a crash extends to the recovered write end.
//
// Segment removal. A segment is removed once no cursor needs it: a cursor
// needs the segments from its oldest outstanding record to its read
// position, and those its intervals cover from its read position on. A
// closed cursor still needs its segments (its metadata exists); Delete
// releases them. See FORMAT.md, "Logs and cursors".

// ErrCursorOpen is returned by Queue.Cursor for a cursor already handed out
// and not closed since.
var ErrCursorOpen = errors.New("diskqueue: cursor is open already")

// errNotLog is returned by Queue.Cursor on a queue opened without
// Options.Log.
var errNotLog = errors.New("diskqueue: cursors need a queue opened with Options.Log")

// Cursor reads a log (a queue opened with Options.Log) on its own: the
// records put while it was joined, each once, in order. Its methods have
// the meanings of the Queue's methods of the same names.
type Cursor struct {
	q        *Queue
	name     string
	metaPath string

	rmu sync.Mutex // reader role: consumer.r and ivs; see the lock order in doc.go
	// consumer is the cursor's reading end (consumer.go), as the Queue's
	// own is the queue's: the reader under rmu, the read state under mu,
	// acknowledgements and read memory under amu. Its stats hold only
	// the damage and read error counters.
	consumer
	// ivs is the intervals as the Read in progress sees them, copied from
	// intervals at its start (Join and Leave change those under mu).
	// Guarded by rmu.
	ivs []interval

	mu   sync.Mutex
	open bool // handed out by Queue.Cursor and not closed since
	// intervals: the cursor's intervals not yet wholly behind its
	// frontier (sorted, disjoint, only the last open).
	intervals []interval
	// keptFrom is the frontier's segment at the last removal check: a
	// Read that moves it past a segment lets removal run.
	keptFrom int64

	amu sync.Mutex // records read and not yet acknowledged: consumer.acks, consumer.mem

	saved cursorMeta // the metadata last written; guarded by the queue's wmu
}

// Cursor returns the cursor name of the log, which Open loaded from its
// metadata file, or a new one, joined over nothing yet. A cursor is handed
// out once: ErrCursorOpen until it is closed. A closed cursor reopened this
// way delivers again what was outstanding at its Close.
func (q *Queue) Cursor(name string) (*Cursor, error) {
	if !q.opts.Log {
		return nil, fmt.Errorf("diskqueue %s: cursor %s: %w", q.opts.Name, name, errNotLog)
	}
	if err := validCursorName(name); err != nil {
		return nil, fmt.Errorf("diskqueue %s: %w", q.opts.Name, err)
	}
	q.mu.Lock()
	closed := q.closed
	q.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	q.lmu.Lock()
	defer q.lmu.Unlock()
	c := q.cursors[name]
	if c == nil {
		c = q.newCursor(name)
		q.cursors[name] = c
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open {
		return nil, fmt.Errorf("diskqueue %s: cursor %s: %w", q.opts.Name, name, ErrCursorOpen)
	}
	c.open = true
	return c, nil
}

func (q *Queue) newCursor(name string) *Cursor {
	c := &Cursor{
		q:        q,
		name:     name,
		metaPath: filepath.Join(q.opts.Dir, cursorMetaFileName(q.opts.Name, name)),
	}
	c.consumer.init(&c.rmu, &c.mu, &c.amu, q.opts, "cursor "+name+": ")
	return c
}

// Name is the cursor's name.
func (c *Cursor) Name() string { return c.name }

// Ready is signalled when records become readable for this cursor: after a
// Put while it is joined, when it is loaded with records waiting, and after
// a Read that left records behind.
func (c *Cursor) Ready() <-chan struct{} { return c.ready }

func (c *Cursor) logf(format string, args ...any) {
	c.q.logf("%s"+format, append([]any{c.who}, args...)...)
}

// joinedLocked reports whether records put now are the cursor's. Caller
// holds mu.
func (c *Cursor) joinedLocked() bool {
	return len(c.intervals) > 0 && c.intervals[len(c.intervals)-1].open
}

// Joined reports whether records put now are delivered to the cursor.
func (c *Cursor) Joined() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.joinedLocked()
}

// Join makes the records put from now on the cursor's, until Leave. Its
// metadata is written (and fsynced) before Join returns; if that fails,
// the cursor is not joined. Joining a joined cursor does nothing.
func (c *Cursor) Join() error {
	return c.exclusive(false, func(end position, usable bool) error {
		if !usable {
			return ErrClosed
		}
		c.mu.Lock()
		if c.joinedLocked() {
			c.mu.Unlock()
			return nil
		}
		before := slices.Clone(c.intervals)
		if k := len(c.intervals); k > 0 && c.intervals[k-1].end == end {
			// Left and joined again with nothing put between: one interval.
			c.intervals[k-1].open, c.intervals[k-1].end = true, position{}
		} else {
			c.intervals = append(c.intervals, interval{start: end, open: true})
		}
		c.mu.Unlock()
		if err := c.persist(); err != nil {
			// Not durable, so not joined: the caller must not count on the
			// log for the records it puts next. No Put ran meanwhile (wmu).
			c.mu.Lock()
			c.intervals = before
			c.mu.Unlock()
			return c.wrap("join", err)
		}
		return nil
	})
}

// Leave ends the cursor's current interval: records put from now on are
// not the cursor's. It writes nothing: should a crash lose it before the
// next metadata write, the cursor gets the records put after it as well
// (duplicates, never loss). Leaving a cursor that is not joined does
// nothing.
func (c *Cursor) Leave() error {
	return c.exclusive(false, func(end position, usable bool) error {
		if !usable {
			return ErrClosed
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if !c.joinedLocked() {
			return nil
		}
		k := len(c.intervals) - 1
		if c.intervals[k].start == end {
			c.intervals = c.intervals[:k] // nothing was put while joined
		} else {
			c.intervals[k].open, c.intervals[k].end = false, end
		}
		return nil
	})
}

// Read returns up to maxRecords of the cursor's records, as Queue.Read.
func (c *Cursor) Read(maxRecords int) ([]Record, error) {
	return orNil(c.ReadAppend(nil, maxRecords))
}

// ReadAppend is Read appending to dst, as Queue.ReadAppend.
func (c *Cursor) ReadAppend(dst []Record, maxRecords int) ([]Record, error) {
	if maxRecords <= 0 {
		return dst, nil
	}
	q := c.q
	c.rmu.Lock()
	defer c.rmu.Unlock()
	write, err := c.startScan()
	if err != nil {
		return dst, err
	}
	r := c.startRead()
	var (
		out       = dst
		base      = len(dst)
		readBytes int
		skipped   int64
	)
	for len(out)-base < maxRecords && readBytes < maxReadBytes {
		at := position{r.file, r.seg.pos}
		i := slices.IndexFunc(c.ivs, func(iv interval) bool { return iv.after(at) })
		if i < 0 {
			break // past the last interval: nothing more is the cursor's
		}
		iv := c.ivs[i]
		if at.less(iv.start) {
			c.seek(iv.start)
			at = iv.start
		}
		limit := iv.limit(write)
		if !at.less(limit) {
			break
		}
		var n int64
		out, n, err = q.readRun(&c.consumer, limit.file, limit.off, out, base, maxRecords, &readBytes)
		skipped += n
		if err != nil || (position{r.file, r.seg.pos}).less(limit) || limit == write {
			break
		}
	}

	// The tail is judged against the write end as of now, not as of the
	// Read's start: a Put published meanwhile has counted its records in
	// the depth (publishToCursors, under mu and then Cursor.mu), and a
	// tail judged against the old end would drop that count. Holding mu
	// while taking Cursor.mu keeps the two in step (the lock order allows
	// it: mu, lmu, Cursor.mu).
	q.mu.Lock()
	now := position{q.writeFile, q.writePos}
	c.mu.Lock()
	q.mu.Unlock()
	frontier := c.tookLocked(out, base, skipped)
	dropped := c.trimIntervals(frontier)
	release := dropped || frontier.file > c.keptFrom
	c.keptFrom = frontier.file
	return c.endRead(q, out, base, err, c.atTailLocked(now), release)
}

// startScan is the start of a Read or a Scan: it copies the cursor's
// intervals to ivs and returns the write end, or ErrClosed. Caller holds
// rmu.
func (c *Cursor) startScan() (write position, err error) {
	closed, write := c.q.writeEnd()
	c.mu.Lock()
	open := c.open
	c.ivs = append(c.ivs[:0], c.intervals...)
	c.mu.Unlock()
	if closed || !open {
		return write, ErrClosed
	}
	return write, nil
}

// seek moves the reader to p, the start of its next interval: what lies
// between was not the cursor's. Caller holds rmu.
func (c *Cursor) seek(p position) {
	r := &c.r
	if r.file != p.file {
		r.close()
		r.file = p.file
	}
	r.seg.seek(p.off)
	// The records on either side of the gap must not share a span in the
	// metadata: a span covers every record between its ends (progress.go).
	r.gap = true
}

// trimIntervals drops the closed intervals wholly behind the frontier and
// reports whether it dropped any. Caller holds mu.
func (c *Cursor) trimIntervals(frontier position) bool {
	k := 0
	for k < len(c.intervals) && !c.intervals[k].after(frontier) {
		k++
	}
	if k == 0 {
		return false
	}
	c.intervals = append(c.intervals[:0], c.intervals[k:]...)
	return true
}

// atTailLocked reports whether nothing is left to read for the cursor: its
// read position is past its last interval, or at the write end inside an
// open one. Caller holds mu.
func (c *Cursor) atTailLocked(write position) bool {
	at := position{c.readFile, c.readPos}
	for _, iv := range c.intervals {
		if iv.after(at) {
			limit := iv.limit(write)
			return !at.less(limit) && (iv.open || limit == write)
		}
	}
	return true
}

// Ack acknowledges records the cursor returned, as Queue.Ack.
func (c *Cursor) Ack(seqs ...uint64) { c.ack(seqs) }

// Done acknowledges seq and gives its memory back, as Queue.Done.
func (c *Cursor) Done(seq uint64) { c.done(seq) }

// Keep keeps the records' memory from reuse, as Queue.Keep.
func (c *Cursor) Keep(seqs ...uint64) { c.keep(seqs) }

// Unacked is the number of records read and not yet acknowledged.
func (c *Cursor) Unacked() int64 { return c.unacked() }

// Depth is the number of the cursor's records not yet read: counted as
// they are put while it is joined, an estimate after a crash until it
// reaches the end (FORMAT.md, "Depth").
func (c *Cursor) Depth() int64 { return c.depthNow() }

// Stats returns the cursor's counters and positions; the write position and
// the write counters are the log's.
func (c *Cursor) Stats() Stats {
	s := c.q.Stats()
	c.mu.Lock()
	defer c.mu.Unlock()
	s.SkippedRecords, s.SkippedBytes, s.ReadErrors = c.stats.SkippedRecords, c.stats.SkippedBytes, c.stats.ReadErrors
	c.readStatsLocked(&s)
	return s
}

// snapshot is the cursor's metadata now, as Queue.snapshot is the queue's:
// the frontier, FIN progress past it, and the intervals not wholly behind
// the frontier, the first cut at it.
func (c *Cursor) snapshot() cursorMeta {
	c.mu.Lock()
	defer c.mu.Unlock()
	var m cursorMeta
	m.read, m.readEnd, m.depth, m.unfinished = c.progressLocked()
	for _, iv := range c.intervals {
		if !iv.after(m.read) {
			continue
		}
		if iv.start.less(m.read) {
			iv.start = m.read
		}
		m.intervals = append(m.intervals, iv)
	}
	return m
}

// persist writes the cursor's metadata if it changed. (A new cursor that
// was never joined has nothing to write: it needs no segment, and
// Queue.Cursor makes the same one again after a reopen.) Caller holds the
// queue's wmu.
func (c *Cursor) persist() error {
	m := c.snapshot()
	if m.equal(c.saved) {
		return nil
	}
	if err := writeCursorMeta(c.metaPath, m); err != nil {
		return err
	}
	c.saved = m
	return nil
}

// load sets the cursor's state from metadata: at Open, and at Close (so
// that a reopened cursor delivers again what was outstanding). The read
// position and FIN progress are fitted to the write end as the queue's are
// (recover.go), positions below the oldest kept segment move up to it, and
// intervals are cut at the write end. Caller holds rmu, or owns c alone.
func (c *Cursor) load(m cursorMeta, write position, oldest int64) {
	read := m.read
	if read.less(position{oldest, 0}) {
		read = position{oldest, 0}
	}
	if write.less(read) {
		c.logf("read position %d,%d is past the write end %d,%d; moving it there", read.file, read.off, write.file, write.off)
		read = write
	}
	rm := meta{readFile: read.file, readPos: read.off, writeFile: write.file, writePos: write.off,
		readEnd: m.readEnd, unfinished: m.unfinished}
	rp := c.q.recoverProgress(&rm)
	var ivs []interval
	for _, iv := range m.intervals {
		if write.less(iv.start) {
			iv.start = write
		}
		if !iv.open && write.less(iv.end) {
			iv.end = write
		}
		if iv.open || iv.start.less(iv.end) {
			ivs = append(ivs, iv)
		}
	}
	c.moveReader(read, rp)
	c.mu.Lock()
	c.setLocked(read, m.depth, rp)
	c.intervals = ivs
	c.keptFrom = read.file
	c.forget()
	tail := c.atTailLocked(write)
	c.mu.Unlock()
	if !tail {
		c.signal()
	}
}

// Close writes the cursor's metadata and releases its file. The cursor
// keeps its segments, and records put while it is joined keep being its
// (Close is not Leave). Records read and not acknowledged are delivered
// again once Queue.Cursor reopens it.
func (c *Cursor) Close() error {
	return c.exclusive(true, func(write position, usable bool) error {
		c.mu.Lock()
		c.open = false
		c.mu.Unlock()
		if !usable {
			return ErrClosed
		}
		err := c.persist()
		c.load(c.snapshot(), write, 0)
		c.r.seg.release()
		return c.wrap("close", err)
	})
}

// Empty skips the cursor to the write end: every record of it, outstanding
// ones included, counts as finished (acknowledging them afterwards does
// nothing). A joined cursor stays joined. Its metadata is written before
// Empty returns; the segments only it held are removed.
func (c *Cursor) Empty() error {
	return c.exclusive(true, func(write position, usable bool) error {
		if !usable {
			return ErrClosed
		}
		c.mu.Lock()
		joined := c.joinedLocked()
		c.intervals = nil
		if joined {
			c.intervals = []interval{{start: write, open: true}}
		}
		c.setLocked(write, 0, replay{})
		c.keptFrom = write.file
		c.forget()
		c.mu.Unlock()
		c.moveReader(write, replay{})

		err := c.persist()
		c.q.removeForCursors()
		return c.wrap("empty", err)
	})
}

// Delete removes the cursor: its metadata file goes, and the segments only
// it held are removed. The log keeps no trace of it; Queue.Cursor of the
// same name makes a new one.
func (c *Cursor) Delete() error {
	return c.exclusive(true, func(position, bool) error {
		q := c.q
		q.lmu.Lock()
		if q.cursors[c.name] == c {
			delete(q.cursors, c.name)
		}
		q.lmu.Unlock()
		c.mu.Lock()
		c.open = false
		c.intervals = nil
		c.mu.Unlock()
		c.forget()
		c.closeReader()
		var err error
		if rerr := os.Remove(c.metaPath); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = rerr
		} else {
			err = syncDir(q.opts.Dir)
		}
		q.removeForCursors()
		return c.wrap("delete", err)
	})
}

// exclusive runs fn, which changes the cursor's intervals or replaces its
// state (Join, Leave, Close, Empty, Delete), holding the queue's writer
// role (a Put is wholly before or after it, and the cursor's metadata is
// written under it) and, with reader, the cursor's reader role. fn is
// given the write end and whether the cursor may be used: handed out, and
// the queue open. Neither changes while fn runs: Queue.Cursor only opens a
// closed cursor, and closing one or the queue takes the writer role.
func (c *Cursor) exclusive(reader bool, fn func(write position, usable bool) error) error {
	q := c.q
	q.wmu.Lock()
	defer q.wmu.Unlock()
	if reader {
		c.rmu.Lock()
		defer c.rmu.Unlock()
	}
	closed, write := q.writeEnd()
	c.mu.Lock()
	usable := !closed && c.open
	c.mu.Unlock()
	return fn(write, usable)
}

// wrap gives err (nil for none) the context of the cursor and of op.
func (c *Cursor) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("diskqueue %s: cursor %s: %s: %w", c.q.opts.Name, c.name, op, err)
}

// need appends the segment ranges the cursor needs, [lo, hi] inclusive:
// from its frontier to its read position when records are outstanding, and
// what its intervals cover from its read position on. Caller holds the
// queue's lmu.
func (c *Cursor) need(dst [][2]int64) [][2]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	at := position{c.readFile, c.readPos}
	c.amu.Lock()
	if _, e, ok := c.acks.frontier(); ok {
		dst = append(dst, [2]int64{e.file, c.readFile})
	}
	c.amu.Unlock()
	if c.replay.active() {
		// A reopened cursor's replay region: the intervals cover it, but
		// the frontier may sit in a segment none of them starts in.
		dst = append(dst, [2]int64{c.readFile, c.replay.end.file})
	}
	for _, iv := range c.intervals {
		if !iv.after(at) {
			continue
		}
		lo := max(iv.start.file, c.readFile)
		hi := int64(math.MaxInt64)
		if !iv.open {
			hi = iv.end.file
			if iv.end.off == 0 {
				hi-- // ends where that segment begins
			}
		}
		if lo <= hi {
			dst = append(dst, [2]int64{lo, hi})
		}
	}
	return dst
}

// removeForCursors is removeAcked for a log: it removes every segment below
// the write segment that no cursor needs (Cursor.need). The ones below the
// lowest needed segment are claimed by moving logFrom; those in a gap
// between needed ones are remembered in logGone, so that each is removed
// once. The main metadata's read position follows logFrom, so that Open
// removes what a crash left of a claimed removal.
func (q *Queue) removeForCursors() {
	q.mu.Lock()
	wf := q.writeFile
	q.mu.Unlock()
	q.lmu.Lock()
	if q.cursors == nil {
		q.lmu.Unlock()
		return // Open has not loaded the cursors yet
	}
	needs := q.needs[:0]
	for _, c := range q.cursors {
		needs = c.need(needs)
	}
	slices.SortFunc(needs, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
	q.needs = needs
	var doomed []int64
	from := q.logFrom
	n := from
	prefix := true
	// unneeded dooms segments n up to to, which no cursor needs: claimed
	// by moving from while below every needed one, else remembered in
	// logGone (once).
	unneeded := func(to int64) {
		for ; n < to; n++ {
			if prefix {
				doomed = append(doomed, n)
				from = n + 1
			} else if _, gone := q.logGone[n]; !gone {
				doomed = append(doomed, n)
				q.logGone[n] = struct{}{}
			}
		}
	}
	for _, nd := range needs {
		unneeded(min(nd[0], wf))
		prefix = false
		if nd[1] >= wf-1 {
			n = wf
			break
		}
		n = max(n, nd[1]+1)
	}
	unneeded(wf)
	q.logFrom = from
	for g := range q.logGone {
		if g < from {
			delete(q.logGone, g)
		}
	}
	q.lmu.Unlock()
	q.mu.Lock()
	if from > q.readFile {
		q.readFile, q.readPos = from, 0
	}
	q.mu.Unlock()
	for _, n := range doomed {
		path := segmentPath(q.opts.Dir, q.opts.Name, n)
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			q.logf("cannot remove read segment %s: %s", path, err)
		}
	}
}

// publishToCursors counts written records in the depth of every joined
// cursor and signals them. Caller holds wmu and mu (publishWrite): a Read
// sees the new write end and the depth that counts it together.
func (q *Queue) publishToCursors(written int64) {
	q.lmu.Lock()
	for _, c := range q.cursors {
		c.mu.Lock()
		joined := c.joinedLocked()
		if joined {
			c.depth += written
		}
		c.mu.Unlock()
		if joined {
			c.signal()
		}
	}
	q.lmu.Unlock()
}

// cursorList is the cursors as of now, for work done without lmu held.
func (q *Queue) cursorList() []*Cursor {
	q.lmu.Lock()
	defer q.lmu.Unlock()
	out := make([]*Cursor, 0, len(q.cursors))
	for _, c := range q.cursors {
		out = append(out, c)
	}
	return out
}

// persistCursors writes the metadata of every cursor whose state changed
// since its last write. Caller holds wmu.
func (q *Queue) persistCursors() error {
	var err error
	for _, c := range q.cursorList() {
		err = errors.Join(err, c.persist())
	}
	return err
}

// cursorsChanged reports whether a cursor's metadata would change. Caller
// holds wmu.
func (q *Queue) cursorsChanged() bool {
	for _, c := range q.cursorList() {
		if !c.snapshot().equal(c.saved) {
			return true
		}
	}
	return false
}

// tickCursors gives back what idle cursors hold, as tick does for the
// queue's reader. Caller holds wmu.
func (q *Queue) tickCursors() {
	for _, c := range q.cursorList() {
		c.idle()
	}
}

// closeCursors releases the cursors' files at the queue's Close. Caller
// holds wmu.
func (q *Queue) closeCursors() {
	for _, c := range q.cursorList() {
		c.rmu.Lock()
		c.closeReader()
		c.rmu.Unlock()
		c.mu.Lock()
		c.open = false
		c.mu.Unlock()
	}
}

// loadCursors loads every cursor whose metadata file exists, at Open, after
// recovery found the write end. A cursor whose metadata cannot be decoded
// is kept as joined over everything from the oldest segment: it gets
// duplicates, never loses a record.
func (q *Queue) loadCursors(names []string) error {
	write := position{q.writeFile, q.writePos}
	oldest := q.readFile
	cursors := make(map[string]*Cursor, len(names))
	for _, name := range names {
		c := q.newCursor(name)
		m, err := readCursorMeta(c.metaPath)
		if errors.Is(err, errMetaNewer) {
			return err
		}
		if err != nil {
			keep := c.metaPath + ".damaged"
			if rerr := os.Rename(c.metaPath, keep); rerr != nil {
				keep = "not kept: " + rerr.Error()
			}
			c.logf("%s, saved as %s; delivering it every record from segment %d on", err, keep, oldest)
			m = cursorMeta{read: position{oldest, 0}, intervals: []interval{{start: position{oldest, 0}, open: true}}}
		} else if m.joined() {
			// Records recovered past the metadata's write end were put
			// while the cursor was joined, as far as anyone can tell.
			m.depth += q.tailRecords
		}
		c.load(m, write, oldest)
		c.saved = m
		if err != nil {
			// The state that replaced the damaged file is written now: a
			// second crash must not lose the cursor. Open has the queue to
			// itself, so wmu is not needed.
			if werr := writeCursorMeta(c.metaPath, c.snapshot()); werr != nil {
				c.logf("cannot write recovered metadata (will retry): %s", werr)
				c.saved = cursorMeta{depth: -1} // matches no real state
			} else {
				c.saved = c.snapshot()
			}
		}
		cursors[name] = c
	}
	q.lmu.Lock()
	q.cursors = cursors
	q.logFrom = oldest
	q.logGone = map[int64]struct{}{}
	q.lmu.Unlock()
	return nil
}

// Peek returns up to maxRecords of the records Read would return next,
// without consuming them, as Queue.Peek.
func (c *Cursor) Peek(maxRecords int) ([]Record, error) { return peek(c.Scan, maxRecords) }

// Scan calls fn with each record Read would return next, in order, until fn
// returns false or the cursor's records end, as Queue.Scan: nothing moves,
// damage is skipped silently, and it holds the cursor's reader role while
// it scans.
func (c *Cursor) Scan(fn func(data []byte, legacy bool) bool) error {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	write, err := c.startScan()
	if err != nil {
		return err
	}
	at := position{c.r.file, c.r.seg.pos}
	replay := c.r.replay // a copy: finished only reslices (progress.go)
	var seg segReader
	for _, iv := range c.ivs {
		if !iv.after(at) {
			continue
		}
		from, end := iv.start, iv.limit(write)
		if from.less(at) {
			from = at
		}
		more, err := c.q.scanRange(from, end, &seg, &replay, fn)
		if err != nil || !more {
			return err
		}
		at = end
	}
	return nil
}
