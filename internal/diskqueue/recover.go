package diskqueue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// segInfo is what Open learns about a segment from its size and first bytes.
type segInfo struct {
	num        int64
	size       int64
	magic      bool // starts with our magic
	legacyLike bool // no magic, and starts with a plausible upstream length
}

// v1 reports whether the segment uses our framing. The magic decides when
// present; otherwise the number does (below legacyEnd: upstream's).
func (in segInfo) v1(legacyEnd int64) bool { return in.magic || in.num >= legacyEnd }

// recover establishes the queue's state from the directory (FORMAT.md,
// "Recovery at Open"): metadata if usable, then the newest segments scanned
// to find the real write end, then a read position that points at data.
func (q *Queue) recover() error {
	o := q.opts
	files, err := listQueueFiles(o.Dir, o.Name)
	if err != nil {
		return err
	}
	for _, t := range files.temps {
		// An interrupted metadata write: the rename never happened, so the
		// metadata file itself is intact (old or new).
		os.Remove(filepath.Join(o.Dir, t))
	}
	infos, err := q.inspectSegments(files.segments)
	if err != nil {
		return err
	}

	loaded, kind, err := readMeta(q.metaPath)
	if kind != metaCorrupt && err != nil || errors.Is(err, errMetaNewer) {
		return fmt.Errorf("%s: %w", q.metaPath, err)
	}
	m := loaded
	rebuild := false
	switch kind {
	case metaUpstream:
		// Upstream's segments stay as they are and are read first; ours start
		// after the last of them.
		m.legacyEnd = m.writeFile + 1
		for _, in := range infos {
			if !in.magic {
				m.legacyEnd = max(m.legacyEnd, in.num+1)
			}
		}
		q.logf("adopting an upstream nsqd queue (depth %d, read %d,%d, write %d,%d); new records go to segment %d on",
			m.depth, m.readFile, m.readPos, m.writeFile, m.writePos, m.legacyEnd)
	case metaCorrupt:
		keep := q.metaPath + ".damaged"
		if rerr := os.Rename(q.metaPath, keep); rerr != nil {
			keep = "not kept: " + rerr.Error()
		}
		q.logf("metadata %s is unreadable (%s), saved as %s; rebuilding it from the segments", q.metaPath, err, keep)
		rebuild = true
	case metaMissing:
		if len(infos) > 0 {
			q.logf("metadata %s is missing but %d segments exist; rebuilding it from the segments", q.metaPath, len(infos))
			rebuild = true
		}
	}
	if rebuild {
		m = meta{}
		for _, in := range infos {
			if in.legacyLike {
				m.legacyEnd = in.num + 1
			}
		}
		if len(infos) > 0 {
			// Start both ends at the oldest segment: the tail recovery below
			// then counts every record.
			m.readFile, m.writeFile = infos[0].num, infos[0].num
		}
	}

	// Segments below the read position were consumed; their removal was
	// interrupted by a crash.
	kept := infos[:0]
	for _, in := range infos {
		if in.num < m.readFile {
			os.Remove(segmentPath(o.Dir, o.Name, in.num))
			continue
		}
		kept = append(kept, in)
	}
	infos = kept

	before := m.depth
	if err := q.recoverTail(&m, infos); err != nil {
		return err
	}
	q.tailRecords = m.depth - before
	q.recoverReadPos(&m, infos)
	if m.readFile == m.writeFile && m.readPos == m.writePos {
		m.depth = 0
	}
	m.depth = max(m.depth, 0)
	if o.Log {
		m.depth = 0 // the cursors count their records (cursor.go)
	}
	rp := q.recoverProgress(&m)

	q.legacyEnd = m.legacyEnd
	q.readFile, q.readPos = m.readFile, m.readPos
	q.writeFile, q.writePos = m.writeFile, m.writePos
	q.depth = m.depth
	q.removeFrom = m.readFile
	q.w.file, q.w.pos = m.writeFile, m.writePos
	q.r.file = m.readFile
	q.r.seg.seek(m.readPos)
	q.replay, q.r.replay = rp, rp

	q.saved = m
	if kind != metaOurs || !m.equal(loaded) {
		// Record the repaired state now, before any write: in particular an
		// adopted queue must not be adopted a second time after a crash.
		if err := q.persistMeta(); err != nil {
			q.logf("cannot persist recovered metadata (will retry): %s", err)
			q.saved = meta{depth: -1} // matches no real state: the next tick retries
		}
	}
	return nil
}

// recoverProgress fits the FIN progress of the metadata (progress.go) to the
// recovered positions and returns what the reader must skip: nothing for
// metadata without progress; never past the write end (data the metadata
// counted may be gone, and records written there later are new); never
// before a read position that recovery moved forward.
func (q *Queue) recoverProgress(m *meta) replay {
	read, write := position{m.readFile, m.readPos}, position{m.writeFile, m.writePos}
	rp := replay{end: m.readEnd, spans: m.unfinished}
	if write.less(rp.end) {
		q.logf("FIN progress ends at %d,%d, past the write end %d,%d; records after the write end will be delivered",
			rp.end.file, rp.end.off, write.file, write.off)
		rp.end = write
		// Cut the spans at the write end, never drop one that starts
		// before it: its records there are still unfinished.
		var kept []span
		for _, s := range rp.spans {
			if s.end().less(write) {
				kept = append(kept, s)
			} else if s.start().less(write) {
				s.last = write.off - 1 // s.file == write.file here
				kept = append(kept, s)
			}
		}
		rp.spans = kept
	}
	m.readEnd, m.unfinished = rp.remaining(read)
	return replay{end: m.readEnd, spans: m.unfinished}
}

// inspectSegments reads each segment's size and first bytes. A segment with
// an intact header naming a newer format version stops Open: that is not
// damage, it is data this build must not touch.
func (q *Queue) inspectSegments(nums []int64) ([]segInfo, error) {
	infos := make([]segInfo, 0, len(nums))
	for _, n := range nums {
		path := segmentPath(q.opts.Dir, q.opts.Name, n)
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		fi, err := f.Stat()
		var b [segHeaderSize]byte
		var k int
		if err == nil {
			k, err = f.ReadAt(b[:], 0)
			if errors.Is(err, io.EOF) {
				err = nil
			}
		}
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("inspect %s: %w", path, err)
		}
		if st, v := checkSegmentHeader(b[:k]); st == headerNewer {
			return nil, fmt.Errorf("segment %s has format version %d; this build reads version %d", path, v, formatVersion)
		}
		in := segInfo{num: n, size: fi.Size(), magic: hasMagic(b[:k])}
		if !in.magic && k >= legacyHeaderSize {
			l := int64(int32(binary.BigEndian.Uint32(b[:])))
			in.legacyLike = l >= int64(q.opts.MinMsgSize) && l <= int64(q.opts.MaxMsgSize)
		}
		infos = append(infos, in)
	}
	return infos, nil
}

// recoverTail finds the real write end. Metadata may be behind the data
// (records written after it was last persisted), so every segment from the
// recorded write segment on is scanned: sealed ones to count their records,
// the newest to find the end of its last intact record, where a torn tail is
// cut off.
func (q *Queue) recoverTail(m *meta, infos []segInfo) error {
	var newest *segInfo
	if len(infos) > 0 {
		newest = &infos[len(infos)-1]
	}
	for i := range infos {
		in := &infos[i]
		if in.num < m.writeFile {
			continue
		}
		from, count := int64(0), true
		if in.num == m.writeFile && m.writePos > 0 {
			from = m.writePos
			if from > in.size {
				q.skipDamage(nil, in.num, item{start: in.size, end: from, records: 1,
					reason: "segment shorter than its metadata says"}, q.countDamage)
				// Records below the metadata's position are in its depth
				// already; rescan only to find the end.
				from, count = 0, false
			}
		}
		if in == newest && in.v1(m.legacyEnd) {
			n, end, err := q.recoverWriteSegment(*in, from)
			if err != nil {
				return err
			}
			if count {
				m.depth += n
			}
			m.writeFile, m.writePos = in.num, end
			return nil
		}
		if count {
			n, err := q.countRecords(*in, from, m.legacyEnd)
			if err != nil {
				return err
			}
			m.depth += n
		}
	}
	// No segment of ours holds the write end: the next write starts a new one.
	if (newest == nil || newest.num < m.writeFile) && m.writePos > 0 && m.writeFile >= m.legacyEnd {
		q.skipDamage(nil, m.writeFile, item{start: 0, end: m.writePos, records: 1,
			reason: "write segment named by the metadata is missing"}, q.countDamage)
	}
	m.writeFile, m.writePos = max(m.writeFile, m.legacyEnd), 0
	if newest != nil && newest.num >= m.writeFile {
		m.writeFile = newest.num + 1
	}
	return nil
}

// recoverWriteSegment scans the newest segment from offset from, counts its
// intact records, and cuts off what follows the last of them. A short tail
// (at most one record long) or an all-zero one is a write interrupted by a
// crash, never acknowledged under SyncEvery=1: it is dropped quietly. A
// longer tail is damage: kept in a side file and counted.
func (q *Queue) recoverWriteSegment(in segInfo, from int64) (records, end int64, err error) {
	path := segmentPath(q.opts.Dir, q.opts.Name, in.num)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	var s segReader
	s.reset(f, formatV1, q.bounds, from, in.size)
	var tail item
	haveTail := false
	for {
		it, err := s.next()
		if err != nil {
			return 0, 0, fmt.Errorf("scan %s: %w", path, err)
		}
		if it.kind == itemEnd {
			break
		}
		if it.kind == itemRecord {
			records++
			haveTail = false
		} else {
			tail, haveTail = it, true
		}
	}
	end = s.limit
	if haveTail && tail.end == end {
		size := tail.end - tail.start
		torn := size <= recHeaderSize+int64(q.opts.MaxMsgSize)
		if !torn {
			if torn, err = allZero(f, tail.start, tail.end); err != nil {
				return 0, 0, fmt.Errorf("scan %s: %w", path, err)
			}
		}
		if torn {
			q.logf("cutting a torn tail of %d bytes at offset %d of %s (a write interrupted by a crash)", size, tail.start, path)
			q.stats.TruncatedBytes += size
		} else {
			q.skipDamage(f, in.num, tail, q.countDamage)
		}
		end = tail.start
	}
	if end < segHeaderSize {
		end = 0 // not even an intact header: the next write starts the file over
	}
	if end < in.size {
		if err := f.Truncate(end); err != nil {
			return 0, 0, fmt.Errorf("truncate %s: %w", path, err)
		}
		if err := fdatasync(f); err != nil {
			return 0, 0, err
		}
	}
	return records, end, nil
}

// countRecords counts the intact records of a sealed segment from offset
// from. Damage is left for the reader to skip and report.
func (q *Queue) countRecords(in segInfo, from, legacyEnd int64) (int64, error) {
	path := segmentPath(q.opts.Dir, q.opts.Name, in.num)
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	fm := formatLegacy
	if in.v1(legacyEnd) {
		fm = formatV1
	}
	var s segReader
	s.reset(f, fm, q.bounds, from, in.size)
	var n int64
	for {
		it, err := s.next()
		if err != nil {
			return 0, fmt.Errorf("scan %s: %w", path, err)
		}
		switch it.kind {
		case itemEnd:
			return n, nil
		case itemRecord:
			n++
		}
	}
}

// recoverReadPos makes the read position point at data: past a segment
// that was consumed and removed after the metadata was written, and not past
// the end of a segment or of the queue.
func (q *Queue) recoverReadPos(m *meta, infos []segInfo) {
	if m.readFile > m.writeFile || (m.readFile == m.writeFile && m.readPos > m.writePos) {
		q.logf("read position %d,%d is past the write end %d,%d; moving it there", m.readFile, m.readPos, m.writeFile, m.writePos)
		m.readFile, m.readPos = m.writeFile, m.writePos
		return
	}
	if m.readFile == m.writeFile {
		return
	}
	for _, in := range infos {
		if in.num < m.readFile {
			continue
		}
		if in.num > m.readFile {
			// The read segment is gone: normal after a crash that followed
			// its removal; the records of the next one are still unread.
			m.readFile, m.readPos = in.num, 0
			return
		}
		if m.readPos > in.size {
			q.skipDamage(nil, in.num, item{start: in.size, end: in.size, records: 1,
				reason: fmt.Sprintf("segment shorter (%d bytes) than the read position %d", in.size, m.readPos)}, q.countDamage)
			m.readPos = in.size
		}
		return
	}
	m.readFile, m.readPos = m.writeFile, 0
}

// allZero reports whether the bytes [start, end) of f are all zero, the
// shape of a file extended by a crash before its data blocks were written.
func allZero(f *os.File, start, end int64) (bool, error) {
	buf := make([]byte, 64<<10)
	for off := start; off < end; {
		n := min(int64(len(buf)), end-off)
		k, err := f.ReadAt(buf[:n], off)
		if err != nil && !errors.Is(err, io.EOF) {
			return false, err
		}
		if k == 0 {
			return true, nil
		}
		for _, c := range buf[:k] {
			if c != 0 {
				return false, nil
			}
		}
		off += int64(k)
	}
	return true, nil
}
