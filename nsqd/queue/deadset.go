package queue

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// DeadSetOptions configure a dead set. Zero values take the defaults below.
type DeadSetOptions struct {
	Dir  string // directory for the set's files (exists)
	Name string // the channel's queue name ("topic:channel"); files are named from it
	// MaxDepth bounds the messages kept (0 = unbounded): beyond it the
	// oldest are dropped and counted.
	MaxDepth int64
	// MaxSegmentBytes is the size past which writes go to a new file
	// (default 16 MiB). A file whose records are all gone is removed.
	MaxSegmentBytes int64
	// MaxBodyBytes refuses larger bodies on Add (default 64 MiB).
	MaxBodyBytes int
	// NoSync leaves writes in the page cache: they survive a kill -9 of
	// the process, not a power loss. The default fsyncs every write before
	// it returns.
	NoSync bool
	Logf   func(format string, args ...any) // may be nil
}

const (
	deadDefaultSegmentBytes = 16 << 20
	deadDefaultMaxBody      = 64 << 20
)

// DeadSetStats is a snapshot of a dead set's state and counters.
type DeadSetStats struct {
	Depth     int64 // messages dead now (not counting Taken)
	Bytes     int64 // body bytes of those
	Taken     int64 // taken by a redrive not yet committed or released
	Segments  int   // files
	DiskBytes int64 // their total size

	// Since Open.
	Added, Dropped, Redriven, Emptied int64

	// Damage found since Open (DEADSET.md, "Damage"). SkippedRecords is
	// a lower bound: a region whose record boundaries are unknown counts
	// as one. TruncatedBytes is the torn tail cut off the newest file.
	SkippedRecords, SkippedBytes, TruncatedBytes int64
	WriteErrors                                  int64
}

// ErrDeadSetClosed is returned by operations on a closed dead set.
var ErrDeadSetClosed = errors.New("dead set closed")

// DeadSet is a channel's dead messages: a durable, bounded FIFO that can be
// looked at without consuming it (Peek) and drained in two steps (Take,
// then Commit or Release) so that a redrive interrupted by a crash loses
// nothing. It is an append-only log of checksummed records, specified in
// DEADSET.md.
//
// Every method is safe for concurrent use; each holds the set's own mutex
// for its duration, file I/O included, and takes no other lock, so a caller
// may call it with or without locks of its own held. It starts no
// goroutine and reads no clock: a message's DiedAt is the caller's.
type DeadSet struct {
	mu      sync.Mutex
	opts    DeadSetOptions
	closed  bool
	entries []deadEntry // in seq order; entries[head:] are the ones kept
	head    int
	segs    []deadSegment // oldest first; the last one takes the writes
	wbroken bool          // the last segment must not be appended to
	nextSeq uint64
	depth   int64
	bytes   int64
	taken   int64
	// unsynced: with NoSync, the newest file has writes no fsync covers
	// yet (older files were fsynced when the next one was started).
	unsynced bool
	stats    DeadSetStats
	buf      []byte // write buffer, reused
}

type deadState uint8

const (
	deadAvailable deadState = iota
	deadTaken
	deadRemoved
)

// deadEntry is what memory holds per record: where it is, not what it says.
type deadEntry struct {
	seq    uint64
	seg    int64 // segment number
	off    int64 // start of the framed record
	length uint32
	body   uint32
	state  deadState
}

type deadSegment struct {
	num  int64
	f    *os.File // opened on first use; read-write for the last segment
	size int64
	live int // its entries not removed
}

// OpenDeadSet opens (or creates) the dead set opts.Name in opts.Dir,
// recovering what a crash left: a torn tail is cut off, damage is
// skipped and counted. It fails on I/O errors and on files written by a
// newer format version.
func OpenDeadSet(opts DeadSetOptions) (*DeadSet, error) {
	if opts.MaxSegmentBytes <= 0 {
		opts.MaxSegmentBytes = deadDefaultSegmentBytes
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = deadDefaultMaxBody
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	switch {
	case opts.Dir == "":
		return nil, errors.New("dead set: open: Dir is empty")
	case opts.Name == "" || strings.ContainsAny(opts.Name, "/\x00"):
		return nil, fmt.Errorf("dead set: open: Name %q cannot be part of a file name", opts.Name)
	case opts.MaxDepth < 0:
		return nil, fmt.Errorf("dead set %s: open: MaxDepth %d is negative", opts.Name, opts.MaxDepth)
	}
	d := &DeadSet{opts: opts, nextSeq: 1}
	if err := d.recover(); err != nil {
		d.closeFiles()
		return nil, fmt.Errorf("dead set %s: open: %w", opts.Name, err)
	}
	return d, nil
}

func (d *DeadSet) logf(format string, args ...any) {
	d.opts.Logf("DEADSET(%s): "+format, append([]any{d.opts.Name}, args...)...)
}

func (d *DeadSet) segmentPath(num int64) string {
	return filepath.Join(d.opts.Dir, deadSegmentName(d.opts.Name, num))
}

func deadSegmentName(name string, num int64) string {
	return fmt.Sprintf("%s.deadset.%06d.dat", name, num)
}

// listDeadSegments returns the numbers of name's segment files in dir,
// sorted. Only the canonical spelling (%06d) counts, so another set whose
// name starts with name + ".deadset." is never mistaken for one of ours.
func listDeadSegments(dir, name string) ([]int64, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	prefix := name + ".deadset."
	var nums []int64
	for _, de := range des {
		digits, ok := strings.CutPrefix(de.Name(), prefix)
		if !ok {
			continue
		}
		if digits, ok = strings.CutSuffix(digits, ".dat"); !ok || len(digits) < 6 || len(digits) > 18 {
			continue
		}
		var n int64
		for _, c := range digits {
			if c < '0' || c > '9' {
				ok = false
				break
			}
			n = n*10 + int64(c-'0')
		}
		if ok && deadSegmentName(name, n) == de.Name() {
			nums = append(nums, n)
		}
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	return nums, nil
}

// Depth is the number of messages dead now, not counting those taken by a
// redrive in progress.
func (d *DeadSet) Depth() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.depth
}

// Bytes is the body bytes of the messages Depth counts.
func (d *DeadSet) Bytes() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.bytes
}

// Stats returns a snapshot of the set's state and counters.
func (d *DeadSet) Stats() DeadSetStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.stats
	s.Depth, s.Bytes, s.Taken = d.depth, d.bytes, d.taken
	s.Segments = len(d.segs)
	for _, sg := range d.segs {
		s.DiskBytes += sg.size
	}
	return s
}

// Add appends msgs, in order, as the newest dead messages (their Seq is
// assigned here) and, when that takes the set past MaxDepth, drops the
// oldest: first older messages not taken, then the oldest of msgs
// themselves. It returns how many were dropped. Everything it does is one
// write (and one fsync): when Add returns nil the messages are durable;
// when it returns an error nothing changed.
func (d *DeadSet) Add(msgs ...DeadMessage) (dropped int, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, ErrDeadSetClosed
	}
	for i := range msgs {
		if !msgs[i].Reason.valid() {
			return 0, fmt.Errorf("dead set %s: add: message %d: invalid reason %d", d.opts.Name, i, msgs[i].Reason)
		}
		if len(msgs[i].Body) > d.opts.MaxBodyBytes {
			return 0, fmt.Errorf("dead set %s: add: message %d: body of %d bytes is over %d", d.opts.Name, i, len(msgs[i].Body), d.opts.MaxBodyBytes)
		}
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	var dropOld, skipNew int64
	if max := d.opts.MaxDepth; max > 0 && d.depth+int64(len(msgs)) > max {
		excess := d.depth + int64(len(msgs)) - max
		dropOld = min(excess, d.depth)
		skipNew = excess - dropOld
	}
	keep := msgs[skipNew:]
	if d.nextSeq+uint64(len(keep)) > deadMaxSeq {
		return 0, fmt.Errorf("dead set %s: add: seqs exhausted (Empty does not restart them; Delete does)", d.opts.Name)
	}
	buf := d.buf[:0]
	for i := range keep {
		m := keep[i]
		m.Seq = d.nextSeq + uint64(i)
		buf = appendDeadMessage(buf, &m)
	}
	var drop []int
	if dropOld > 0 {
		drop = d.oldestAvailable(int(dropOld))
		buf = appendDeadRemove(buf, deadRemovedDropped, d.rangesFor(drop))
	}
	d.keepBuffer(buf)
	seg, base, err := d.write(buf, false)
	if err != nil {
		// The seqs of a failed write are never given again: if its bytes
		// could not be cut back, a reopen may find them intact, and a
		// second message with the same seq would then be skipped.
		d.nextSeq += uint64(len(keep))
		return 0, fmt.Errorf("dead set %s: add: %w", d.opts.Name, err)
	}
	off := base
	for i := range keep {
		e := deadEntry{
			seq:    d.nextSeq + uint64(i),
			seg:    seg.num,
			off:    off,
			length: uint32(deadRecordMinSize + len(keep[i].Body)),
			body:   uint32(len(keep[i].Body)),
		}
		off += deadRecHeaderSize + int64(e.length)
		d.entries = append(d.entries, e)
		seg.live++
		d.depth++
		d.bytes += int64(e.body)
	}
	d.nextSeq += uint64(len(keep))
	d.stats.Added += int64(len(keep))
	for _, i := range drop {
		d.remove(i)
	}
	d.stats.Dropped += dropOld + skipNew
	d.release()
	return int(dropOld + skipNew), nil
}

// Peek returns up to n messages dead now, oldest first, starting after the
// message whose Seq is after (0: from the oldest). Pass the last Seq
// returned to read the next page. It changes nothing: messages taken by a
// redrive in progress are not shown. A record found damaged on disk is
// skipped and counted (it would be skipped after a restart too).
func (d *DeadSet) Peek(after uint64, n int) ([]DeadMessage, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrDeadSetClosed
	}
	var out []DeadMessage
	i := d.head + sort.Search(len(d.entries)-d.head, func(k int) bool { return d.entries[d.head+k].seq > after })
	// Damaged records found on the way are dropped: select again until n
	// messages are read or none is left.
	for len(out) < n && i < len(d.entries) {
		var idx []int
		for ; i < len(d.entries) && len(out)+len(idx) < n; i++ {
			if d.entries[i].state == deadAvailable {
				idx = append(idx, i)
			}
		}
		msgs, _, err := d.readMany(idx)
		out = append(out, msgs...)
		if err != nil {
			return out, fmt.Errorf("dead set %s: peek: %w", d.opts.Name, err)
		}
	}
	d.release()
	return out, nil
}

// Take takes up to n of the oldest messages out of the set for a redrive:
// they leave Depth and Peek but stay on disk until Commit. The caller puts
// them back into the channel's queue (durably), then calls Commit; or
// Release if it could not. A crash before Commit leaves them dead (and, if
// the caller's put was durable, delivered too: at-least-once); after Commit
// they are gone from the set for good.
func (d *DeadSet) Take(n int) ([]DeadMessage, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrDeadSetClosed
	}
	var out []DeadMessage
	var took []int
	for i := d.head; len(out) < n && i < len(d.entries); {
		var idx []int
		for ; i < len(d.entries) && len(out)+len(idx) < n; i++ {
			if d.entries[i].state == deadAvailable {
				idx = append(idx, i)
			}
		}
		msgs, kept, err := d.readMany(idx)
		if err != nil {
			// Nothing is marked yet: a failed Take takes nothing.
			return nil, fmt.Errorf("dead set %s: take: %w", d.opts.Name, err)
		}
		out = append(out, msgs...)
		took = append(took, kept...)
	}
	for _, i := range took {
		e := &d.entries[i]
		e.state = deadTaken
		d.depth--
		d.bytes -= int64(e.body)
		d.taken++
	}
	d.release()
	return out, nil
}

// Commit removes for good the messages of taken (as Take returned them)
// that are still taken, with one write (and fsync), and returns how many.
// Messages Released, Emptied or committed already are ignored. On error
// they stay taken: Commit again, or Release them.
func (d *DeadSet) Commit(taken []DeadMessage) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, ErrDeadSetClosed
	}
	idx := d.takenIndexes(taken)
	if len(idx) == 0 {
		return 0, nil
	}
	buf := appendDeadRemove(d.buf[:0], deadRemovedRedriven, d.rangesFor(idx))
	d.keepBuffer(buf)
	if _, _, err := d.write(buf, false); err != nil {
		return 0, fmt.Errorf("dead set %s: commit: %w", d.opts.Name, err)
	}
	for _, i := range idx {
		d.remove(i)
	}
	d.stats.Redriven += int64(len(idx))
	d.release()
	return len(idx), nil
}

// Release puts the messages of taken that are still taken back where they
// were (they count in Depth and show in Peek again) and returns how many.
// Nothing is written: on disk they never left.
func (d *DeadSet) Release(taken []DeadMessage) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0
	}
	idx := d.takenIndexes(taken)
	for _, i := range idx {
		e := &d.entries[i]
		e.state = deadAvailable
		d.taken--
		d.depth++
		d.bytes += int64(e.body)
	}
	return len(idx)
}

// Empty removes every message, those taken by a redrive in progress
// included (committing or releasing them afterwards does nothing), and
// returns how many it removed that were not taken. The removal is written
// to a new file and every older file is then deleted, so the space is given
// back at once.
func (d *DeadSet) Empty() (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, ErrDeadSetClosed
	}
	first := -1
	for i := d.head; i < len(d.entries); i++ {
		if d.entries[i].state != deadRemoved {
			first = i
			break
		}
	}
	if first < 0 {
		return 0, nil
	}
	// One range up to the last seq ever given keeps the next seq known to
	// a reopened set even when no message record is left (DEADSET.md).
	r := []deadRange{{d.entries[first].seq, d.nextSeq - 1}}
	buf := appendDeadRemove(d.buf[:0], deadRemovedEmptied, r)
	d.keepBuffer(buf)
	if _, _, err := d.write(buf, true); err != nil {
		return 0, fmt.Errorf("dead set %s: empty: %w", d.opts.Name, err)
	}
	emptied := d.depth
	for i := first; i < len(d.entries); i++ {
		d.remove(i)
	}
	d.stats.Emptied += emptied
	d.release()
	return int(emptied), nil
}

// SetMaxDepth changes the bound (0 = unbounded) and drops the oldest
// messages beyond it at once; it returns how many.
func (d *DeadSet) SetMaxDepth(max int64) (int, error) {
	if max < 0 {
		return 0, fmt.Errorf("dead set %s: max depth %d is negative", d.opts.Name, max)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, ErrDeadSetClosed
	}
	d.opts.MaxDepth = max
	return d.enforceMaxDepth()
}

// enforceMaxDepth drops the oldest messages beyond MaxDepth with one write.
func (d *DeadSet) enforceMaxDepth() (int, error) {
	if d.opts.MaxDepth == 0 || d.depth <= d.opts.MaxDepth {
		return 0, nil
	}
	drop := d.oldestAvailable(int(d.depth - d.opts.MaxDepth))
	buf := appendDeadRemove(d.buf[:0], deadRemovedDropped, d.rangesFor(drop))
	d.keepBuffer(buf)
	if _, _, err := d.write(buf, false); err != nil {
		return 0, fmt.Errorf("dead set %s: drop beyond max depth: %w", d.opts.Name, err)
	}
	for _, i := range drop {
		d.remove(i)
	}
	d.stats.Dropped += int64(len(drop))
	d.release()
	return len(drop), nil
}

// Sync fsyncs what was written since the last Sync. With NoSync unset it
// has nothing to do (every write was fsynced before it returned); with
// NoSync set it is how a caller with a timer of its own (nsqd's sync
// interval) bounds what a power loss can take, as it does for the
// channel's queue.
func (d *DeadSet) Sync() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrDeadSetClosed
	}
	if !d.unsynced || len(d.segs) == 0 {
		return nil
	}
	seg := &d.segs[len(d.segs)-1]
	if seg.f == nil {
		if err := d.openSegment(seg); err != nil {
			return fmt.Errorf("dead set %s: sync: %w", d.opts.Name, err)
		}
	}
	if err := seg.f.Sync(); err != nil {
		d.stats.WriteErrors++
		return fmt.Errorf("dead set %s: sync: %w", d.opts.Name, err)
	}
	d.unsynced = false
	return nil
}

// Close releases the files. Every change was written when it was made, so
// there is nothing to persist; messages still taken are dead again at the
// next Open.
func (d *DeadSet) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrDeadSetClosed
	}
	d.closed = true
	return d.closeFiles()
}

// Delete closes the set (if open) and removes its files.
func (d *DeadSet) Delete() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	err := d.closeFiles()
	nums, lerr := listDeadSegments(d.opts.Dir, d.opts.Name)
	err = errors.Join(err, lerr)
	for _, n := range nums {
		if rerr := os.Remove(d.segmentPath(n)); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	d.segs = nil
	if err != nil {
		return fmt.Errorf("dead set %s: delete: %w", d.opts.Name, err)
	}
	return nil
}

// keepBuffer keeps buf for the next write unless a large Add grew it: one
// 64 MiB body must not stay allocated for the life of the set.
func (d *DeadSet) keepBuffer(buf []byte) {
	if cap(buf) > 1<<20 {
		buf = nil
	}
	d.buf = buf[:0]
}

func (d *DeadSet) closeFiles() error {
	var err error
	for i := range d.segs {
		if f := d.segs[i].f; f != nil {
			err = errors.Join(err, f.Close())
			d.segs[i].f = nil
		}
	}
	return err
}
