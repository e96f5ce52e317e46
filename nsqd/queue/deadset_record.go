package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// The dead set's files are specified in DEADSET.md beside this file; the
// constants below are its numbers. Every identifier of the dead set starts
// with "dead" so that the rest of this package can grow without clashes.

// deadMagic opens every dead-set segment. Its first byte has the high bit
// set, as diskqueue's magic does, so no text or upstream length starts with it.
var deadMagic = [8]byte{0x89, 'N', 'S', 'Q', 'D', 'E', 'A', 'D'}

const (
	deadFormatVersion  = 1
	deadSegHeaderSize  = 16 // magic, version, flags, CRC32C of bytes 0..11
	deadRecHeaderSize  = 12 // length, CRC32C of the payload, CRC32C of bytes 0..7
	deadRecordMinSize  = 44 // a dead record's payload without its body
	deadRemoveMinSize  = 22 // a remove record's payload with one range
	deadRangeSize      = 16
	deadKindMessage    = 1
	deadKindRemove     = 2
	deadMaxRemoveRange = 1 << 20 // ranges per remove record accepted on read
	// deadMaxSeq bounds seqs on read and write, so that arithmetic on them
	// never wraps, whatever a (checksummed but wrong) record says. At a
	// million messages a second it lasts 146,000 years.
	deadMaxSeq = 1 << 62
)

// deadCastagnoli is the CRC32C table, written once at init and only read.
var deadCastagnoli = crc32.MakeTable(crc32.Castagnoli)

func deadChecksum(b []byte) uint32 { return crc32.Checksum(b, deadCastagnoli) }

// DeadReason says why a message died.
type DeadReason uint8

// The reasons a message enters the dead set. Their numbers are stored on
// disk: never renumber them.
const (
	DeadMaxAttempts DeadReason = 1 // a timeout or REQ would have gone past max_attempts
	DeadExpired     DeadReason = 2 // older than its TTL before it was delivered
	DeadOverflow    DeadReason = 3 // dropped from a full queue by drop-oldest
)

// String is the reason's name in the HTTP API and /stats.
func (r DeadReason) String() string {
	switch r {
	case DeadMaxAttempts:
		return "max_attempts"
	case DeadExpired:
		return "expired"
	case DeadOverflow:
		return "overflow"
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// ParseDeadReason is the inverse of String.
func ParseDeadReason(s string) (DeadReason, error) {
	for _, r := range []DeadReason{DeadMaxAttempts, DeadExpired, DeadOverflow} {
		if s == r.String() {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unknown dead reason %q (want max_attempts, expired or overflow)", s)
}

func (r DeadReason) valid() bool { return r >= DeadMaxAttempts && r <= DeadOverflow }

// DeadMessage is one message in a dead set: the message as it was when it
// died, why and when.
type DeadMessage struct {
	// Seq is the message's place in its dead set, assigned by Add (the
	// value passed in is ignored): increasing in the order messages died,
	// never reused by the same files, 0 never. Peek pages with it.
	Seq       uint64
	ID        [16]byte
	Body      []byte
	Timestamp int64 // the message's publish time, as the message carries it (ns)
	Attempts  uint16
	Reason    DeadReason
	DiedAt    int64 // when it died (ns), as the caller's clock said
}

// deadRemoveCause says why records were removed; stored, for inspection
// of the files.
type deadRemoveCause uint8

const (
	deadRemovedRedriven deadRemoveCause = 1
	deadRemovedDropped  deadRemoveCause = 2
	deadRemovedEmptied  deadRemoveCause = 3
)

// deadRange is an inclusive range of seqs.
type deadRange struct{ first, last uint64 }

// appendDeadFrame appends the 12-byte record header for payload, then
// payload, to dst.
func appendDeadFrame(dst, payload []byte) []byte {
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.BigEndian.AppendUint32(dst, deadChecksum(payload))
	dst = binary.BigEndian.AppendUint32(dst, deadChecksum(dst[start:start+8]))
	return append(dst, payload...)
}

// appendDeadMessage appends the framed record of m (with its Seq) to dst.
// The payload is encoded in place and the header filled in after it, so
// that adding a message allocates nothing once dst has room.
func appendDeadMessage(dst []byte, m *DeadMessage) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, deadRecHeaderSize)...)
	dst = appendDeadMessagePayload(dst, m)
	h := dst[start : start+deadRecHeaderSize]
	binary.BigEndian.PutUint32(h[0:4], uint32(len(dst)-start-deadRecHeaderSize))
	binary.BigEndian.PutUint32(h[4:8], deadChecksum(dst[start+deadRecHeaderSize:]))
	binary.BigEndian.PutUint32(h[8:12], deadChecksum(h[0:8]))
	return dst
}

func appendDeadMessagePayload(dst []byte, m *DeadMessage) []byte {
	dst = append(dst, deadKindMessage)
	dst = binary.BigEndian.AppendUint64(dst, m.Seq)
	dst = append(dst, m.ID[:]...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(m.Timestamp))
	dst = binary.BigEndian.AppendUint16(dst, m.Attempts)
	dst = append(dst, byte(m.Reason))
	dst = binary.BigEndian.AppendUint64(dst, uint64(m.DiedAt))
	return append(dst, m.Body...)
}

// appendDeadRemove appends the framed remove record for ranges to dst.
func appendDeadRemove(dst []byte, cause deadRemoveCause, ranges []deadRange) []byte {
	payload := make([]byte, 0, 6+deadRangeSize*len(ranges))
	payload = append(payload, deadKindRemove, byte(cause))
	payload = binary.BigEndian.AppendUint32(payload, uint32(len(ranges)))
	for _, r := range ranges {
		payload = binary.BigEndian.AppendUint64(payload, r.first)
		payload = binary.BigEndian.AppendUint64(payload, r.last)
	}
	return appendDeadFrame(dst, payload)
}

func appendDeadSegmentHeader(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, deadMagic[:]...)
	dst = binary.BigEndian.AppendUint16(dst, deadFormatVersion)
	dst = binary.BigEndian.AppendUint16(dst, 0)
	return binary.BigEndian.AppendUint32(dst, deadChecksum(dst[start:start+12]))
}

var errDeadPayload = errors.New("malformed record payload")

// decodeDeadMessage decodes a dead record's payload. Body aliases payload.
func decodeDeadMessage(payload []byte) (DeadMessage, error) {
	var m DeadMessage
	if len(payload) < deadRecordMinSize || payload[0] != deadKindMessage {
		return m, errDeadPayload
	}
	m.Seq = binary.BigEndian.Uint64(payload[1:9])
	copy(m.ID[:], payload[9:25])
	m.Timestamp = int64(binary.BigEndian.Uint64(payload[25:33]))
	m.Attempts = binary.BigEndian.Uint16(payload[33:35])
	m.Reason = DeadReason(payload[35])
	m.DiedAt = int64(binary.BigEndian.Uint64(payload[36:44]))
	m.Body = payload[44:len(payload):len(payload)]
	if m.Seq == 0 || m.Seq > deadMaxSeq || !m.Reason.valid() {
		return DeadMessage{}, errDeadPayload
	}
	return m, nil
}

// decodeDeadRemove decodes a remove record's payload. Its ranges must be
// non-empty, each first ≤ last, sorted and disjoint, and within
// [1, deadMaxSeq].
func decodeDeadRemove(payload []byte) (deadRemoveCause, []deadRange, error) {
	if len(payload) < deadRemoveMinSize || payload[0] != deadKindRemove {
		return 0, nil, errDeadPayload
	}
	cause := deadRemoveCause(payload[1])
	if cause < deadRemovedRedriven || cause > deadRemovedEmptied {
		return 0, nil, errDeadPayload
	}
	k := binary.BigEndian.Uint32(payload[2:6])
	// The count is checked against the bytes present before anything is
	// allocated by it.
	if k == 0 || k > deadMaxRemoveRange || uint64(len(payload)-6) != uint64(k)*deadRangeSize {
		return 0, nil, errDeadPayload
	}
	ranges := make([]deadRange, k)
	var prev uint64
	for i := range ranges {
		b := payload[6+i*deadRangeSize:]
		r := deadRange{binary.BigEndian.Uint64(b[0:8]), binary.BigEndian.Uint64(b[8:16])}
		if r.first == 0 || r.first > r.last || r.last > deadMaxSeq || (i > 0 && r.first <= prev) {
			return 0, nil, errDeadPayload
		}
		prev = r.last
		ranges[i] = r
	}
	return cause, ranges, nil
}

// deadFrame is a record header that checked out and whose payload lies
// within the bytes given.
type deadFrame struct {
	length  uint32
	dataCRC uint32
}

func parseDeadFrame(b []byte, off int) (deadFrame, bool) {
	if len(b)-off < deadRecHeaderSize {
		return deadFrame{}, false
	}
	h := b[off : off+deadRecHeaderSize]
	if binary.BigEndian.Uint32(h[8:12]) != deadChecksum(h[0:8]) {
		return deadFrame{}, false
	}
	f := deadFrame{binary.BigEndian.Uint32(h[0:4]), binary.BigEndian.Uint32(h[4:8])}
	if uint64(len(b)-off-deadRecHeaderSize) < uint64(f.length) {
		return deadFrame{}, false
	}
	return f, true
}

// deadItem is one intact record found by a scan, decoded as far as the
// index needs: a message's seq and body length, a removal's ranges.
type deadItem struct {
	off    int64 // start of the framed record
	seq    uint64
	ranges []deadRange
	length uint32
	bodyN  uint32
	kind   byte
}

// deadScan is what a scan of one segment's bytes found.
type deadScan struct {
	headerOK bool // the 16-byte header is intact
	newer    bool // the header names a format version this build does not know
	version  int  // when newer
	items    []deadItem
	end      int64 // just past the last intact record (or the header)
	// Damage before end: regions skipped, counted as records (a lower
	// bound: a region whose boundaries are unknown counts as one).
	skippedRecords, skippedBytes int64
	// tail is the number of bytes after end that hold no intact record.
	tail int64
}

// scanDeadSegment finds every intact record in b, the whole content of a
// segment. It never panics and never allocates by a length read from b
// before checking that the bytes are there. A record whose header is
// intact but whose payload fails its checksum or does not decode is
// skipped exactly; after a damaged header the scan moves byte by byte to
// the next offset where a header and its payload both check out.
func scanDeadSegment(b []byte) deadScan {
	var s deadScan
	pos := 0
	if len(b) >= deadSegHeaderSize && [8]byte(b[0:8]) == deadMagic {
		if binary.BigEndian.Uint32(b[12:16]) == deadChecksum(b[0:12]) {
			s.headerOK = true
			if v := binary.BigEndian.Uint16(b[8:10]); v != deadFormatVersion {
				s.newer, s.version = true, int(v)
				return s
			}
		}
		// A damaged header costs only its own 16 bytes: records follow
		// at a known place.
		if !s.headerOK {
			s.skippedBytes += deadSegHeaderSize
		}
		pos = deadSegHeaderSize
	}
	s.end = int64(pos)
	// Damage is counted only once an intact record follows it; whatever
	// follows the last intact record is the tail, which the caller judges
	// (a torn write at the end of the newest segment is not damage).
	var pendRecords, pendBytes int64
	damageFrom := -1 // start of a damaged region being crossed
	for pos < len(b) {
		f, ok := parseDeadFrame(b, pos)
		if ok {
			next := pos + deadRecHeaderSize + int(f.length)
			payload := b[pos+deadRecHeaderSize : next]
			if deadChecksum(payload) == f.dataCRC {
				if damageFrom >= 0 {
					pendRecords++
					pendBytes += int64(pos - damageFrom)
					damageFrom = -1
				}
				s.skippedRecords += pendRecords
				s.skippedBytes += pendBytes
				pendRecords, pendBytes = 0, 0
				if it, good := decodeDeadItem(payload); good {
					it.off, it.length = int64(pos), f.length
					s.items = append(s.items, it)
				} else {
					// Intact bytes that do not decode: a record this
					// build cannot use, skipped exactly.
					s.skippedRecords++
					s.skippedBytes += int64(next - pos)
				}
				pos = next
				s.end = int64(pos)
				continue
			}
			if damageFrom < 0 {
				// Payload damaged under an intact header: the header's
				// length is trusted, so exactly this record is skipped.
				pendRecords++
				pendBytes += int64(next - pos)
				pos = next
				continue
			}
		}
		if damageFrom < 0 {
			damageFrom = pos
		}
		pos++
	}
	s.tail = int64(len(b)) - s.end
	return s
}

func decodeDeadItem(payload []byte) (deadItem, bool) {
	var it deadItem
	if len(payload) == 0 {
		return it, false
	}
	it.kind = payload[0]
	switch it.kind {
	case deadKindMessage:
		m, err := decodeDeadMessage(payload)
		if err != nil {
			return it, false
		}
		it.seq, it.bodyN = m.Seq, uint32(len(m.Body))
		return it, true
	case deadKindRemove:
		_, ranges, err := decodeDeadRemove(payload)
		if err != nil {
			return it, false
		}
		it.ranges = ranges
		return it, true
	}
	return it, false
}
