package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/nsqgo/nsq/bench/internal/benchutil"
)

// messageFrame builds a type-2 frame: timestamp, attempts, 16-byte ID, body.
func messageFrame(id string, body []byte) []byte {
	f := binary.BigEndian.AppendUint32(nil, uint32(4+26+len(body)))
	f = binary.BigEndian.AppendUint32(f, 2)
	f = binary.BigEndian.AppendUint64(f, 1)
	f = binary.BigEndian.AppendUint16(f, 1)
	f = append(f, id...)
	return append(f, body...)
}

func TestFrameReaderFinishes(t *testing.T) {
	stream := append(messageFrame("0123456789abcdef", []byte("hello")),
		messageFrame("fedcba9876543210", []byte("world"))...)
	fr := benchutil.NewFrameReader(bufio.NewReader(bytes.NewReader(stream)), 8)
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	for i := 0; i < 2; i++ {
		typ, data, err := fr.Next()
		if err != nil || typ != 2 {
			t.Fatalf("frame %d: type %d err %v", i, typ, err)
		}
		if i == 0 && !fr.FrameBuffered() {
			t.Fatal("second frame should be buffered")
		}
		finish(w, data)
	}
	if fr.FrameBuffered() {
		t.Fatal("no frame left")
	}
	w.Flush()
	if want := "FIN 0123456789abcdef\nFIN fedcba9876543210\n"; out.String() != want {
		t.Fatalf("got %q want %q", out.String(), want)
	}
}

// The per-message path (read frame, queue FIN, check buffer) must not allocate.
func TestFrameReaderNoAllocs(t *testing.T) {
	frame := messageFrame("0123456789abcdef", make([]byte, 200))
	src := bytes.NewReader(nil)
	br := bufio.NewReader(src)
	fr := benchutil.NewFrameReader(br, 1024)
	w := bufio.NewWriter(io.Discard)
	allocs := testing.AllocsPerRun(1000, func() {
		src.Reset(frame)
		br.Reset(src)
		_, data, err := fr.Next()
		if err != nil {
			t.Fatal(err)
		}
		finish(w, data)
		fr.FrameBuffered()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per message, want 0", allocs)
	}
}
