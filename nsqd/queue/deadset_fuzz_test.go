package queue

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// deadFuzzSegment is a valid segment: three messages and a removal.
func deadFuzzSegment() []byte {
	b := appendDeadSegmentHeader(nil)
	for i, body := range []string{"one", "", "three!"} {
		m := DeadMessage{Seq: uint64(i + 1), Reason: DeadReason(i%3 + 1), Attempts: uint16(i), Timestamp: 10, DiedAt: 20, Body: []byte(body)}
		copy(m.ID[:], "0123456789abcdef")
		b = appendDeadMessage(b, &m)
	}
	return appendDeadRemove(b, deadRemovedRedriven, []deadRange{{1, 1}, {3, 3}})
}

// FuzzDeadSetRecord feeds arbitrary bytes to the record decoders: they
// never panic, and whatever decodes encodes back to the same bytes (so no
// two encodings mean the same thing, and nothing is silently ignored).
func FuzzDeadSetRecord(f *testing.F) {
	m := DeadMessage{Seq: 7, Reason: DeadExpired, Attempts: 65535, Timestamp: -1, DiedAt: 1 << 62, Body: []byte("body")}
	f.Add(appendDeadMessagePayload(nil, &m))
	m.Body = nil
	f.Add(appendDeadMessagePayload(nil, &m))
	rm := appendDeadRemove(nil, deadRemovedDropped, []deadRange{{1, 5}, {9, 9}})
	f.Add(rm[deadRecHeaderSize:])
	f.Add(rm[deadRecHeaderSize : len(rm)-1])
	f.Add([]byte{deadKindRemove, 1, 0, 0, 0, 0})
	f.Add([]byte{deadKindRemove, 1, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{})
	f.Add([]byte{9})
	f.Fuzz(func(t *testing.T, payload []byte) {
		if m, err := decodeDeadMessage(payload); err == nil {
			if again := appendDeadMessagePayload(nil, &m); !bytes.Equal(again, payload) {
				t.Fatalf("message %+v encodes to %x, was %x", m, again, payload)
			}
			if m.Seq == 0 || !m.Reason.valid() {
				t.Fatalf("decoded an invalid message: %+v", m)
			}
		}
		if cause, ranges, err := decodeDeadRemove(payload); err == nil {
			if again := appendDeadRemove(nil, cause, ranges); !bytes.Equal(again[deadRecHeaderSize:], payload) {
				t.Fatalf("removal %v %v encodes to %x, was %x", cause, ranges, again, payload)
			}
			for i, r := range ranges {
				if r.first == 0 || r.first > r.last || (i > 0 && r.first <= ranges[i-1].last) {
					t.Fatalf("decoded invalid ranges %v", ranges)
				}
			}
		}
	})
}

// FuzzDeadSetSegment feeds arbitrary bytes to the segment scanner: it
// never panics; every record it returns lies inside the bytes, after the
// previous one, and checks out; the counts are consistent; and a valid
// segment with anything appended still yields its records.
func FuzzDeadSetSegment(f *testing.F) {
	valid := deadFuzzSegment()
	f.Add(valid)
	f.Add(valid[:len(valid)-3])
	f.Add(valid[:20])
	f.Add(valid[5:])
	flipped := slices.Clone(valid)
	flipped[30] ^= 1
	f.Add(flipped)
	f.Add(append(slices.Clone(valid), make([]byte, 40)...))
	f.Add([]byte{})
	f.Add(valid[:deadSegHeaderSize])
	f.Fuzz(func(t *testing.T, b []byte) {
		s := scanDeadSegment(b)
		if s.newer {
			return
		}
		if s.end < 0 || s.end > int64(len(b)) || s.tail != int64(len(b))-s.end {
			t.Fatalf("end %d tail %d over %d bytes", s.end, s.tail, len(b))
		}
		if s.skippedRecords < 0 || s.skippedBytes < 0 || s.skippedBytes > int64(len(b)) {
			t.Fatalf("skipped %d records, %d bytes of %d", s.skippedRecords, s.skippedBytes, len(b))
		}
		prev := int64(0)
		for _, it := range s.items {
			if it.off < prev {
				t.Fatalf("record at %d after one ending at %d", it.off, prev)
			}
			fr, ok := parseDeadFrame(b, int(it.off))
			if !ok || fr.length != it.length {
				t.Fatalf("record at %d does not check out", it.off)
			}
			prev = it.off + deadRecHeaderSize + int64(it.length)
			if prev > s.end {
				t.Fatalf("record ends at %d, past the end %d", prev, s.end)
			}
		}
		// Appending garbage never loses a record: only the tail grows.
		more := scanDeadSegment(append(slices.Clone(b), 0xde, 0xad, 0xbe, 0xef))
		if len(more.items) < len(s.items) {
			t.Fatalf("%d records, %d after appending 4 bytes", len(s.items), len(more.items))
		}
	})
}

// FuzzDeadSetOpen opens a set whose only file holds arbitrary bytes: Open
// either refuses it with an error or recovers; the set then works, and
// what is added after recovery is all there after a reopen.
func FuzzDeadSetOpen(f *testing.F) {
	valid := deadFuzzSegment()
	f.Add(valid)
	f.Add(valid[:len(valid)-7])
	f.Add(append(slices.Clone(valid), "torn"...))
	f.Add([]byte("\x89NSQD"))
	flipped := slices.Clone(valid)
	flipped[deadSegHeaderSize+3] ^= 0x80
	f.Add(flipped)
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, deadSegmentName("t:c", 3)), b, 0o600); err != nil {
			t.Fatal(err)
		}
		opts := DeadSetOptions{Dir: dir, Name: "t:c", NoSync: true}
		d, err := OpenDeadSet(opts)
		if err != nil {
			if !strings.Contains(err.Error(), "newer than this build") {
				t.Fatal(err)
			}
			return // a newer format version: refused, never read
		}
		before, err := d.Peek(0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Add(deadMsg("new", "added")); err != nil {
			if strings.Contains(err.Error(), "seqs exhausted") {
				return // a checksummed record named the last seq there is
			}
			t.Fatal(err)
		}
		added, err := d.Peek(seqOfLast(before), 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(added) != 1 || string(added[0].Body) != "added" {
			t.Fatalf("after %d messages, the one added is not the newest alone: %+v", len(before), added)
		}
		if taken, err := d.Take(1); err != nil {
			t.Fatal(err)
		} else if n, err := d.Commit(taken); err != nil || n != 1 {
			t.Fatalf("redrive of one: %d, %v", n, err)
		}
		want, err := d.Peek(0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(want); i++ {
			if want[i].Seq <= want[i-1].Seq {
				t.Fatalf("seqs out of order: %d after %d", want[i].Seq, want[i-1].Seq)
			}
		}
		if len(want) != len(before) {
			t.Fatalf("%d messages, %d after adding one and redriving one", len(before), len(want))
		}
		d.Close()
		d, err = OpenDeadSet(opts)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		got, err := d.Peek(0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("after reopen %d messages, before %d", len(got), len(want))
		}
		for i := range got {
			if got[i].Seq != want[i].Seq || !bytes.Equal(got[i].Body, want[i].Body) {
				t.Fatalf("after reopen message %d is %+v, was %+v", i, got[i], want[i])
			}
		}
	})
}

func seqOfLast(msgs []DeadMessage) uint64 {
	if len(msgs) == 0 {
		return 0
	}
	return msgs[len(msgs)-1].Seq
}
