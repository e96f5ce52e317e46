package nsqd

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"runtime/debug"
	"strings"
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

// countingWriter counts the writes that reach it.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

// A delivery batch larger than the output buffer goes to the connection in
// one write when the buffer is empty (writeWholeBatchLocked), byte for byte
// the frames encoded one by one; with something already buffered, in two.
// Batches no larger than the buffer, and batches with big frames, take the
// output buffer's path as before. (Through the output buffer alone, 256
// frames of 200-byte messages were four writes.)
func TestWriteBatchGoesInOneWrite(t *testing.T) {
	batchOf := func(count, size int) []Message {
		batch := make([]Message, count)
		for i := range batch {
			batch[i] = Message{Body: bytes.Repeat([]byte{byte('a' + i%26)}, size), Timestamp: int64(i) << 20, Attempts: uint16(i + 1)}
			protocol.FormatID(uint64(1<<40+i), &batch[i].ID)
		}
		return batch
	}
	encoded := func(batch []Message) []byte {
		var b []byte
		for i := range batch {
			m := &batch[i]
			b = protocol.AppendMessageFrame(b, m.Timestamp, m.Attempts, &m.ID, m.Body)
		}
		return b
	}
	for _, tc := range []struct {
		name       string
		batch      []Message
		buffered   string // written into the output buffer first
		wantWrites int    // before the final flush; -1: not checked
	}{
		{"large batch", batchOf(maxDeliveryBatch, 200), "", 1},
		{"behind a response", batchOf(maxDeliveryBatch, 200), "response", 2},
		{"fits the buffer", batchOf(10, 200), "", 0},
		// No larger than the buffer: its path, one flush when it fills.
		{"buffer-sized behind a response", batchOf(60, 200), strings.Repeat("r", 8<<10), 1},
		{"with a big frame", append(batchOf(100, 200), batchOf(1, vectorMinBody)...), "", -1},
		{"over the bound", batchOf(maxDeliveryBatch, vectorMinBody-1), "", 128},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := &countingWriter{}
			// A transport that is not the socket: no vectored writes, so
			// big frames go through the output buffer too.
			c := &client{nsqd: &NSQD{}, writer: bufio.NewWriterSize(out, defaultBufferSize), transport: (*net.TCPConn)(nil)}
			c.writer.WriteString(tc.buffered)
			if err := c.writeBatchLocked(tc.batch); err != nil {
				t.Fatal(err)
			}
			writes := out.writes
			if err := c.writer.Flush(); err != nil {
				t.Fatal(err)
			}
			want := append([]byte(tc.buffered), encoded(tc.batch)...)
			if !bytes.Equal(out.Bytes(), want) {
				t.Fatalf("wrote %d bytes, want %d, first difference at %d", out.Len(), len(want), firstDiff(out.Bytes(), want))
			}
			if tc.wantWrites >= 0 && writes != tc.wantWrites {
				t.Fatalf("%d writes before the flush, want %d", writes, tc.wantWrites)
			}
		})
	}
}

// Writing a whole batch allocates nothing once the shared buffer exists.
func TestWriteWholeBatchAllocatesNothing(t *testing.T) {
	c := &client{nsqd: &NSQD{}, writer: bufio.NewWriterSize(io.Discard, defaultBufferSize)}
	batch := make([]Message, maxDeliveryBatch)
	for i := range batch {
		batch[i].Body = make([]byte, 200)
	}
	c.writeBatchLocked(batch)
	// A collection empties the sync.Pool the buffer lives in: with the
	// collector off while measuring, what is counted is the write's own
	// allocations, not how often other goroutines' garbage (a loaded
	// -race run) forced a collection.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	// Under -race the pool drops one Put in four on purpose, and each miss
	// costs the box and the buffer (2): the average then stays under one
	// per batch, while a write without the pool would cost two every time.
	limit := 0.0
	if raceEnabled {
		limit = 1
	}
	allocs := testing.AllocsPerRun(100, func() {
		if whole, err := c.writeWholeBatchLocked(batch); !whole || err != nil {
			t.Fatal("batch not written whole", err)
		}
	})
	if allocs > limit {
		t.Fatalf("%v allocations per batch", allocs)
	}
}
