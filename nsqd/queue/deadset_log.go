package queue

import (
	"errors"
	"fmt"
	"os"
	"sort"
)

// This file holds the dead set's log: recovery at Open, the write path, the
// reads, and the in-memory index kept in step with them.
// Callers hold DeadSet.mu.

// recover loads every segment, oldest first, applying message and remove
// records in log order; cuts a torn tail off the newest segment; removes
// segments left with nothing live; and enforces MaxDepth.
func (d *DeadSet) recover() error {
	nums, err := listDeadSegments(d.opts.Dir, d.opts.Name)
	if err != nil {
		return err
	}
	for k, num := range nums {
		data, err := os.ReadFile(d.segmentPath(num))
		if err != nil {
			return err
		}
		s := scanDeadSegment(data)
		if s.newer {
			return fmt.Errorf("%s: format version %d is newer than this build's %d", deadSegmentName(d.opts.Name, num), s.version, deadFormatVersion)
		}
		d.stats.SkippedRecords += s.skippedRecords
		d.stats.SkippedBytes += s.skippedBytes
		if s.skippedBytes > 0 {
			d.logf("%s: skipped %d damaged bytes (%d records or more)", deadSegmentName(d.opts.Name, num), s.skippedBytes, s.skippedRecords)
		}
		d.segs = append(d.segs, deadSegment{num: num, size: int64(len(data))})
		d.apply(&d.segs[len(d.segs)-1], s.items)
		newest := k == len(nums)-1
		switch {
		case s.tail == 0:
		case !newest:
			// Sealed segments were fsynced before the next one was
			// started: what follows their last intact record is damage.
			d.stats.SkippedRecords++
			d.stats.SkippedBytes += s.tail
			d.logf("%s: skipped %d damaged bytes at its end", deadSegmentName(d.opts.Name, num), s.tail)
		default:
			if err := d.cutTail(&d.segs[len(d.segs)-1], s); err != nil {
				return err
			}
		}
		if newest && !s.headerOK {
			// Never append after a header that does not check out.
			d.wbroken = true
		}
	}
	if n := len(d.segs); n > 0 && d.segs[n-1].size == 0 {
		// A segment whose creation was torn before its header: nothing in
		// it was ever acknowledged.
		if err := os.Remove(d.segmentPath(d.segs[n-1].num)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		d.segs = d.segs[:n-1]
		d.wbroken = false
	}
	d.release()
	if _, err := d.enforceMaxDepth(); err != nil {
		return err
	}
	return nil
}

// apply adds the records of one segment, in order, to the index.
func (d *DeadSet) apply(seg *deadSegment, items []deadItem) {
	for i := range items {
		it := &items[i]
		switch it.kind {
		case deadKindMessage:
			seq := it.seq
			if n := len(d.entries); n > 0 && seq <= d.entries[n-1].seq {
				// Seqs only grow; an intact record that breaks the order
				// cannot be placed and is counted as damage.
				d.stats.SkippedRecords++
				d.stats.SkippedBytes += deadRecHeaderSize + int64(it.length)
				continue
			}
			d.entries = append(d.entries, deadEntry{
				seq: seq, seg: seg.num, off: it.off,
				length: it.length, body: it.bodyN,
			})
			seg.live++
			d.depth++
			d.bytes += int64(it.bodyN)
			d.nextSeq = max(d.nextSeq, seq+1)
		case deadKindRemove:
			for _, r := range it.ranges {
				lo := d.head + sort.Search(len(d.entries)-d.head, func(k int) bool { return d.entries[d.head+k].seq >= r.first })
				for j := lo; j < len(d.entries) && d.entries[j].seq <= r.last; j++ {
					d.remove(j)
				}
				d.nextSeq = max(d.nextSeq, r.last+1)
			}
		}
	}
}

// cutTail truncates the newest segment just past its last intact record:
// the bytes after it are the remains of a write a crash interrupted, which
// was never acknowledged (with NoSync unset, Add returns only after the
// fsync of everything it wrote).
func (d *DeadSet) cutTail(seg *deadSegment, s deadScan) error {
	path := d.segmentPath(seg.num)
	end := s.end
	if !s.headerOK && len(s.items) == 0 {
		end = 0 // not even a header: the whole file goes
	}
	d.logf("%s: cutting off a torn tail of %d bytes at offset %d", deadSegmentName(d.opts.Name, seg.num), seg.size-end, end)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(end)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cut torn tail of %s: %w", deadSegmentName(d.opts.Name, seg.num), err)
	}
	d.stats.TruncatedBytes += seg.size - end
	seg.size = end
	return nil
}

// write appends buf, whole, to the newest segment, or to a new one when
// that one is broken, would grow past MaxSegmentBytes, or fresh is set; it
// returns the segment and the offset buf starts at. A batch never spans
// segments. Unless NoSync, the data is fsynced before write returns. On
// error nothing of buf is left behind when the file can be cut back;
// otherwise the segment is marked broken and the next write starts a new
// one (the reader skips the stray bytes as damage).
func (d *DeadSet) write(buf []byte, fresh bool) (*deadSegment, int64, error) {
	n := len(d.segs)
	if n == 0 || d.wbroken || fresh ||
		(d.segs[n-1].size > deadSegHeaderSize && d.segs[n-1].size+int64(len(buf)) > d.opts.MaxSegmentBytes) {
		return d.writeNewSegment(buf)
	}
	seg := &d.segs[n-1]
	if seg.f == nil {
		if err := d.openSegment(seg); err != nil {
			d.stats.WriteErrors++
			return nil, 0, err
		}
	}
	at := seg.size
	_, err := seg.f.WriteAt(buf, at)
	if err == nil && !d.opts.NoSync {
		err = seg.f.Sync()
	}
	if err != nil {
		d.stats.WriteErrors++
		// A failed fsync leaves the written bytes' fate unknown while the
		// caller is told they were not written: cut them off either way.
		if terr := seg.f.Truncate(at); terr != nil {
			d.wbroken = true
			d.logf("cannot cut back a failed write (%s); the next write starts a new file", terr)
		}
		return nil, 0, err
	}
	seg.size += int64(len(buf))
	d.unsynced = d.opts.NoSync
	return seg, at, nil
}

func (d *DeadSet) writeNewSegment(buf []byte) (*deadSegment, int64, error) {
	num := int64(0)
	if n := len(d.segs); n > 0 {
		num = d.segs[n-1].num + 1
		// Files are sealed fsynced, NoSync or not, so that only the
		// newest can hold writes a Sync has yet to flush.
		if last := &d.segs[n-1]; d.unsynced && last.f != nil {
			if err := last.f.Sync(); err != nil {
				d.stats.WriteErrors++
				return nil, 0, err
			}
		}
	}
	path := d.segmentPath(num)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		d.stats.WriteErrors++
		return nil, 0, err
	}
	data := appendDeadSegmentHeader(make([]byte, 0, deadSegHeaderSize+len(buf)))
	data = append(data, buf...)
	_, err = f.WriteAt(data, 0)
	if err == nil && !d.opts.NoSync {
		err = f.Sync()
		if err == nil {
			err = syncDeadDir(d.opts.Dir)
		}
	}
	if err != nil {
		d.stats.WriteErrors++
		f.Close()
		os.Remove(path)
		return nil, 0, err
	}
	d.segs = append(d.segs, deadSegment{num: num, f: f, size: int64(len(data))})
	d.wbroken = false
	d.unsynced = d.opts.NoSync
	return &d.segs[len(d.segs)-1], deadSegHeaderSize, nil
}

func syncDeadDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// deadReadRun bounds the bytes one read call fetches for a run of
// adjacent records (a single larger record is read alone).
const deadReadRun = 1 << 20

// readMany reads the records of the entries at the sorted indexes idx,
// with one read call per run of records adjacent on disk. A record that no
// longer checks out is dropped from the index and counted as damage (a
// reopen would skip it the same way); kept lists the indexes of the
// messages returned. Messages read by one run share one buffer.
func (d *DeadSet) readMany(idx []int) (msgs []DeadMessage, kept []int, err error) {
	msgs = make([]DeadMessage, 0, len(idx))
	kept = make([]int, 0, len(idx))
	for start := 0; start < len(idx); {
		first := &d.entries[idx[start]]
		total := deadRecHeaderSize + int64(first.length)
		end := start + 1
		for ; end < len(idx); end++ {
			prev, e := &d.entries[idx[end-1]], &d.entries[idx[end]]
			size := deadRecHeaderSize + int64(e.length)
			if e.seg != first.seg || e.off != prev.off+deadRecHeaderSize+int64(prev.length) || total+size > deadReadRun {
				break
			}
			total += size
		}
		seg := d.segFor(first.seg)
		if seg == nil {
			return msgs, kept, fmt.Errorf("record %d: segment %d is gone", first.seq, first.seg)
		}
		if seg.f == nil {
			if err := d.openSegment(seg); err != nil {
				return msgs, kept, err
			}
		}
		buf := make([]byte, total)
		if _, err := seg.f.ReadAt(buf, first.off); err != nil {
			return msgs, kept, fmt.Errorf("read %s at %d: %w", deadSegmentName(d.opts.Name, seg.num), first.off, err)
		}
		for _, i := range idx[start:end] {
			e := &d.entries[i]
			n := deadRecHeaderSize + int(e.length)
			if m, ok := d.check(i, buf[:n:n]); ok {
				msgs = append(msgs, m)
				kept = append(kept, i)
			}
			buf = buf[n:]
		}
		start = end
	}
	return msgs, kept, nil
}

// check decodes the framed record b read for entry i, or drops the entry
// as damage when b does not check out or is not that record.
func (d *DeadSet) check(i int, b []byte) (DeadMessage, bool) {
	e := &d.entries[i]
	f, ok := parseDeadFrame(b, 0)
	var m DeadMessage
	var err error = errDeadPayload
	if ok && f.length == e.length && deadChecksum(b[deadRecHeaderSize:]) == f.dataCRC {
		m, err = decodeDeadMessage(b[deadRecHeaderSize:])
	}
	if err != nil || m.Seq != e.seq {
		d.logf("%s: record %d at offset %d no longer checks out; skipped", deadSegmentName(d.opts.Name, e.seg), e.seq, e.off)
		d.stats.SkippedRecords++
		d.stats.SkippedBytes += int64(len(b))
		d.remove(i)
		return DeadMessage{}, false
	}
	return m, true
}

// openSegment opens seg's file: read-write when it is the newest (which
// takes the writes), read-only otherwise (an older one is never written).
func (d *DeadSet) openSegment(seg *deadSegment) error {
	flag := os.O_RDONLY
	if seg == &d.segs[len(d.segs)-1] {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(d.segmentPath(seg.num), flag, 0)
	if err != nil {
		return err
	}
	seg.f = f
	return nil
}

func (d *DeadSet) segFor(num int64) *deadSegment {
	k := sort.Search(len(d.segs), func(k int) bool { return d.segs[k].num >= num })
	if k < len(d.segs) && d.segs[k].num == num {
		return &d.segs[k]
	}
	return nil
}

// remove marks entry i removed, whatever its state, keeping the counts.
func (d *DeadSet) remove(i int) {
	e := &d.entries[i]
	switch e.state {
	case deadRemoved:
		return
	case deadAvailable:
		d.depth--
		d.bytes -= int64(e.body)
	case deadTaken:
		d.taken--
	}
	e.state = deadRemoved
	if seg := d.segFor(e.seg); seg != nil {
		seg.live--
	}
}

// release forgets the removed entries at the front of the index and
// deletes the oldest segments that hold nothing live any more (never the
// newest, which takes the writes and keeps the highest seq known). The
// removals are on disk by then, in the same or a later segment.
func (d *DeadSet) release() {
	for d.head < len(d.entries) && d.entries[d.head].state == deadRemoved {
		d.head++
	}
	if d.head == len(d.entries) {
		clear(d.entries)
		d.entries, d.head = d.entries[:0], 0
	} else if d.head >= 1024 && d.head*2 >= len(d.entries) {
		n := copy(d.entries, d.entries[d.head:])
		clear(d.entries[n:])
		d.entries, d.head = d.entries[:n], 0
	}
	for len(d.segs) > 1 && d.segs[0].live == 0 {
		seg := &d.segs[0]
		if seg.f != nil {
			seg.f.Close()
			seg.f = nil
		}
		if err := os.Remove(d.segmentPath(seg.num)); err != nil && !errors.Is(err, os.ErrNotExist) {
			d.stats.WriteErrors++
			d.logf("cannot remove %s, retrying later: %s", deadSegmentName(d.opts.Name, seg.num), err)
			return
		}
		d.segs = d.segs[1:]
	}
}

// oldestAvailable returns the indexes of the n oldest available entries.
func (d *DeadSet) oldestAvailable(n int) []int {
	var idx []int
	for i := d.head; i < len(d.entries) && len(idx) < n; i++ {
		if d.entries[i].state == deadAvailable {
			idx = append(idx, i)
		}
	}
	return idx
}

// takenIndexes returns the sorted indexes of the entries named by msgs'
// Seqs that are taken now.
func (d *DeadSet) takenIndexes(msgs []DeadMessage) []int {
	var idx []int
	for _, m := range msgs {
		k := d.head + sort.Search(len(d.entries)-d.head, func(k int) bool { return d.entries[d.head+k].seq >= m.Seq })
		if k < len(d.entries) && d.entries[k].seq == m.Seq && d.entries[k].state == deadTaken {
			idx = append(idx, k)
		}
	}
	sort.Ints(idx)
	// A message passed twice is one removal.
	out := idx[:0]
	for i, k := range idx {
		if i == 0 || k != idx[i-1] {
			out = append(out, k)
		}
	}
	return out
}

// rangesFor returns the fewest seq ranges covering the entries at the
// sorted indexes idx: a range runs on across entries already removed, so
// the usual removal from the front of the set is one range.
func (d *DeadSet) rangesFor(idx []int) []deadRange {
	var ranges []deadRange
	if len(idx) == 0 {
		return nil
	}
	open := false
	j := 0
	for i := idx[0]; i <= idx[len(idx)-1]; i++ {
		e := &d.entries[i]
		selected := j < len(idx) && idx[j] == i
		if selected {
			j++
		}
		switch {
		case selected && !open:
			ranges = append(ranges, deadRange{e.seq, e.seq})
			open = true
		case selected || (open && e.state == deadRemoved):
			ranges[len(ranges)-1].last = e.seq
		default:
			open = false
		}
	}
	return ranges
}
