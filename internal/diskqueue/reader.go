package diskqueue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// segReader parses one segment file into records and damaged regions. It
// reads through a private buffer with large positional reads, so parsing
// costs one syscall per buffer fill, not one per record.
//
// The same type serves Read, recovery at Open and the fuzz test, so the code
// that decides what is a record is exercised by all three.
//
// Progress guarantee: every parse call either advances pos, advances the
// damage scan, ends, or asks for a fill that reads at least one byte or
// lowers limit to the real end of the file. A parse/fill loop therefore
// terminates on any input.
type segReader struct {
	src    io.ReaderAt
	format format
	bounds bounds

	pos      int64 // file offset of the next item
	atHeader bool  // version-1 segment at offset 0 whose header is not checked yet
	limit    int64 // end of the readable bytes (exclusive)
	short    bool  // src ended before limit; limit was lowered to its real end

	buf    []byte // buffered bytes: buf[:n] holds file offsets [bufOff, bufOff+n)
	bufOff int64
	n      int
	chunk  int // preferred fill size

	// Damage scan state: bytes from scanFrom are damaged; scanAt is the next
	// candidate offset for an intact record header.
	scanning bool
	scanFrom int64
	scanAt   int64
	reason   string

	needAt int64 // itemNeedMore: fill must buffer need bytes starting at needAt
	need   int64

	// noBig is 1 + the offset of a record readBig failed to read (0 for
	// none): bigNext declines it, so that parse, not another readBig,
	// decides what it is. Without it a big record larger than a fill
	// that readBig declines (damage, a file cut short) would be offered to
	// readBig again after every fill, for ever.
	noBig int64
	// fitChunk: a buffer grown past chunk for one version-1 record goes
	// back to chunk at the next fill that needs no more (Read's readers;
	// README, "Disk backlog read: big records straight into their
	// memory"). Only a record parse reads whole through the buffer grows
	// it, which Read leaves to damage and failed reads: kept grown, the
	// buffer would hold the next big records whole and have them copied
	// out of it.
	fitChunk bool
}

// bounds are the record lengths a segment reader accepts.
type bounds struct {
	legacyMin, legacyMax int64 // upstream framing: the configured message bounds
	v1Max                int64 // ours: checksummed, so only memory bounds it
}

func boundsFor(o Options) bounds {
	return bounds{
		legacyMin: int64(o.MinMsgSize),
		legacyMax: int64(o.MaxMsgSize),
		v1Max:     max(int64(o.MaxMsgSize), readCeiling),
	}
}

const defaultChunk = 256 << 10

type itemKind int

const (
	itemNeedMore itemKind = iota // call fill, then parse again
	itemRecord                   // data holds one record
	itemDamage                   // [start, end) is damaged and skipped
	itemEnd                      // pos reached limit
)

type item struct {
	kind       itemKind
	start, end int64  // file offsets covered by the item
	data       []byte // itemRecord: aliases the buffer until the next fill
	records    int64  // itemDamage: records lost, a lower bound
	reason     string // itemDamage: what was wrong
}

// reset points the reader at a new source, keeping the buffer's memory.
func (s *segReader) reset(src io.ReaderAt, f format, b bounds, pos, limit int64) {
	s.src, s.format, s.bounds = src, f, b
	s.limit, s.short = limit, false
	s.seek(pos)
}

// seek moves to pos and forgets buffered bytes and any scan in progress. A
// position inside our segment header means "before the header".
func (s *segReader) seek(pos int64) {
	if s.format == formatV1 && pos > 0 && pos < segHeaderSize {
		pos = 0
	}
	s.pos = pos
	s.atHeader = s.format == formatV1 && pos == 0
	s.bufOff, s.n = pos, 0
	s.scanning, s.short = false, false
	s.noBig = 0
}

// setLimit moves the end of the readable bytes, as the writer appends to the
// segment being read.
func (s *segReader) setLimit(limit int64) {
	s.limit, s.short = limit, false
}

// release drops the buffer of an idle reader; the next fill allocates again.
func (s *segReader) release() {
	s.buf, s.n, s.bufOff = nil, 0, s.pos
}

// avail returns the buffered bytes from file offset off on (nil when off is
// outside the buffer).
func (s *segReader) avail(off int64) []byte {
	if off < s.bufOff || off > s.bufOff+int64(s.n) {
		return nil
	}
	return s.buf[off-s.bufOff : s.n]
}

func (s *segReader) needMore(at, need int64) item {
	s.needAt, s.need = at, need
	return item{kind: itemNeedMore}
}

// fill buffers at least the bytes the last itemNeedMore asked for, reading
// ahead up to the buffer size. Bytes before needAt are dropped: they are
// consumed or known to be damaged (damaged bytes are copied to their side
// file from the file, not from the buffer).
func (s *segReader) fill() error {
	keep := s.needAt
	if d := keep - s.bufOff; d < 0 || d > int64(s.n) {
		s.bufOff, s.n = keep, 0
	} else if d > 0 {
		s.n = copy(s.buf, s.buf[d:s.n])
		s.bufOff = keep
	}
	chunk := s.chunkSize()
	// shrink: the buffer grew for a record it no longer holds.
	shrink := s.fitChunk && s.format == formatV1 && cap(s.buf) > chunk &&
		s.need <= int64(chunk) && s.n <= chunk
	if int64(cap(s.buf)) < s.need || s.buf == nil || shrink {
		nb := make([]byte, max(s.need, int64(chunk)))
		copy(nb, s.buf[:s.n])
		s.buf = nb
	}
	s.buf = s.buf[:cap(s.buf)]
	end := s.bufOff + int64(s.n)
	room := min(int64(len(s.buf)-s.n), s.limit-end)
	if room <= 0 {
		// Unreachable while parse only asks for bytes below limit; failing
		// here keeps a bug from turning into an endless loop.
		return fmt.Errorf("segment reader: no room to fill at %d (limit %d)", end, s.limit)
	}
	m, err := s.src.ReadAt(s.buf[s.n:s.n+int(room)], end)
	s.n += m
	if errors.Is(err, io.EOF) {
		// The file ends before limit: what is missing is handled like any
		// other truncation by the parse that follows.
		s.limit, s.short = end+int64(m), true
		return nil
	}
	if err != nil {
		return fmt.Errorf("read at %d: %w", end, err)
	}
	return nil
}

// next parses the next item, filling the buffer as needed. Record data
// aliases the buffer and stays valid only until the next call.
func (s *segReader) next() (item, error) {
	for {
		it := s.parse()
		if it.kind != itemNeedMore {
			return it, nil
		}
		if err := s.fill(); err != nil {
			return item{}, err
		}
	}
}

// parse decodes the next item from buffered bytes only.
func (s *segReader) parse() item {
	if s.scanning {
		return s.scan()
	}
	if s.pos >= s.limit {
		return item{kind: itemEnd, start: s.pos, end: s.pos}
	}
	switch {
	case s.format == formatLegacy:
		return s.parseLegacy()
	case s.atHeader:
		return s.parseHeader()
	default:
		return s.parseRecord()
	}
}

func (s *segReader) damage(start, end, records int64, reason string) item {
	s.pos = end
	return item{kind: itemDamage, start: start, end: end, records: records, reason: reason}
}

// parseHeader checks our segment header at offset 0.
func (s *segReader) parseHeader() item {
	want := min(int64(segHeaderSize), s.limit)
	b := s.avail(0)
	if int64(len(b)) < want {
		return s.needMore(0, want)
	}
	// Whatever the header says, it is examined once: records are parsed
	// from here on, even one found at offset 0 of a headerless segment.
	s.atHeader = false
	st, v := checkSegmentHeader(b[:want])
	switch st {
	case headerOK:
		s.pos = segHeaderSize
		return s.parse()
	case headerBadChecksum:
		// Nothing in the header is needed to read version-1 records, and
		// each record checks itself: note the damage and read on.
		return s.damage(0, segHeaderSize, 0, "segment header checksum mismatch")
	case headerNewer:
		return s.damage(0, s.limit, 1, fmt.Sprintf("segment format version %d is newer than this reader", v))
	case headerTorn:
		return s.damage(0, s.limit, 0, "segment shorter than its header")
	default: // headerNoMagic
		return s.startScan(0, 0, "segment header missing")
	}
}

// parseRecord decodes a version-1 record at pos.
func (s *segReader) parseRecord() item {
	rem := s.limit - s.pos
	if rem < recHeaderSize {
		return s.startScan(s.pos, s.pos+1, "truncated record header")
	}
	b := s.avail(s.pos)
	if len(b) < recHeaderSize {
		return s.needMore(s.pos, recHeaderSize)
	}
	h, ok := parseRecordHeader(b)
	if !ok {
		return s.startScan(s.pos, s.pos+1, "record header checksum mismatch")
	}
	if int64(h.length) > s.bounds.v1Max {
		return s.startScan(s.pos, s.pos+1, fmt.Sprintf("record length %d over the limit %d", h.length, s.bounds.v1Max))
	}
	total := recHeaderSize + int64(h.length)
	if total > rem {
		return s.startScan(s.pos, s.pos+1, "record runs past the end of the segment")
	}
	if int64(len(b)) < total {
		return s.needMore(s.pos, total)
	}
	start := s.pos
	data := b[recHeaderSize:total]
	if checksum(data) != h.dataCRC {
		// The header checksum vouches for the length, so exactly this record
		// is lost and the next one starts right after it.
		return s.damage(start, start+total, 1, "record checksum mismatch")
	}
	s.pos = start + total
	return item{kind: itemRecord, start: start, end: s.pos, data: data}
}

// nextIntact is parse for the common case of Read: when the next item is
// an intact version-1 record wholly buffered, it moves past it and returns
// its start and data (aliasing the buffer until the next fill), without
// building an item. Anything else (a segment header, damage, a record not
// wholly buffered, the end, upstream's format, a scan in progress) returns
// ok false and leaves the reader as it was, for parse to decide: the checks
// are parseRecord's, so both accept exactly the same records.
func (s *segReader) nextIntact() (start int64, data []byte, ok bool) {
	if s.scanning || s.format != formatV1 || s.atHeader {
		return 0, nil, false
	}
	rem := s.limit - s.pos
	b := s.avail(s.pos)
	if rem < recHeaderSize || len(b) < recHeaderSize {
		return 0, nil, false
	}
	h, hok := parseRecordHeader(b)
	total := recHeaderSize + int64(h.length)
	if !hok || int64(h.length) > s.bounds.v1Max || total > rem || int64(len(b)) < total {
		return 0, nil, false
	}
	data = b[recHeaderSize:total]
	if checksum(data) != h.dataCRC {
		return 0, nil, false
	}
	start = s.pos
	s.pos += total
	return start, data, true
}

// bigNext reports the header of the next item when it is a version-1
// record of more than minLen bytes whose intact header is buffered but whose
// data is not wholly buffered: a record readBig can read straight into
// memory of its own. It checks what parseRecord checks of the header and
// moves nothing; it declines a record readBig already failed to read
// (noBig), which parse decides.
func (s *segReader) bigNext(minLen int) (h recordHeader, ok bool) {
	if s.scanning || s.format != formatV1 || s.atHeader {
		return h, false
	}
	rem := s.limit - s.pos
	b := s.avail(s.pos)
	if rem < recHeaderSize || len(b) < recHeaderSize {
		return h, false
	}
	h, ok = parseRecordHeader(b)
	total := recHeaderSize + int64(h.length)
	if !ok || int64(h.length) <= int64(minLen) || int64(h.length) > s.bounds.v1Max ||
		total > rem || int64(len(b)) >= total || s.noBig == s.pos+1 {
		return h, false
	}
	return h, true
}

// readBig reads the record bigNext found (header h) into dst's array (len
// ignored, cap at least h.length): the part already buffered is copied,
// the rest is read from the file straight into dst, so a big record's
// bytes are not read into the buffer and copied out again (README, "Disk
// backlog read: big records straight into their memory"). The same read
// takes as much of the next record's header as fits in dst's spare
// capacity (up to recHeaderSize bytes, never past limit) and buffers it,
// so that a run of big records costs one read each and the next record's
// length is known without a fill.
//
// It returns the record's start and data (dst[:h.length]) once the data
// checksum matched, moving past the record like parseRecord. Anything else
// (a read error, the file shorter than limit, a checksum mismatch) returns
// ok false with pos where it was and nothing buffered, and bigNext
// declines the record from then on: parse then fills from the file and
// decides exactly as it would have (damage, truncation, the error), so
// readBig accepts nothing parse would not.
func (s *segReader) readBig(h recordHeader, dst []byte) (start int64, data []byte, ok bool) {
	start = s.pos
	n := int64(h.length)
	next := start + recHeaderSize + n
	have := copy(dst[:n], s.avail(start)[recHeaderSize:])
	ahead := min(int64(cap(dst))-n, recHeaderSize, s.limit-next)
	buf := dst[:n+ahead]
	m, err := s.src.ReadAt(buf[have:], start+recHeaderSize+int64(have))
	if m < len(buf)-have || (err != nil && !errors.Is(err, io.EOF)) {
		s.bufOff, s.n, s.noBig = start, 0, start+1
		return 0, nil, false
	}
	data = buf[:n:n]
	if checksum(data) != h.dataCRC {
		s.bufOff, s.n, s.noBig = start, 0, start+1
		return 0, nil, false
	}
	s.pos, s.bufOff = next, next
	s.n = copy(s.buf, buf[n:])
	if want := min(recHeaderSize, s.limit-next); int64(s.n) < want && n >= int64(s.chunkSize()) &&
		len(s.buf) >= recHeaderSize {
		// No room for the next header in dst (a record that fills its
		// slab exactly): read the rest of it on its own. Else the next
		// fill would read a buffer's worth of the next record, most
		// likely as big, only for readBig to copy it out. Records of less
		// than a buffer leave it to the fill, which reads several of them
		// at once. What this read gets is only buffered: a short read or
		// an error leaves the rest to the next fill and parse.
		m, _ := s.src.ReadAt(s.buf[s.n:want], next+int64(s.n))
		s.n += m
	}
	return start, data, true
}

// chunkSize is the size of a fill.
func (s *segReader) chunkSize() int {
	if s.chunk > 0 {
		return s.chunk
	}
	return defaultChunk
}

func (s *segReader) startScan(from, at int64, reason string) item {
	s.scanning, s.scanFrom, s.scanAt, s.reason = true, from, at, reason
	return s.scan()
}

// scan looks for the next offset holding an intact record header whose
// record fits in the segment. The header checksum makes a false match
// unlikely (2^-32 per offset, after the length check); the record's own
// checksum is verified by the parse that follows.
func (s *segReader) scan() item {
	for {
		left := s.limit - s.scanAt
		if left < recHeaderSize {
			return s.endScan(s.limit)
		}
		b := s.avail(s.scanAt)
		if len(b) < recHeaderSize {
			return s.needMore(s.scanAt, recHeaderSize)
		}
		last := int64(len(b) - recHeaderSize) // last candidate index with a full header buffered
		last = min(last, left-recHeaderSize)
		for i := int64(0); i <= last; i++ {
			length := int64(binary.BigEndian.Uint32(b[i:]))
			if length > s.bounds.v1Max || i+recHeaderSize+length > left {
				continue
			}
			if _, ok := parseRecordHeader(b[i:]); ok {
				return s.endScan(s.scanAt + i)
			}
		}
		s.scanAt += last + 1
	}
}

func (s *segReader) endScan(at int64) item {
	s.scanning = false
	records := int64(1)
	if s.scanFrom == 0 && at <= segHeaderSize {
		records = 0 // only the segment header was damaged
	}
	if at == s.scanFrom {
		s.pos = at
		return s.parse()
	}
	return s.damage(s.scanFrom, at, records, s.reason)
}

// parseLegacy decodes an upstream record (int32 BE length + payload) at pos.
// Without a checksum the length bounds are the only check, and a bad length
// leaves no way to find the next record: like upstream, the rest of the
// segment is given up (and kept in the side file).
func (s *segReader) parseLegacy() item {
	rem := s.limit - s.pos
	if rem < legacyHeaderSize {
		return s.damage(s.pos, s.limit, 1, "truncated record length")
	}
	b := s.avail(s.pos)
	if len(b) < legacyHeaderSize {
		return s.needMore(s.pos, legacyHeaderSize)
	}
	length := int64(int32(binary.BigEndian.Uint32(b)))
	if length < s.bounds.legacyMin || length > s.bounds.legacyMax {
		return s.damage(s.pos, s.limit, 1, fmt.Sprintf("invalid message read size (%d)", length))
	}
	total := legacyHeaderSize + length
	if total > rem {
		return s.damage(s.pos, s.limit, 1, "record runs past the end of the segment")
	}
	if int64(len(b)) < total {
		return s.needMore(s.pos, total)
	}
	start := s.pos
	s.pos += total
	return item{kind: itemRecord, start: start, end: s.pos, data: b[legacyHeaderSize:total]}
}
