package diskqueue

import (
	"fmt"
	"slices"
)

// Framed holds records already framed as a segment stores them (FORMAT.md,
// "Segment, version 1": each record's 12-byte header, then its bytes), back
// to back, so that the same records can be put into several queues with
// their encoding and checksums computed once: a topic's fan-out writes
// every message to each of its channels' queues (nsqd/queue's Pending),
// which would otherwise each encode and checksum all of them.
//
// The framing does not depend on the queue: a record's header holds only
// its length and checksums, and the segment header a new segment begins
// with is the writer's (PutFramed adds it where the queue needs it). So the
// bytes a queue stores from PutFramed are exactly those Put or PutBatch of
// the same records would have stored.
//
// A Framed is filled by one goroutine (Reset, Frame); once filled, any
// number of PutFramed calls may read it at once, from any goroutines, as
// long as nothing changes it until they have returned.
type Framed struct {
	buf []byte
	// ends[i] is where record i's framed bytes end in buf; record i begins
	// where record i-1 ends (0 for the first).
	ends []int
}

// Reset empties f, keeping its memory for the next batch.
func (f *Framed) Reset() {
	f.buf = f.buf[:0]
	f.ends = f.ends[:0]
}

// Len is the number of records framed.
func (f *Framed) Len() int { return len(f.ends) }

// Frame appends b's records, framed, to f. A record whose Append gives other
// than Size bytes is an error, and f is left as it was before the call.
func (f *Framed) Frame(b Batch) error {
	n := b.Len()
	size := 0
	for i := range n {
		size += recHeaderSize + b.Size(i)
	}
	oldBuf, oldEnds := len(f.buf), len(f.ends)
	// Grown once to its size, as the writer's buffer is.
	f.buf = slices.Grow(f.buf, size)
	f.ends = slices.Grow(f.ends, n)
	for i := range n {
		var err error
		if f.buf, err = appendBatchRecord(f.buf, b, i); err != nil {
			f.buf, f.ends = f.buf[:oldBuf], f.ends[:oldEnds]
			return fmt.Errorf("frame: %w", err)
		}
		f.ends = append(f.ends, len(f.buf))
	}
	return nil
}

// start is where record i's framed bytes begin in buf.
func (f *Framed) start(i int) int {
	if i == 0 {
		return 0
	}
	return f.ends[i-1]
}

// recordSize is the length of record i's bytes, its header excluded.
func (f *Framed) recordSize(i int) int { return f.ends[i] - f.start(i) - recHeaderSize }

// framed returns record i's framed bytes.
func (f *Framed) framed(i int) []byte { return f.buf[f.start(i):f.ends[i]] }

// PutFramed is Put for records from..to-1 of f: the same group commit,
// sync policy, size checks and all-or-nothing outcome, with the records'
// framed bytes copied as they are instead of being encoded and checksummed
// again. The writer reads f, from the caller's or another putter's
// goroutine, only until PutFramed returns.
func (q *Queue) PutFramed(f *Framed, from, to int) (first uint64, err error) {
	if from < 0 || to > f.Len() || from > to {
		return 0, fmt.Errorf("diskqueue %s: put framed: records [%d, %d) of %d", q.opts.Name, from, to, f.Len())
	}
	return q.put(putReq{framed: f, from: from, n: to - from})
}
