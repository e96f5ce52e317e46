package nsqd

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The idle limit (timeouts.go) runs on the daemon's clock: these helpers
// let a test on a fake clock know that the reader has set the read
// deadline it is about to advance past, and which connection's it is.

// clientOf is the daemon's side of the test connection c.
func clientOf(t testing.TB, n *NSQD, c *testConn) *client {
	t.Helper()
	local := c.conn.LocalAddr().String()
	var found *client
	waitFor(t, "the daemon to register "+local, func() bool {
		for _, cl := range n.clientList() {
			if cl.remoteAddr == local {
				found = cl
				return true
			}
		}
		return false
	})
	return found
}

// idleState is a client's idle limit as the reader last set it: the read
// deadline in force (ns; 0 for none), how many socket reads it has made,
// and whether the deadline has expired.
func idleState(cl *client) (deadline int64, reads uint64, expired bool) {
	l := &cl.idle
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.deadline, l.reads, l.stale && l.deadline != 0
}

// awaitReadDeadline waits until the reader of c's connection is reading
// under the read deadline at. It tells one command's deadline from the
// next only when the clock has moved between them; awaitCommandRead
// does otherwise.
func awaitReadDeadline(t testing.TB, n *NSQD, c *testConn, at time.Time) *client {
	t.Helper()
	cl := clientOf(t, n, c)
	waitFor(t, fmt.Sprintf("the read deadline %s", at.Format(time.RFC3339Nano)), func() bool {
		deadline, _, _ := idleState(cl)
		return deadline == at.UnixNano()
	})
	return cl
}

// awaitCommandRead waits until the reader of c's connection has begun
// reading its count-th command (the first socket read of each sets its
// deadline) and returns the deadline in force.
func awaitCommandRead(t testing.TB, n *NSQD, c *testConn, count uint64) (*client, time.Time) {
	t.Helper()
	cl := clientOf(t, n, c)
	var deadline int64
	waitFor(t, fmt.Sprintf("the reader to wait for command %d", count), func() bool {
		l := &cl.idle
		l.mu.Lock()
		defer l.mu.Unlock()
		deadline = l.deadline
		return l.commandReads >= count
	})
	return cl, time.Unix(0, deadline)
}

// awaitRead waits until cl's reader has made more than reads socket reads.
func awaitRead(t testing.TB, cl *client, reads uint64) {
	t.Helper()
	waitFor(t, "the reader to read again", func() bool {
		_, now, _ := idleState(cl)
		return now > reads
	})
}

// requireNotIdleExpired checks that the idle limit has not ended cl's
// read: the timer fires inside Advance, so this is final for the time the
// clock has reached.
func requireNotIdleExpired(t testing.TB, cl *client) {
	t.Helper()
	_, _, expired := idleState(cl)
	require.False(t, expired, "the idle limit expired early")
}
