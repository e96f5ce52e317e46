package nsqd

import (
	"io"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// Connection-level rules: magic, framing, unknown commands, fatal versus
// non-fatal errors (only E_FIN_FAILED, E_REQ_FAILED and E_TOUCH_FAILED
// keep the connection open), pipelining and heartbeats.

func TestBadMagicGetsBadProtocolAndClose(t *testing.T) {
	n := startDaemon(t, nil)
	for _, magic := range []string{"  V1", "GET ", "V2  ", "\x00\x00\x00\x00"} {
		c := dialRaw(t, n)
		c.sendRaw([]byte(magic))
		c.expectFatal("E_BAD_PROTOCOL")
	}
}

func TestBadProtocolFrameMatchesUpstreamBytes(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialRaw(t, n)
	c.sendRaw([]byte("  V1"))
	got := make([]byte, 22)
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.ReadFull(c.reader, got)
	require.NoError(t, err)
	require.Equal(t, "\x00\x00\x00\x12\x00\x00\x00\x01E_BAD_PROTOCOL", string(got))
}

func TestUnknownCommandsAreFatal(t *testing.T) {
	n := startDaemon(t, nil)
	for _, tc := range []struct{ line, want string }{
		{"FOO", "E_INVALID invalid command FOO"},
		{"", "E_INVALID invalid command "},
		{"pub t", "E_INVALID invalid command pub"},
		{"nop", "E_INVALID invalid command nop"},
		{" PUB t", "E_INVALID invalid command "},
	} {
		c := dialV2(t, n)
		c.send(tc.line)
		c.expectFatal(tc.want)
	}
}

func TestNothingAfterAFatalErrorIsProcessed(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.sendRaw(append(command("FOO"), command("PUB after-fatal", []byte("x"))...))
	c.expectFatal("E_INVALID invalid command FOO")
	_, err := n.GetExistingTopic("after-fatal")
	require.ErrorIs(t, err, errTopicNotFound)
}

func TestConnectionServesOnAfterNonFatalError(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("FIN " + unknownID)
	c.expectError("E_FIN_FAILED FIN " + unknownID + " failed ID not in flight")
	c.send("RDY 1")
	publish(t, n, "t", "after the error")
	require.Equal(t, "after the error", string(c.readMessage().Body))
}

func TestCRLFLineEndingsAreAccepted(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.sendRaw([]byte("SUB t c\r\n"))
	c.expectResponse("OK")
	p := dialV2(t, n)
	p.sendRaw(command("PUB t\r", []byte("crlf")))
	p.expectResponse("OK")
	c.sendRaw([]byte("RDY 1\r\n"))
	msg := c.readMessage()
	require.Equal(t, "crlf", string(msg.Body))
	c.sendRaw([]byte("FIN " + string(msg.ID[:]) + "\r\n"))
	// A failed FIN would answer an error before this OK. Another topic:
	// c is subscribed to t with its credit back after the FIN, so a marker
	// on t could be delivered to it before the OK (it was, under load).
	c.pub("t2", "marker")
}

func TestExtraParametersAreIgnored(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.send("PUB t extra", []byte("x"))
	c.expectResponse("OK")
	c.send("SUB t c extra")
	c.expectResponse("OK")
	c.send("RDY 1 2")
	msg := c.readMessage()
	c.send("FIN " + string(msg.ID[:]) + " extra")
	c.send("NOP extra")
	c.pub("t2", "marker")
}

func TestPipelinedCommandsAreAnsweredInOrder(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	var raw []byte
	raw = append(raw, command("PUB t", []byte("1"))...)
	raw = append(raw, command("NOP")...)
	raw = append(raw, command("MPUB t", mpubBody("2", "3"))...)
	raw = append(raw, command("SUB t c")...)
	raw = append(raw, command("FIN "+unknownID)...)
	raw = append(raw, command("DPUB t 0", []byte("4"))...)
	raw = append(raw, command("CLS")...)
	c.sendRaw(raw)
	c.expectResponse("OK") // PUB
	c.expectResponse("OK") // MPUB
	c.expectResponse("OK") // SUB
	c.expectError("E_FIN_FAILED FIN " + unknownID + " failed ID not in flight")
	c.expectResponse("OK") // DPUB
	c.expectResponse("CLOSE_WAIT")
}

func TestManyPipelinedPublishesGetOneOKEach(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	const count = 1000
	var raw []byte
	for i := 0; i < count; i++ {
		raw = append(raw, command("PUB t", []byte("x"))...)
	}
	c.sendRaw(raw)
	for i := 0; i < count; i++ {
		c.expectResponse("OK")
	}
	c.expectNoFrame(100 * time.Millisecond)
	topic, err := n.GetExistingTopic("t")
	require.NoError(t, err)
	require.Equal(t, int64(count), topic.Depth())
}

func TestHeartbeatsArriveAtNegotiatedInterval(t *testing.T) {
	t.Parallel()
	n, clk := startClockedDaemon(t, nil)
	c := dialV2(t, n)
	c.identify(map[string]any{"heartbeat_interval": 1000})
	start := clk.Now()
	for i := 1; i <= 2; i++ {
		// The pump's ticker is armed for exactly one interval on: not
		// early, not late, and no heartbeat before the clock gets there.
		due := start.Add(time.Duration(i) * time.Second)
		awaitDeadline(t, clk, due)
		clk.AdvanceTo(due)
		c.expectHeartbeat()
		c.send("NOP")
		// The NOP is read before the clock moves on (the idle limit's
		// timer, at two intervals, may be the one awaited next).
		awaitReadDeadline(t, n, c, due.Add(2*time.Second))
	}
}

// The idle limit is two heartbeat intervals on the daemon's clock
// (timeouts.go): these tests advance a fake clock past it.

// idleClientTimeout is the --client-timeout of the idle-limit tests: the
// default heartbeat is half of it, the idle limit all of it.
const idleClientTimeout = 2 * time.Second

func TestSilentClientIsClosedAfterTwoHeartbeatIntervals(t *testing.T) {
	t.Parallel()
	n, clk := startClockedDaemon(t, func(o *Options) { o.ClientTimeout = idleClientTimeout })
	start := clk.Now()
	c := dialV2(t, n)
	hb := idleClientTimeout / 2 // the default heartbeat: half the client timeout
	cl := awaitReadDeadline(t, n, c, start.Add(2*hb))
	awaitDeadline(t, clk, start.Add(hb))
	clk.Advance(hb)
	c.expectHeartbeat()
	clk.AdvanceTo(start.Add(2*hb - time.Nanosecond))
	requireNotIdleExpired(t, cl)
	clk.AdvanceTo(start.Add(2 * hb))
	heartbeats := 0
	for {
		frameType, data, err := c.readFrameErr(5 * time.Second)
		if err != nil {
			require.ErrorIs(t, err, io.EOF, "closed, without an error frame")
			break
		}
		require.Equal(t, protocol.FrameTypeResponse, frameType)
		require.Equal(t, "_heartbeat_", string(data))
		heartbeats++
	}
	// The second interval's heartbeat may go out before the close.
	require.LessOrEqual(t, heartbeats, 1)
}

func TestClientAnsweringHeartbeatsStaysConnected(t *testing.T) {
	t.Parallel()
	// Four heartbeat intervals, twice the idle limit, which only answering
	// every heartbeat survives.
	n, clk := startClockedDaemon(t, func(o *Options) { o.ClientTimeout = idleClientTimeout })
	start := clk.Now()
	hb := idleClientTimeout / 2
	c := dialV2(t, n)
	cl := awaitReadDeadline(t, n, c, start.Add(2*hb))
	awaitDeadline(t, clk, start.Add(hb))
	for i := 1; i <= 4; i++ {
		clk.Advance(hb)
		c.expectHeartbeat()
		c.send("NOP")
		awaitReadDeadline(t, n, c, clk.Now().Add(2*hb))
	}
	requireNotIdleExpired(t, cl)
	c.pub("t", "alive")
}

func TestHeartbeatsDisabledByMinusOne(t *testing.T) {
	t.Parallel()
	n, clk := startClockedDaemon(t, nil)
	c := dialV2(t, n)
	start := clk.Now()
	awaitDeadline(t, clk, start.Add(30*time.Second)) // the default: half of 60 s
	c.identify(map[string]any{"heartbeat_interval": -1})
	// The pump's ticker and the idle limit's timer are the connection's
	// only timers; stopping them arms nothing, so there is no event to await.
	waitFor(t, "the heartbeat ticker and the idle timer to stop", func() bool { return clk.Pending() == 0 })
	clk.Advance(24 * time.Hour) // past any heartbeat or idle limit the default would set
	_, _, err := c.readFrameErr(100 * time.Millisecond)
	require.ErrorContains(t, err, "timeout", "no heartbeat and no close")
	c.pub("t", "still connected")
}

func TestPublisherGetsHeartbeatsBeforeIdentify(t *testing.T) {
	t.Parallel()
	n, clk := startClockedDaemon(t, func(o *Options) { o.ClientTimeout = 2 * time.Second })
	start := clk.Now()
	c := dialV2(t, n)
	// The default interval is half the client timeout, from the accept.
	awaitDeadline(t, clk, start.Add(time.Second))
	clk.Advance(time.Second)
	c.expectHeartbeat()
}

func TestLineLongerThanReadBufferClosesConnection(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	long := make([]byte, 2*defaultBufferSize)
	for i := range long {
		long[i] = 'A'
	}
	c.sendRaw(long)
	c.expectClosed()
}

func TestExitClosesConnectionThatNeverSentMagic(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialRaw(t, n)
	c.sendRaw([]byte(" ")) // the daemon is now waiting for the rest of the magic
	exited := make(chan struct{})
	go func() {
		n.Exit()
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("Exit blocked on a connection that never sent the magic")
	}
	c.expectClosed()
}

func TestClientTimeoutSetsDefaultHeartbeatAndIdleLimit(t *testing.T) {
	n, clk := startClockedDaemon(t, func(o *Options) { o.ClientTimeout = idleClientTimeout })
	start := clk.Now()
	c := dialV2(t, n)
	cl := awaitReadDeadline(t, n, c, start.Add(idleClientTimeout))
	// Heartbeats every half of --client-timeout, on the daemon's clock.
	awaitDeadline(t, clk, start.Add(idleClientTimeout/2))
	clk.Advance(idleClientTimeout / 2)
	c.expectHeartbeat()
	// Silence for --client-timeout closes it, and not before.
	clk.AdvanceTo(start.Add(idleClientTimeout - time.Nanosecond))
	requireNotIdleExpired(t, cl)
	clk.AdvanceTo(start.Add(idleClientTimeout))
	c.expectClosed()
}

// The idle deadline runs per command, as upstream: a client that trickles a
// line a byte at a time, each byte well inside the deadline, is still
// closed once the line has taken two heartbeat intervals.
func TestTricklingClientIsClosedAfterTwoHeartbeatIntervals(t *testing.T) {
	t.Parallel()
	// A byte every quarter of the limit, each read by the daemon before the
	// clock moves on: a deadline per read would move past the limit with
	// each byte; the deadline per command closes it at the limit.
	n, clk := startClockedDaemon(t, func(o *Options) { o.ClientTimeout = idleClientTimeout })
	start := clk.Now()
	c := dialV2(t, n)
	cl := awaitReadDeadline(t, n, c, start.Add(idleClientTimeout))
	step := idleClientTimeout / 4
	for i := 1; i <= 3; i++ {
		clk.Advance(step)
		_, reads, _ := idleState(cl)
		_, err := c.conn.Write([]byte("N"))
		require.NoError(t, err)
		awaitRead(t, cl, reads)
	}
	clk.AdvanceTo(start.Add(idleClientTimeout - time.Nanosecond))
	requireNotIdleExpired(t, cl)
	clk.AdvanceTo(start.Add(idleClientTimeout))
	c.expectClosed()
}
