package diskqueue

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Peek returns up to maxRecords of the records Read would return next, in
// the same order, without consuming them: the read position, the depth,
// the acknowledgement tracker and the metadata are left as they are, and
// the records carry Seq 0 (there is nothing to acknowledge). It is the
// non-consuming cursor behind GET /channel/peek (nsqd/httpserver/peek.go).
//
// Records finished before the last reopen are skipped as Read skips them.
// Damaged regions are skipped silently: only Read copies them to side
// files, logs and counts them, so a peek changes no file and no counter.
// Peek holds the reader role while it scans (it serialises with Read),
// reading through its own file handles and buffer.
func (q *Queue) Peek(maxRecords int) ([]Record, error) { return peek(q.Scan, maxRecords) }

// peek is Peek through scan, the Queue's Scan or a Cursor's.
func peek(scan func(func(data []byte, legacy bool) bool) error, maxRecords int) ([]Record, error) {
	if maxRecords <= 0 {
		return nil, nil
	}
	var out []Record
	err := scan(func(data []byte, legacy bool) bool {
		out = append(out, Record{Data: append([]byte(nil), data...), Legacy: legacy})
		return len(out) < maxRecords
	})
	return out, err
}

// Scan is Peek without copies: fn is called with each record Read would
// return next, in order, until it returns false or the records end. data
// aliases a buffer and is valid only during the call.
func (q *Queue) Scan(fn func(data []byte, legacy bool) bool) error {
	q.rmu.Lock()
	defer q.rmu.Unlock()
	closed, write := q.writeEnd()
	if closed {
		return ErrClosed
	}
	if q.opts.Log {
		return errLogRead
	}
	replay := q.r.replay // a copy: finished only reslices (progress.go)
	var seg segReader
	_, err := q.scanRange(position{q.r.file, q.r.seg.pos}, write, &seg, &replay, fn)
	return err
}

// scanRange passes the records starting in [from, end) to fn, as Scan
// does, reading through seg; more is false once fn asked to stop. Caller
// holds the reader role whose replay (a copy) it is given.
func (q *Queue) scanRange(from, end position, seg *segReader, replay *replay, fn func([]byte, bool) bool) (more bool, err error) {
	seg.chunk = 64 << 10
	for file := from.file; file <= end.file; file++ {
		pos := int64(0)
		if file == from.file {
			pos = from.off
		}
		if file == end.file && pos >= end.off {
			break
		}
		path := segmentPath(q.opts.Dir, q.opts.Name, file)
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // as Read: a missing segment below the writer's is skipped
		}
		if err != nil {
			return false, fmt.Errorf("peek: open %s: %w", path, err)
		}
		more, err := q.scanSegment(f, file, pos, end.file, end.off, seg, replay, fn)
		f.Close()
		if err != nil || !more {
			return false, err
		}
	}
	return true, nil
}

// scanSegment passes the records of one segment from pos on to fn; more is
// false once fn asked to stop.
func (q *Queue) scanSegment(f *os.File, file, pos, wf, wp int64, seg *segReader, replay *replay, fn func([]byte, bool) bool) (more bool, err error) {
	fm, err := sniffFormat(f, file < q.legacyEnd)
	if err != nil {
		return false, fmt.Errorf("peek: read header of %s: %w", f.Name(), err)
	}
	limit := wp
	if file < wf {
		fi, err := f.Stat()
		if err != nil {
			return false, fmt.Errorf("peek: stat %s: %w", f.Name(), err)
		}
		limit = fi.Size()
	}
	seg.reset(f, fm, q.bounds, pos, limit)
	for {
		it, err := seg.next()
		if err != nil {
			return false, fmt.Errorf("peek %s: %w", f.Name(), err)
		}
		switch it.kind {
		case itemEnd:
			return true, nil
		case itemRecord:
			if replay.finished(position{file, it.start}) {
				continue
			}
			if !fn(it.data, fm == formatLegacy) {
				return false, nil
			}
		}
	}
}
