package diskqueue

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// fuzzBounds mirror nsqd's: upstream records of 26..1050 bytes.
var fuzzBounds = bounds{legacyMin: 26, legacyMax: 1050, v1Max: 1050}

// parseAll runs a segment reader over data with the given fill size and
// returns every item (record data copied). It fails the test when the reader
// stops making progress. With intactFirst it parses as Read does: nextIntact
// first, parse when that declines. With bigFrom > 0 too, a record over
// bigFrom bytes that nextIntact declines is offered to bigNext and readBig,
// as Read does with records over maxSlab, into memory with 0 to 40 bytes of
// room after the record (so that the next header is read with it, in part,
// or not at all), both before parse and when parse asks for a fill; after a
// fill the loop starts over, so a record readBig declined is offered again
// exactly as readRun (read.go) would offer it.
func parseAll(t *testing.T, data []byte, fm format, chunk int, intactFirst bool, bigFrom int) []item {
	t.Helper()
	var s segReader
	s.chunk = chunk
	s.fitChunk = bigFrom > 0
	s.reset(bytes.NewReader(data), fm, fuzzBounds, 0, int64(len(data)))
	var items []item
	pos := int64(0)
	if fm == formatV1 && len(data) >= segHeaderSize {
		if st, _ := checkSegmentHeader(data[:segHeaderSize]); st == headerOK {
			pos = segHeaderSize // an intact header is consumed without an item
		}
	}
	big := func(room int) (item, bool) {
		if bigFrom <= 0 {
			return item{}, false
		}
		h, ok := s.bigNext(bigFrom)
		if !ok {
			return item{}, false
		}
		dst := make([]byte, 3, int(h.length)+room) // len is ignored
		start, rec, ok := s.readBig(h, dst)
		if !ok {
			return item{}, false
		}
		return item{kind: itemRecord, start: start, end: s.pos, data: rec}, true
	}
	// Every loop either returns an item or fills, and each fill reads at
	// least a byte or ends the data; a failed readBig drops the buffer
	// once per record.
	maxLoops := 4*len(data) + 64
	for steps, loops := 0, 0; ; loops++ {
		if steps > len(data)+2 || loops > maxLoops {
			t.Fatalf("no end after %d items (%d loops) over %d bytes", steps, loops, len(data))
		}
		room := []int{0, 5, recHeaderSize, 40}[loops%4]
		it, ok := item{}, false
		if intactFirst {
			var start int64
			var rec []byte
			if start, rec, ok = s.nextIntact(); ok {
				it = item{kind: itemRecord, start: start, end: s.pos, data: rec}
			}
		}
		if !ok {
			it, ok = big(room)
		}
		if !ok {
			if !intactFirst {
				var err error
				if it, err = s.next(); err != nil {
					t.Fatalf("next: %v", err)
				}
			} else if it = s.parse(); it.kind == itemNeedMore {
				if it, ok = big(room); !ok {
					if err := s.fill(); err != nil {
						t.Fatalf("fill: %v", err)
					}
					continue
				}
			}
		}
		if it.start != pos {
			t.Fatalf("item %d starts at %d, previous ended at %d", steps, it.start, pos)
		}
		if it.kind == itemEnd {
			if it.start != int64(len(data)) {
				t.Fatalf("end at %d of %d bytes", it.start, len(data))
			}
			return items
		}
		if it.end <= it.start {
			t.Fatalf("item %d makes no progress: [%d, %d)", steps, it.start, it.end)
		}
		it.data = bytes.Clone(it.data)
		items = append(items, it)
		pos = it.end
		steps++
	}
}

// FuzzRecordReader feeds arbitrary bytes to the segment reader as a segment
// of either format: it must never panic, must end, must account for every
// byte exactly once, must return only records that check out, and must give
// the same answer whatever its buffer size.
func FuzzRecordReader(f *testing.F) {
	var valid []byte
	valid = appendSegmentHeader(valid)
	for i := range 5 {
		valid = appendRecord(valid, payload(i, 26+i*40))
	}
	var legacy []byte
	for i := range 5 {
		legacy = appendLegacyRecord(legacy, payload(i, 26+i*40))
	}
	flip := func(b []byte, i int) []byte { c := bytes.Clone(b); c[i] ^= 0x20; return c }

	// Records of mixed sizes, a big one first: with small fill sizes the
	// buffer then holds part of later ones (what readBig takes).
	var mixed []byte
	mixed = appendSegmentHeader(mixed)
	for i, n := range []int{300, 50, 120, 120, 120, 35, 200, 80} {
		mixed = appendRecord(mixed, payload(i, n))
	}
	mixedAt := func(k int) int { // offset of record k of mixed
		off := segHeaderSize
		for range k {
			off += recHeaderSize + int(binary.BigEndian.Uint32(mixed[off:]))
		}
		return off
	}

	f.Add(valid, false)
	f.Add(mixed, false)
	f.Add(flip(mixed, mixedAt(3)+recHeaderSize+100), false)     // damaged data of a big record
	f.Add(flip(mixed, mixedAt(4)+2), false)                     // damaged length of a big record
	f.Add(mixed[:mixedAt(6)+recHeaderSize+90], false)           // torn big record
	f.Add(valid[:len(valid)-7], false)                          // torn last record
	f.Add(valid[:segHeaderSize+5], false)                       // torn record header
	f.Add(valid[:9], false)                                     // torn segment header
	f.Add(flip(valid, 3), false)                                // damaged magic
	f.Add(flip(valid, segHeaderSize+1), false)                  // damaged length
	f.Add(flip(valid, segHeaderSize+recHeaderSize), false)      // damaged data
	f.Add(flip(valid, segHeaderSize+2*recHeaderSize+26), false) // damaged data after an intact record
	f.Add(valid[segHeaderSize:], false)                         // records without a header
	f.Add(append(bytes.Clone(valid), make([]byte, 64)...), false)
	f.Add(append(valid[:segHeaderSize:segHeaderSize], bytes.Repeat([]byte{0xff}, 40)...), false)
	f.Add(legacy, true)
	f.Add(legacy[:len(legacy)-3], true)
	f.Add(flip(legacy, 1), true)
	f.Add(valid, true) // our magic wins over the legacy hint
	f.Add([]byte{}, false)
	f.Add([]byte{}, true)
	f.Add(make([]byte, 100), false)

	f.Fuzz(func(t *testing.T, data []byte, legacyHint bool) {
		fm, err := sniffFormat(bytes.NewReader(data), legacyHint)
		if err != nil {
			t.Fatal(err)
		}
		items := parseAll(t, data, fm, 0, false, 0)
		for _, it := range items {
			if it.kind != itemRecord {
				continue
			}
			raw := data[it.start:it.end]
			var framed []byte
			if fm == formatV1 {
				framed = appendRecord(nil, it.data)
			} else {
				framed = appendLegacyRecord(nil, it.data)
				if n := int64(len(it.data)); n < fuzzBounds.legacyMin || n > fuzzBounds.legacyMax {
					t.Fatalf("legacy record of %d bytes out of bounds", n)
				}
			}
			if !bytes.Equal(framed, raw) {
				t.Fatalf("record at %d does not check out", it.start)
			}
		}
		// Buffer refills must not change what is parsed.
		sameItems(t, "chunk 13", parseAll(t, data, fm, 13, false, 0), items)
		// Nor must Read's fast path for intact records (nextIntact), with
		// either buffer size.
		sameItems(t, "nextIntact first", parseAll(t, data, fm, 0, true, 0), items)
		sameItems(t, "nextIntact first, chunk 13", parseAll(t, data, fm, 13, true, 0), items)
		// Nor must reading big records straight into their memory
		// (readBig), over buffers that hold part of most records.
		sameItems(t, "readBig, chunk 13", parseAll(t, data, fm, 13, true, 30), items)
		sameItems(t, "readBig, chunk 64", parseAll(t, data, fm, 64, true, 30), items)
	})
}

// sameItems fails the test when got differs from want.
func sameItems(t *testing.T, how string, got, want []item) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d items, parse alone: %d", how, len(got), len(want))
	}
	for i := range want {
		a, b := want[i], got[i]
		if a.kind != b.kind || a.start != b.start || a.end != b.end || !bytes.Equal(a.data, b.data) {
			t.Fatalf("%s: item %d differs: %+v vs %+v", how, i, b, a)
		}
	}
}

// FuzzMeta: the metadata decoder never panics, and whatever it accepts as
// ours re-encodes to the same bytes.
func FuzzMeta(f *testing.F) {
	f.Add(meta{depth: 3, readFile: 1, readPos: 20, writeFile: 2, writePos: 300, legacyEnd: 1}.encode())
	f.Add([]byte("4\n0,0\n0,147\n"))
	f.Add([]byte("0\n0,141\n0,141\n"))
	f.Add([]byte("10\n0,0\n2,94"))
	f.Add([]byte(metaMagic + " 1\n"))
	// Version 2, with FIN progress, and near misses of it.
	v2 := meta{depth: 3, readFile: 1, readPos: 20, writeFile: 3, writePos: 300, legacyEnd: 1,
		readEnd: position{2, 100}, unfinished: []span{{1, 20, 20}, {1, 90, 400}, {2, 16, 16}}}
	f.Add(v2.encode())
	f.Add(meta{readPos: 16, writePos: 90, readEnd: position{0, 50}}.encode())
	f.Add(rawEncodeV2(meta{readPos: 16, writePos: 90, readEnd: position{0, 50}, unfinished: []span{{0, 40, 30}}}))
	f.Add(rawEncodeV2(meta{readPos: 16, writePos: 90, readEnd: position{0, 16}}))
	f.Add([]byte(metaMagic + " 2\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, kind, err := decodeMeta(b)
		if err != nil {
			return
		}
		if err := m.check(); err != nil {
			t.Fatalf("accepted invalid metadata: %v", err)
		}
		if kind == metaOurs && len(m.unfinished) > 0 && !m.progress() {
			t.Fatalf("accepted spans without a read end")
		}
		if kind == metaOurs && !bytes.Equal(m.encode(), b) {
			t.Fatalf("round trip: %q -> %q", b, m.encode())
		}
	})
}

func TestRecordFraming(t *testing.T) {
	rec := appendRecord(nil, []byte("hello"))
	if len(rec) != recHeaderSize+5 {
		t.Fatalf("framed length %d", len(rec))
	}
	if binary.BigEndian.Uint32(rec) != 5 {
		t.Fatal("length field")
	}
	h, ok := parseRecordHeader(rec)
	if !ok || h.length != 5 || h.dataCRC != checksum([]byte("hello")) {
		t.Fatalf("header %+v ok=%v", h, ok)
	}
	rec[2] ^= 1
	if _, ok := parseRecordHeader(rec); ok {
		t.Fatal("damaged header accepted")
	}
	// The magic's first byte, read as upstream's int32 length, is negative:
	// no upstream segment can start with it.
	if int32(binary.BigEndian.Uint32(segMagic[:4])) >= 0 {
		t.Fatal("magic is a plausible upstream length")
	}
}
