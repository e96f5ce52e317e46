package chaos

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzHarnessParsers: what the harness reads from the daemon (message
// frames, bodies) and from its files (segments) never makes it panic or
// read out of bounds, and a segment's record spans stay inside it.
func FuzzHarnessParsers(f *testing.F) {
	seg := append([]byte(nil), segMagic...)
	seg = append(seg, 0, 1, 0, 0, 0, 0, 0, 0)
	body := bodyFor("c1-2")
	seg = binary.BigEndian.AppendUint32(seg, uint32(len(body)))
	seg = append(seg, make([]byte, 8)...)
	seg = append(seg, body...)
	f.Add(seg)
	f.Add(append(make([]byte, 26), body...))
	f.Add([]byte("c1-2|"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, r := range recordSpans(b) {
			if r[0] < segHeaderSize || r[1] > len(b) || r[0]+recHeaderSize > r[1] {
				t.Fatalf("span %v outside %d bytes", r, len(b))
			}
		}
		if m, err := decodeMessage(b); err == nil && !bytes.Equal(m.body, b[26:]) {
			t.Fatal("body is not the frame's tail")
		}
		if id, intact := idOf(b); intact && !bytes.Equal(bodyFor(id), b) {
			t.Fatal("intact body differs from its id's")
		}
		idsIn(b)
	})
}
