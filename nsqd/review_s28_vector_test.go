//go:build linux

package nsqd

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// Review of session 28's vectored writes without a deadline
// (client_vector.go, writevSocketLocked; client_vector_linux.go): a
// writev made without waiting through the raw socket, then, for what the
// socket did not take, a write under a deadline of one heartbeat interval.
// These pin what client_vector_deadline_test.go leaves open: where a
// partial write ends (consumeBuffers), a deadline the write itself left on
// the socket, bodies kept alive after a failed write, a write ended by
// close, and the buffered path of TLS and compressed connections.

// A partial write drops exactly the bytes written, at every kind of
// boundary: inside a header, at its end (the body goes whole), inside a
// body, at a body's end (the next header goes whole), everything; an empty
// piece is passed over, and what is left never starts with an empty piece.
func TestReviewS28ConsumeBuffersDropsExactlyTheWrittenBytes(t *testing.T) {
	pieces := [][]byte{
		[]byte("HEADER-ONE:28-bytes-long...."),
		bytes.Repeat([]byte("a"), 100),
		{},
		[]byte("HEADER-TWO:28-bytes-long...."),
		bytes.Repeat([]byte("b"), 57),
	}
	whole := bytes.Join(pieces, nil)
	var cuts []int
	at := 0
	for _, p := range pieces {
		cuts = append(cuts, at-1, at, at+1)
		at += len(p)
	}
	cuts = append(cuts, len(whole)-1, len(whole))
	for _, n := range cuts {
		if n < 0 {
			continue
		}
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			bufs := make(net.Buffers, len(pieces))
			for i, p := range pieces {
				bufs[i] = p
			}
			consumeBuffers(&bufs, n)
			require.Equal(t, whole[n:], bytes.Join(bufs, nil), "what is left to write")
			if len(bufs) > 0 {
				require.NotEmpty(t, bufs[0], "left starting with an empty piece")
			}
			if n == len(whole) {
				require.Empty(t, bufs, "pieces left after everything was written")
			}
		})
	}
}

// A vectored write that waited leaves its deadline (a heartbeat interval
// from then) on the socket. Long after it has passed, with the client
// healthy and the socket empty, the next vectored write and the next
// buffered write must go through: the deadline they find is past, which
// fails the raw write before it writes a byte, and is cleared.
func TestReviewS28DeadlineLeftByAWaitingVectoredWriteDoesNotFailLaterWrites(t *testing.T) {
	batch := bigBatch(48) // 3 MB: past both socket buffers, so it waits
	want := framesOf(batch)
	var c *client
	var peer net.Conn
	for attempt := 0; ; attempt++ {
		c, peer = deadlineClient(t)
		read := peerReads(peer, len(want))
		_, err := boundedBatchWrite(t, c, batch)
		if err == nil {
			require.True(t, bytes.Equal(want, <-read), "the first batch arrived altered")
			break
		}
		// The interval stays short, since the test waits it out below,
		// and a loaded machine under -race may not let the peer drain
		// 3 MB within it (CI-like load: 2 of 30 runs): the machine was
		// too slow to tell. Again, on a new connection.
		var netErr net.Error
		require.True(t, errors.As(err, &netErr) && netErr.Timeout(), "want no error or a timeout, got %v", err)
		require.Less(t, attempt, 5, "every first write outlasted its %s interval", writeDeadlineHeartbeat)
		t.Logf("attempt %d: the first write outlasted its interval (%v)", attempt, err)
		peer.Close()
		<-read
	}

	// The kernel keeps the deadline on the wall clock: let it pass.
	time.Sleep(writeDeadlineHeartbeat + 20*time.Millisecond)

	small := bigBatch(2) // 128 KB: the socket takes it at once
	want = framesOf(small)
	read := peerReads(peer, len(want))
	_, err := boundedBatchWrite(t, c, small)
	require.NoError(t, err, "a healthy client cut off by the deadline an earlier write left")
	require.True(t, bytes.Equal(want, <-read), "the second batch arrived altered")
}

// A vectored write that fails leaves no body referenced: not by the
// pending pieces, nor their backing array, nor the iovecs. The peer resets
// the connection; the daemon's writes fail once the reset has arrived.
func TestReviewS28FailedVectoredWriteKeepsNoBodyAlive(t *testing.T) {
	c, peer := deadlineClient(t)
	peer.(*net.TCPConn).SetLinger(0)
	peer.Close()
	batch := bigBatch(4)
	var err error
	for range 100 {
		if _, err = boundedBatchWrite(t, c, batch); err != nil {
			break
		}
	}
	require.Error(t, err, "writes to a reset connection kept succeeding")
	require.NotNil(t, c.vector.sys, "the batch did not go as a vectored write")
	require.Empty(t, c.vector.bufs)
	require.Zero(t, c.vector.bytes)
	for i, piece := range c.vector.backing[:cap(c.vector.backing)] {
		require.Nil(t, piece, "piece %d still references a body after the failed write", i)
	}
	require.Equal(t, vectorIO{}.iov, c.vector.sys.iov, "the iovecs still point at the bodies")
}

// A vectored write waiting on a peer that stopped reading ends with an
// error as soon as the connection is closed (the daemon closes a client
// whose other side failed), not at its deadline: the heartbeat interval
// here is an hour. It leaves no body referenced either.
func TestReviewS28CloseEndsAWaitingVectoredWrite(t *testing.T) {
	c, peer := deadlineClient(t)
	// Registered last, so run first: a write that never ends on close
	// fails the test rather than hanging it (closing with unread bytes
	// resets the connection, which fails any write).
	t.Cleanup(func() { peer.Close() })
	c.heartbeatInterval.Store(int64(time.Hour))
	done := make(chan error, 1)
	go func() {
		c.writeMu.Lock()
		defer c.writeMu.Unlock()
		done <- c.writeBatchLocked(bigBatch(48))
	}()
	// Wait until the write waits: the socket is full, its unsent bytes
	// the same over several polls (3 MB never fit).
	last, same := -1, 0
	require.Eventually(t, func() bool {
		queued := unsentBytes(t, c.conn)
		if queued > 0 && queued == last {
			same++
		} else {
			same = 0
		}
		last = queued
		return same >= 5
	}, 10*time.Second, 10*time.Millisecond)
	go c.conn.Close() // waits for a write in progress to let go of the socket
	select {
	case err := <-done:
		require.Error(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("a vectored write still waited 10 s after its connection closed")
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	for i, piece := range c.vector.backing[:cap(c.vector.backing)] {
		require.Nil(t, piece, "piece %d still references a body after the write ended", i)
	}
}

// TLS (and compression, TestSnappyCarriesMessagesLargerThanAChunk) need
// the frames' bytes: big bodies to a TLS consumer, alone and under
// DEFLATE, keep the buffered path and arrive intact; vectored, they would
// go to the socket in the clear, past the session.
func TestReviewS28BigBodiesOverTLSArriveIntact(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, func(o *Options) { o.MaxDeflateLevel = 6 })
	sizes := []int{vectorMinBody, 64 << 10, 100, 200 << 10, vectorMinBody + 1}
	bodies := make([]string, len(sizes))
	for i, size := range sizes {
		pattern := fmt.Sprintf("<%d:%d>", i, size)
		bodies[i] = strings.Repeat(pattern, size/len(pattern)+1)[:size]
	}
	for _, deflate := range []bool{false, true} {
		t.Run(fmt.Sprintf("deflate=%v", deflate), func(t *testing.T) {
			topic := fmt.Sprintf("tls%v", deflate)
			consumer := dialV2(t, n)
			fields := map[string]any{}
			if deflate {
				fields["deflate"] = true
				fields["deflate_level"] = 6
			}
			reply := consumer.identifyTLS(p.clientConfig(), fields)
			if deflate {
				require.Equal(t, true, reply["deflate"])
				consumer.startDeflate(6)
			}
			consumer.subscribe(topic, "c")
			consumer.send(fmt.Sprintf("RDY %d", len(bodies)))
			producer := dialV2(t, n)
			producer.mpub(topic, bodies...)
			for i, m := range consumer.readMessages(len(bodies)) {
				if string(m.Body) != bodies[i] {
					t.Fatalf("message %d: %d bytes, want %d", i, len(m.Body), len(bodies[i]))
				}
			}
		})
	}
}

// unsentBytes is how many bytes conn's socket holds that the peer has not
// acknowledged (SIOCOUTQ): more than none once a write to a peer that does
// not read has begun.
func unsentBytes(t *testing.T, conn net.Conn) int {
	t.Helper()
	raw, err := conn.(*net.TCPConn).SyscallConn()
	require.NoError(t, err)
	var queued int32
	var errno syscall.Errno
	require.NoError(t, raw.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&queued)))
	}))
	require.Zero(t, errno, "SIOCOUTQ")
	return int(queued)
}

// tryWritev resumes exactly where a partial writev ended, whatever piece
// it ended in. A pipe makes the cut exact: empty, a non-blocking pipe
// takes exactly its capacity of a longer write, so the sizes below put the
// first cut right after a header, inside one, right after a body and
// inside one, or one byte short of a header's end, with empty pieces
// passed over; the test empties the pipe between rounds, and the bytes read
// must be the pieces in order, each once.
func TestReviewS28TryWritevResumesExactlyWhereAPartialWriteEnded(t *testing.T) {
	var fds [2]int
	require.NoError(t, syscall.Pipe2(fds[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC))
	t.Cleanup(func() { syscall.Close(fds[0]); syscall.Close(fds[1]) })
	const fGetPipeSize = 1032 // F_GETPIPE_SZ
	size, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fds[1]), fGetPipeSize, 0)
	require.Zero(t, errno, "F_GETPIPE_SZ")
	capacity := int(size)
	const head = 28
	cases := map[string][]int{
		"after a header":               {head, capacity - 2*head, head, 20000, head, capacity},
		"inside a header":              {head, capacity - head - 10, head, 20000, head, capacity + 7},
		"after a body":                 {head, capacity - head, head, 20000},
		"inside a body":                {head, capacity + 5000, head, 3 * capacity},
		"a byte before a header's end": {head, capacity - 2*head + 1, head, 20000},
		"an empty piece":               {head, 0, head, capacity - 2*head, 0, head, 9000},
	}
	for name, sizes := range cases {
		t.Run(name, func(t *testing.T) {
			c := &client{}
			c.vector.sys = &vectorIO{}
			var whole []byte
			for i, n := range sizes {
				piece := bytes.Repeat([]byte{byte('A' + i)}, n)
				for j := range piece {
					piece[j] += byte(j % 7) // position within the piece shows
				}
				c.vector.bufs = append(c.vector.bufs, piece)
				whole = append(whole, piece...)
			}
			var got []byte
			buf := make([]byte, capacity)
			for round := 0; len(c.vector.bufs) > 0; round++ {
				require.Less(t, round, 100, "the write never completed")
				c.vector.sys.n, c.vector.sys.errno = 0, 0
				require.True(t, c.tryWritev(uintptr(fds[1])))
				require.Zero(t, c.vector.sys.errno)
				if round == 0 {
					require.Equal(t, capacity, c.vector.sys.n, "the first round did not fill the pipe")
				}
				for {
					n, err := syscall.Read(fds[0], buf)
					if err == syscall.EAGAIN {
						break
					}
					require.NoError(t, err)
					got = append(got, buf[:n]...)
				}
			}
			if !bytes.Equal(got, whole) {
				t.Fatalf("read %d bytes, want %d, first difference at %d", len(got), len(whole), firstDiff(got, whole))
			}
			require.Equal(t, vectorIO{}.iov, c.vector.sys.iov, "the iovecs still point at the pieces")
		})
	}
}
