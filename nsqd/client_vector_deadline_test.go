//go:build linux

package nsqd

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// A vectored write (client_vector.go: bodies of vectorMinBody or more, on a
// plain socket) gets its write deadline as a buffered write does
// (client_conn.go, writeSocket): only when it must wait for room, a
// heartbeat interval from then. These tests run on real loopback sockets
// with small buffers (deadlineClient, client_write_deadline_test.go).

// bigBatch is n messages of 64 KB: vectored, several vectored writes.
func bigBatch(n int) []Message {
	sizes := make([]int, n)
	for i := range sizes {
		sizes[i] = 64 << 10
	}
	return mixedBatch(sizes)
}

// framesOf is batch as the peer must read it.
func framesOf(batch []Message) []byte {
	var out []byte
	for i := range batch {
		m := &batch[i]
		out = protocol.AppendMessageFrame(out, m.Timestamp, m.Attempts, &m.ID, m.Body)
	}
	return out
}

// boundedBatchWrite writes batch as the pump does and says how long it
// took; a write still waiting after 10 s (no deadline) fails the test.
func boundedBatchWrite(t *testing.T, c *client, batch []Message) (time.Duration, error) {
	t.Helper()
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		c.writeMu.Lock()
		defer c.writeMu.Unlock()
		done <- c.writeBatchLocked(batch)
	}()
	select {
	case err := <-done:
		return time.Since(start), err
	case <-time.After(10 * time.Second):
		c.conn.Close()
		<-done
		t.Fatal("a vectored write to a peer that stopped reading was still waiting after 10 s")
		return 0, nil
	}
}

// requireCutOff checks that a write to a peer that stopped reading failed
// with a timeout no sooner than a heartbeat interval after it began.
func requireCutOff(t *testing.T, elapsed time.Duration, err error) {
	t.Helper()
	var netErr net.Error
	require.True(t, errors.As(err, &netErr) && netErr.Timeout(), "want a timeout, got %v", err)
	require.GreaterOrEqual(t, elapsed, writeDeadlineHeartbeat, "cut off before its interval")
	require.Less(t, elapsed, writeDeadlineHeartbeat+2*time.Second, "left waiting past its interval")
}

// A peer that stops reading is cut off a heartbeat interval after a
// vectored write began to wait, also right after vectored writes that
// waited for a slow reader and completed.
func TestVectoredWriteToAStalledReaderTimesOutAfterAHeartbeatInterval(t *testing.T) {
	c, peer := deadlineClient(t)
	batch := bigBatch(48) // 3 MB: past both socket buffers
	want := framesOf(batch)

	// Under an interval the peer's reads cannot outlast: its deadline,
	// far ahead, stays on the socket.
	c.heartbeatInterval.Store(int64(completingHeartbeat))
	read := peerReads(peer, len(want))
	_, err := boundedBatchWrite(t, c, batch)
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, <-read), "the frames arrived altered")

	// The peer stops reading.
	c.heartbeatInterval.Store(int64(writeDeadlineHeartbeat))
	elapsed, err := boundedBatchWrite(t, c, batch)
	requireCutOff(t, elapsed, err)
}

// A vectored write that finds the socket already full (writev takes
// nothing, and that is no error) waits under a deadline of its own.
func TestVectoredWriteToAnAlreadyFullSocketGetsADeadline(t *testing.T) {
	c, _ := deadlineClient(t)
	c.conn.SetWriteDeadline(time.Time{})
	fillSocket(t, c)
	elapsed, err := boundedBatchWrite(t, c, bigBatch(48))
	requireCutOff(t, elapsed, err)
}

// A deadline already past on a full socket, met by a vectored write: the
// write clears it, waits under its own, and every byte arrives once, in
// order, after what filled the socket.
func TestVectoredWriteAfterAPastDeadlineSendsEveryByteOnce(t *testing.T) {
	c, peer := deadlineClient(t)
	before := fillSocket(t, c)
	c.conn.SetWriteDeadline(time.Now().Add(-time.Second))
	c.heartbeatInterval.Store(int64(completingHeartbeat)) // the peer reads: no cut-off
	batch := bigBatch(16)
	want := append(append([]byte(nil), before...), framesOf(batch)...)
	read := peerReads(peer, len(want))
	_, err := boundedBatchWrite(t, c, batch)
	require.NoError(t, err)
	got := <-read
	if !bytes.Equal(got, want) {
		t.Fatalf("peer read %d bytes, want %d, first difference at %d", len(got), len(want), firstDiff(got, want))
	}
}

// A vectored write the socket takes at once sets no write deadline: the
// one already on the socket (a marker, ahead when the write is made) is
// still there after it, and once it passes it fails the next write, where
// a deadline set by the vectored write (an hour from then) would not have.
// The iovecs keep no body alive after the write.
func TestVectoredWriteTheSocketTakesAtOnceSetsNoDeadline(t *testing.T) {
	c, peer := deadlineClient(t)
	c.heartbeatInterval.Store(int64(time.Hour))
	batch := mixedBatch([]int{vectorMinBody, 16 << 10, vectorMinBody + 1})
	want := framesOf(batch)
	var marker time.Time
	for attempt := 0; ; attempt++ {
		marker = time.Now().Add(100 * time.Millisecond)
		c.conn.SetWriteDeadline(marker)
		_, err := boundedBatchWrite(t, c, batch)
		require.NoError(t, err)
		got := make([]byte, len(want))
		peer.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = io.ReadFull(peer, got)
		require.NoError(t, err)
		require.Equal(t, want, got)
		if time.Now().Before(marker) {
			break
		}
		// The machine was too slow to tell: the marker passed during
		// the write, which then cleared it. Again.
		require.Less(t, attempt, 5, "every write outlasted its 100 ms marker")
	}
	require.NotNil(t, c.vector.sys, "the batch did not go as a vectored write")
	require.Equal(t, c.vector.sys.iov, vectorIO{}.iov, "the iovecs still point at the bodies")

	time.Sleep(time.Until(marker) + 5*time.Millisecond) // the kernel keeps the marker on the wall clock
	_, err := c.socket.WriteNow([]byte{0})
	require.True(t, errors.Is(err, os.ErrDeadlineExceeded), "the marker is gone: the vectored write set a deadline (write error %v)", err)
}

// With heartbeats off (heartbeat_interval -1) a vectored write that must
// wait has no deadline, not even one left on the socket by an earlier
// interval.
func TestVectoredWriteWithHeartbeatsOffHasNoDeadline(t *testing.T) {
	c, peer := deadlineClient(t)
	c.conn.SetWriteDeadline(time.Now().Add(time.Millisecond)) // left by an earlier write
	c.heartbeatInterval.Store(0)
	batch := bigBatch(48)
	read := make(chan error, 1)
	go func() {
		// Long after the deadline left behind, the peer reads.
		time.Sleep(5 * time.Millisecond)
		_, err := io.ReadFull(peer, make([]byte, len(framesOf(batch))))
		read <- err
	}()
	_, err := boundedBatchWrite(t, c, batch)
	require.NoError(t, err)
	require.NoError(t, <-read)
}
