package nsqd

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// recordingBackend is a BackendQueue in memory: Put appends, ReadInto
// takes from the front and hands out sequence numbers, Ack records them.
// With fail set every Put fails.
type recordingBackend struct {
	mu      sync.Mutex
	queue   []Message
	nextSeq uint64
	acked   []uint64
	puts    int
	fail    bool
	closed  string // "close" or "delete" once released
}

func (r *recordingBackend) Put(msgs []Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("disk full")
	}
	r.puts++
	r.queue = append(r.queue, msgs...)
	return nil
}

func (r *recordingBackend) ReadInto(dst []Message, seqs []uint64, max int) ([]Message, []uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := min(max, len(r.queue))
	for _, m := range r.queue[:n] {
		r.nextSeq++
		seqs = append(seqs, r.nextSeq)
		dst = append(dst, m)
	}
	r.queue = r.queue[n:]
	return dst, seqs, nil
}

func (r *recordingBackend) Ack(seqs ...uint64) {
	r.mu.Lock()
	r.acked = append(r.acked, seqs...)
	r.mu.Unlock()
}

func (r *recordingBackend) Depth() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return int64(len(r.queue))
}

func (r *recordingBackend) Empty() error {
	r.mu.Lock()
	r.queue = nil
	r.mu.Unlock()
	return nil
}

func (r *recordingBackend) Close() error  { r.closed = "close"; return nil }
func (r *recordingBackend) Delete() error { r.closed = "delete"; return nil }

func bodiesOfMessages(msgs []Message) []string {
	out := make([]string, len(msgs))
	for i := range msgs {
		out[i] = string(msgs[i].Body)
	}
	return out
}

func messagesOf(bodies ...string) []Message {
	msgs := make([]Message, len(bodies))
	for i, b := range bodies {
		msgs[i].Body = []byte(b)
	}
	return msgs
}

func TestHeldKeepsABatchThatFitsInMemory(t *testing.T) {
	disk := &recordingBackend{}
	h := newHeldMessages(3, disk)
	dropped, err := h.put(messagesOf("a", "b"))
	require.NoError(t, err)
	require.Zero(t, dropped)
	require.EqualValues(t, 2, h.memoryLen())
	require.Zero(t, disk.puts, "nothing written while memory has room")
	require.Equal(t, []string{"a", "b"}, bodiesOfMessages(h.takeMemory(nil)))
	require.Zero(t, h.depth())
}

func TestHeldSendsWhatDoesNotFitToDiskInOneWrite(t *testing.T) {
	disk := &recordingBackend{}
	h := newHeldMessages(2, disk)
	_, err := h.put(messagesOf("a", "b", "c", "d", "e"))
	require.NoError(t, err)
	require.Equal(t, 1, disk.puts, "one grouped write")
	require.Equal(t, []string{"c", "d", "e"}, bodiesOfMessages(disk.queue))
	require.EqualValues(t, 2, h.memoryLen())
	require.EqualValues(t, 3, h.diskDepth())
	require.EqualValues(t, 5, h.depth())
	require.Equal(t, []string{"a", "b"}, bodiesOfMessages(h.takeMemory(nil)))
}

func TestHeldRefusesTheWholeBatchWhenTheDiskFails(t *testing.T) {
	disk := &recordingBackend{fail: true}
	h := newHeldMessages(2, disk)
	_, err := h.put(messagesOf("a", "b", "c"))
	require.ErrorContains(t, err, "write to disk: disk full")
	require.Zero(t, h.depth(), "none of a refused batch is kept, not even the part that fit in memory")

	// The room the refused batch was promised is free again.
	disk.fail = false
	_, err = h.put(messagesOf("x", "y"))
	require.NoError(t, err)
	require.Equal(t, []string{"x", "y"}, bodiesOfMessages(h.takeMemory(nil)))
	require.Zero(t, disk.puts)
}

func TestHeldWithoutBackendDropsWhatDoesNotFit(t *testing.T) {
	h := newHeldMessages(2, nil)
	dropped, err := h.put(messagesOf("a", "b", "c"))
	require.NoError(t, err)
	require.Equal(t, 1, dropped)
	require.Equal(t, []string{"a", "b"}, bodiesOfMessages(h.takeMemory(nil)))
	got, seqs, err := h.readDisk(nil, nil, 10)
	require.NoError(t, err)
	require.Empty(t, got)
	require.Empty(t, seqs)
	n, err := h.flushMemory()
	require.NoError(t, err)
	require.Zero(t, n)
	require.NoError(t, h.close(true))
}

// While a batch's disk part is being written, the memory room it was
// promised is not given to another batch, so the bound holds once both
// are settled.
func TestHeldPromisedRoomIsNotGivenAway(t *testing.T) {
	disk := &recordingBackend{}
	h := newHeldMessages(2, disk)
	first := messagesOf("a", "b", "c")
	room, overflow, _ := h.reserve(first)
	require.True(t, overflow)
	require.Equal(t, 2, room)

	room2, overflow2, _ := h.reserve(messagesOf("x"))
	require.True(t, overflow2, "memory is promised to the first batch")
	require.Zero(t, room2)
	require.NoError(t, h.writeOverflow(messagesOf("x")))
	h.settle(nil, true)

	require.NoError(t, h.writeOverflow(first[room:]))
	h.settle(first[:room], true)
	require.EqualValues(t, 2, h.memoryLen())
	require.Equal(t, []string{"x", "c"}, bodiesOfMessages(disk.queue))
}

func TestHeldDiskPartIsReadAndAcknowledged(t *testing.T) {
	disk := &recordingBackend{}
	h := newHeldMessages(0, disk)
	_, err := h.put(messagesOf("a", "b", "c"))
	require.NoError(t, err)
	got, seqs, err := h.readDisk(nil, nil, 2)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, bodiesOfMessages(got))
	require.Equal(t, []uint64{1, 2}, seqs)
	require.EqualValues(t, 1, h.diskDepth())
	h.ack(seqs)
	require.Equal(t, []uint64{1, 2}, disk.acked)
	h.ack(nil)
	require.Len(t, disk.acked, 2, "an empty ack reaches no backend")
}

func TestHeldFlushWritesTheMemoryPartToDisk(t *testing.T) {
	disk := &recordingBackend{}
	h := newHeldMessages(5, disk)
	_, err := h.put(messagesOf("a", "b"))
	require.NoError(t, err)
	n, err := h.flushMemory()
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Zero(t, h.memoryLen())
	require.Equal(t, []string{"a", "b"}, bodiesOfMessages(disk.queue))
	require.NoError(t, h.close(false))
	require.Equal(t, "close", disk.closed)
}

func TestHeldEmptyDropsBothParts(t *testing.T) {
	disk := &recordingBackend{}
	h := newHeldMessages(1, disk)
	_, err := h.put(messagesOf("a", "b", "c"))
	require.NoError(t, err)
	h.clearMemory()
	require.NoError(t, h.emptyDisk())
	require.Zero(t, h.depth())
	require.NoError(t, h.close(true))
	require.Equal(t, "delete", disk.closed)
}

// Concurrent puts that overflow keep the bound and lose nothing.
func TestHeldConcurrentPutsKeepEveryMessageAndTheBound(t *testing.T) {
	disk := &recordingBackend{}
	h := newHeldMessages(50, disk)
	var wg sync.WaitGroup
	for p := 0; p < 8; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				_, err := h.put(messagesOf("m", "m", "m"))
				require.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	require.EqualValues(t, 50, h.memoryLen())
	require.EqualValues(t, 8*50*3, h.depth())
}
