package nsqd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// A consumer that stops reading fills its socket and the daemon's write to
// it blocks (up to the write deadline, two heartbeat intervals). The
// messages it holds still time out at their msg_timeout and go to another
// consumer (before the fix they waited for the blocked write: 28 s with a
// 2 s msg_timeout in the report).
func TestTimeoutFiresWhileTheHoldersSocketIsFull(t *testing.T) {
	n, clk := startClockedDaemon(t, nil)
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	_, err = topic.GetChannel("c")
	require.NoError(t, err)

	// The stalled consumer's receive buffer is as small as the kernel
	// allows, set before connecting so the window stays small.
	dialer := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, raw syscall.RawConn) error {
		var setErr error
		raw.Control(func(fd uintptr) {
			setErr = setSockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return setErr
	}}
	conn, err := dialer.DialContext(context.Background(), "tcp", n.RealTCPAddr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = conn.Write([]byte(protocol.MagicV2))
	require.NoError(t, err)
	stalled := &testConn{t: t, conn: conn, reader: bufio.NewReader(conn)}
	stalled.identify(map[string]any{"msg_timeout": 1000})
	stalled.subscribe("t", "c")

	// Far more than loopback socket buffers hold (a few MiB at most).
	const messages, size = 120, 100 << 10
	body := bytes.Repeat([]byte("x"), size)
	producer := dialV2(t, n)
	for sent := 0; sent < messages; sent += 20 {
		bodies := make([]string, 20)
		for i := range bodies {
			bodies[i] = string(body)
		}
		producer.mpub("t", bodies...)
	}
	stalled.send(fmt.Sprintf("RDY %d", messages))
	ch := existingChannel(t, n, "t", "c")
	waitFor(t, "the stalled consumer to hold every message", func() bool {
		return ch.inFlightCount.Load() == messages
	})

	// The stalled consumer never reads again and its pump is blocked in a
	// write; another consumer must get the messages once their 1 s timeout
	// passes, long before the blocked write's deadline (60 s of wall time
	// with the default heartbeat). The clock has not moved since every
	// delivery, so every deadline is 1 s from now.
	other := dialV2(t, n)
	other.subscribe("t", "c")
	other.send("RDY 1")
	clk.Advance(time.Second - time.Nanosecond)
	require.Zero(t, ch.timeoutCount.Load(), "timed out before msg_timeout")
	clk.Advance(time.Nanosecond)
	require.Equal(t, uint64(messages), ch.timeoutCount.Load(), "the timeouts waited for the blocked write")
	frameType, data, err := other.readFrameErr(20 * time.Second)
	require.NoError(t, err, "no message reached the other consumer")
	require.Equal(t, protocol.FrameTypeMessage, frameType)
	msg, err := protocol.DecodeMessage(data)
	require.NoError(t, err)
	require.EqualValues(t, 2, msg.Attempts, "timed out once")
}
