package nsqd

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A write to a client's socket gets one heartbeat interval to complete once
// it must wait for room (deadlineConn.writeSocket, client_conn.go), as
// upstream's write deadline: these tests run on real sockets, whose
// deadlines the kernel keeps on the wall clock, with a short interval.

const writeDeadlineHeartbeat = 200 * time.Millisecond

// completingHeartbeat is the interval of a client whose write must wait
// for a reading peer and complete: once it waits, the peer must drain the
// rest (1 to 3 MB through the small buffers of deadlineClient) within one
// interval, and writeDeadlineHeartbeat was too short for that on a loaded
// 2-core machine under -race (raw-write i/o timeouts, 6 in 30 runs of these
// tests beside two busy loops). A write that must be cut off still gets
// writeDeadlineHeartbeat.
const completingHeartbeat = time.Minute

// peerReads reads n bytes from peer in a goroutine of its own, for at most
// 10 s, and sends what it read (less than n after an error or the time).
func peerReads(peer net.Conn, n int) <-chan []byte {
	read := make(chan []byte, 1)
	go func() {
		b := make([]byte, n)
		peer.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, _ := io.ReadFull(peer, b)
		read <- b[:got]
	}()
	return read
}

// deadlineClient is a writing client (writingClient) on a loopback socket
// with small buffers, so that a peer that stops reading fills it quickly.
func deadlineClient(t *testing.T) (*client, net.Conn) {
	t.Helper()
	server, peer := loopbackPair(t)
	t.Cleanup(func() { server.Close(); peer.Close() })
	server.(*net.TCPConn).SetWriteBuffer(64 << 10)
	peer.(*net.TCPConn).SetReadBuffer(64 << 10)
	c := writingClient(server)
	c.heartbeatInterval.Store(int64(writeDeadlineHeartbeat))
	return c, peer
}

// A peer that stops reading is cut off a heartbeat interval after the
// write began to wait, even right after a write that waited and completed
// (its deadline, far ahead, must not be the one the next write waits
// under; one nearer than an interval is
// TestReviewS27NearStaleDeadlineDoesNotCutAWaitingWriteShort's).
func TestWriteToAStalledReaderTimesOutAfterAHeartbeatInterval(t *testing.T) {
	c, peer := deadlineClient(t)
	out := patterned(2 << 20)

	// A write that waits for a peer reading slowly completes, and leaves
	// its deadline (an interval it did not need) on the socket.
	c.heartbeatInterval.Store(int64(completingHeartbeat))
	read := make(chan error, 1)
	go func() {
		_, err := io.ReadFull(peer, make([]byte, len(out)))
		read <- err
	}()
	n, err := c.deadlined.Write(out)
	require.NoError(t, err)
	require.Equal(t, len(out), n)
	require.NoError(t, <-read)

	// The peer stops reading: the next write waits under an interval of
	// its own, not until the deadline left behind (past boundedWrite's
	// 10 s).
	c.heartbeatInterval.Store(int64(writeDeadlineHeartbeat))
	n, elapsed, err := boundedWrite(t, c, out)
	var netErr net.Error
	require.True(t, errors.As(err, &netErr) && netErr.Timeout(), "want a timeout, got %v", err)
	require.Less(t, n, len(out))
	require.GreaterOrEqual(t, elapsed, writeDeadlineHeartbeat, "cut off before its interval")
	require.Less(t, elapsed, writeDeadlineHeartbeat+2*time.Second, "left waiting past its interval")
}

// boundedWrite writes p as the daemon does and says how long it took; a
// write still waiting after 10 s (no deadline) fails the test.
func boundedWrite(t *testing.T, c *client, p []byte) (int, time.Duration, error) {
	t.Helper()
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		n, err := c.deadlined.Write(p)
		done <- result{n, err}
	}()
	select {
	case r := <-done:
		return r.n, time.Since(start), r.err
	case <-time.After(10 * time.Second):
		c.conn.Close()
		<-done
		t.Fatal("a write to a peer that stopped reading was still waiting after 10 s")
		return 0, 0, nil
	}
}

// A deadline already past on the socket (one a TLS handshake's bound or an
// earlier waiting write left there) fails neither a write the socket takes
// at once nor one that must wait for the peer.
func TestWriteAfterAPastDeadlineGoesThrough(t *testing.T) {
	c, peer := deadlineClient(t)
	c.conn.SetWriteDeadline(time.Now().Add(-time.Second))
	n, err := c.deadlined.Write([]byte("small"))
	require.NoError(t, err)
	require.Equal(t, 5, n)
	got := make([]byte, 5)
	_, err = io.ReadFull(peer, got)
	require.NoError(t, err)
	require.Equal(t, "small", string(got))

	c.conn.SetWriteDeadline(time.Now().Add(-time.Second))
	out := patterned(2 << 20)
	c.heartbeatInterval.Store(int64(completingHeartbeat))
	read := peerReads(peer, len(out))
	n, err = c.deadlined.Write(out)
	require.NoError(t, err)
	require.Equal(t, len(out), n)
	require.Equal(t, out, <-read)
}

// With heartbeats off (heartbeat_interval -1) a write that must wait has no
// deadline, not even one left on the socket by an earlier interval.
func TestWriteWithHeartbeatsOffHasNoDeadline(t *testing.T) {
	c, peer := deadlineClient(t)
	c.conn.SetWriteDeadline(time.Now().Add(time.Millisecond)) // left by an earlier write
	c.heartbeatInterval.Store(0)
	out := patterned(2 << 20)
	read := make(chan error, 1)
	go func() {
		// Long after the deadline left behind, the peer reads.
		time.Sleep(5 * time.Millisecond)
		_, err := io.ReadFull(peer, make([]byte, len(out)))
		read <- err
	}()
	n, err := c.deadlined.Write(out)
	require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "a deadline with heartbeats off")
	require.NoError(t, err)
	require.Equal(t, len(out), n)
	require.NoError(t, <-read)
}
