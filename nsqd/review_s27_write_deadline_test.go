//go:build linux

package nsqd

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Review of session 27's write deadline (client_conn.go, writeSocket): the
// deadline is armed only when a write must wait. These tests pin the cases
// the existing ones (client_write_deadline_test.go) leave open: a write
// that finds the socket already full (WriteNow takes nothing and returns
// no error), a deadline left on the socket that is still ahead but nearer
// than an interval, and a past deadline met with the socket full, whose
// retry must send every byte once.

// fillSocket writes into c's socket until it takes nothing more without
// waiting, and returns what it wrote.
func fillSocket(t *testing.T, c *client) []byte {
	t.Helper()
	chunk := patterned(64 << 10)
	var sent []byte
	for range 100000 {
		n, err := c.socket.WriteNow(chunk)
		require.NoError(t, err)
		sent = append(sent, chunk[:n]...)
		if n == 0 {
			return sent
		}
	}
	t.Fatal("the socket never filled")
	return nil
}

// A write that finds the socket full before it writes a byte waits under a
// deadline of its own: a peer that stopped reading cuts it off a heartbeat
// interval later, not never (no deadline on the socket before it).
func TestReviewS27WriteToAnAlreadyFullSocketGetsADeadline(t *testing.T) {
	c, _ := deadlineClient(t)
	c.conn.SetWriteDeadline(time.Time{})
	fillSocket(t, c)
	out := patterned(2 << 20)
	n, elapsed, err := boundedWrite(t, c, out)
	var netErr net.Error
	require.True(t, errors.As(err, &netErr) && netErr.Timeout(), "want a timeout, got %v", err)
	require.Less(t, n, len(out))
	require.GreaterOrEqual(t, elapsed, writeDeadlineHeartbeat, "cut off before its interval")
}

// A deadline an earlier write left on the socket, still ahead but nearer
// than a heartbeat interval, is not the one a write that must wait gets:
// the write is cut off an interval after it began to wait, not when the
// old deadline passes.
func TestReviewS27NearStaleDeadlineDoesNotCutAWaitingWriteShort(t *testing.T) {
	c, _ := deadlineClient(t)
	c.conn.SetWriteDeadline(time.Now().Add(writeDeadlineHeartbeat / 8))
	out := patterned(2 << 20)
	n, elapsed, err := boundedWrite(t, c, out)
	var netErr net.Error
	require.True(t, errors.As(err, &netErr) && netErr.Timeout(), "want a timeout, got %v", err)
	require.Less(t, n, len(out))
	require.GreaterOrEqual(t, elapsed, writeDeadlineHeartbeat, "cut off by the stale deadline")
}

// A deadline already past, met by a write while the socket is full: the
// write clears it, waits under its own, and once the peer reads every byte
// arrives exactly once, in order, after what filled the socket.
func TestReviewS27PastDeadlineOnAFullSocketSendsEveryByteOnce(t *testing.T) {
	c, peer := deadlineClient(t)
	before := fillSocket(t, c)
	c.conn.SetWriteDeadline(time.Now().Add(-time.Second))
	c.heartbeatInterval.Store(int64(completingHeartbeat))   // the peer reads: no cut-off
	out := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MB, unlike the filler
	read := peerReads(peer, len(before)+len(out))
	n, err := c.deadlined.Write(out)
	require.NoError(t, err)
	require.Equal(t, len(out), n)
	got := <-read
	require.Equal(t, len(before)+len(out), len(got))
	require.True(t, bytes.Equal(before, got[:len(before)]), "the bytes that filled the socket changed")
	require.True(t, bytes.Equal(out, got[len(before):]), "the write's bytes arrived altered")
}
