package queue

import (
	"bytes"
	"fmt"
)

// scanner is the non-consuming read a backlog offers for peeks
// (*diskqueue.Queue's Scan).
type scanner interface {
	Scan(fn func(data []byte, legacy bool) bool) error
}

// PeekBacklog appends up to n messages of the disk backlog to dst, in the
// order Take reads them, without consuming anything: no record is read,
// acknowledged or moved, and no counter changes (GET /channel/peek). The
// copies own their bodies and hold no receipt. It needs no lock of the
// caller's: the disk queue serialises it with Take's reads. A record that
// does not decode is skipped, as Take skips it.
func (q *Queue) PeekBacklog(dst []Message, n int) ([]Message, error) {
	if q.backlog == nil || n <= 0 {
		return dst, nil
	}
	sc, ok := q.backlog.(scanner)
	if !ok {
		return dst, nil
	}
	before := len(dst)
	dst, err := peekRecords(sc, dst, n)
	if err != nil {
		return dst, fmt.Errorf("peek disk backlog: %w", err)
	}
	return q.peekCursor(dst, n-(len(dst)-before)) // cursor_backlog.go
}

// peekRecords appends up to n of sc's records, decoded, in the order a
// read returns them; a record that does not decode is passed over.
func peekRecords(sc scanner, dst []Message, n int) ([]Message, error) {
	err := sc.Scan(func(data []byte, legacy bool) bool {
		m, err := DecodeRecord(data, legacy)
		if err != nil {
			return true
		}
		m.Body = bytes.Clone(m.Body) // data is the scanner's buffer
		dst = append(dst, m)
		n--
		return n > 0
	})
	return dst, err
}
