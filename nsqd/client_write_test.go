package nsqd

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/nsqgo/nsq/internal/protocol"
)

// Frames written around and past the output buffer's size are byte for byte
// what encoding each frame on its own gives.
func TestWriteMessageFramesAcrossBufferBoundaries(t *testing.T) {
	var out bytes.Buffer
	c := &client{writer: bufio.NewWriterSize(&out, defaultBufferSize)}
	var want []byte
	sizes := []int{200, 70000, 1, defaultBufferSize - 34, defaultBufferSize - 33, defaultBufferSize, 3 * defaultBufferSize}
	for i := 0; i < 300; i++ {
		sizes = append(sizes, 150+i*7%500)
	}
	for i, size := range sizes {
		m := Message{Body: bytes.Repeat([]byte{byte('a' + i%26)}, size), Timestamp: int64(i) << 20, Attempts: uint16(i)}
		protocol.FormatID(uint64(i), &m.ID)
		if err := c.writeMessageLocked(&m); err != nil {
			t.Fatal(err)
		}
		want = protocol.AppendMessageFrame(want, m.Timestamp, m.Attempts, &m.ID, m.Body)
	}
	if err := c.writer.Flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("wrote %d bytes, want %d, first difference at %d", out.Len(), len(want), firstDiff(out.Bytes(), want))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// Writing a message frame allocates nothing, whatever its size.
func TestWriteMessageFrameAllocatesNothing(t *testing.T) {
	c := &client{writer: bufio.NewWriterSize(io.Discard, defaultBufferSize)}
	small := Message{Body: make([]byte, 200)}
	big := Message{Body: make([]byte, 64<<10)}
	allocs := testing.AllocsPerRun(200, func() {
		for range 100 {
			c.writeMessageLocked(&small)
		}
		c.writeMessageLocked(&big)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per round", allocs)
	}
}
