package nsqd

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// testLogWriter sends daemon logs to the test's log.
type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// startDaemon runs an nsqd in-process on loopback port 0 for every
// transport, with a temp data dir, and stops it when the test ends.
func startDaemon(t testing.TB, configure func(*Options)) *NSQD {
	t.Helper()
	opts := NewOptions()
	opts.TCPAddress = "127.0.0.1:0"
	opts.HTTPAddress = "127.0.0.1:0"
	opts.HTTPSAddress = "127.0.0.1:0" // only opened with a TLS certificate
	opts.DataPath = t.TempDir()
	opts.Logger = testLogWriter{t}
	opts.BroadcastAddress = "127.0.0.1"
	if configure != nil {
		configure(opts)
	}
	n, err := New(opts)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- n.Main() }()
	t.Cleanup(func() {
		n.Exit()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("nsqd did not stop within 10s")
		}
	})
	return n
}

// testConn is a raw V2 protocol connection for tests.
type testConn struct {
	t      testing.TB
	conn   net.Conn
	reader *bufio.Reader
	// n is the in-process daemon the connection talks to (nil when the
	// test built the connection itself): a frame that does not come in
	// time dumps its state (stall_dump_test.go).
	n *NSQD
}

// dialV2 connects and sends the magic.
func dialV2(t testing.TB, n *NSQD) *testConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", n.RealTCPAddr().String(), 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = conn.Write([]byte(protocol.MagicV2))
	require.NoError(t, err)
	return &testConn{t: t, conn: conn, reader: bufio.NewReader(conn), n: n}
}

// send writes a command line with an optional body.
func (c *testConn) send(line string, body ...[]byte) {
	c.t.Helper()
	c.sendRaw(command(line, body...))
}

// command encodes a command line with optional size-prefixed bodies, so a
// test can pipeline several commands in one write.
func command(line string, body ...[]byte) []byte {
	buf := []byte(line + "\n")
	for _, b := range body {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(b)))
		buf = append(buf, b...)
	}
	return buf
}

// mpubBody encodes an MPUB body (count + sized messages) without the outer size.
func mpubBody(bodies ...string) []byte {
	buf := binary.BigEndian.AppendUint32(nil, uint32(len(bodies)))
	for _, b := range bodies {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(b)))
		buf = append(buf, b...)
	}
	return buf
}

// frameWait is how long readFrame waits for each frame.
const frameWait = 5 * time.Second

// readFrame reads one frame, skipping heartbeats, within a deadline.
func (c *testConn) readFrame() (int32, []byte) {
	c.t.Helper()
	return c.readFrameWithin(frameWait)
}

// readFrameWithin is readFrame waiting up to wait for the frame, for a
// test whose every frame is large work for a loaded machine.
func (c *testConn) readFrameWithin(wait time.Duration) (int32, []byte) {
	c.t.Helper()
	for {
		frameType, data, err := c.readFrameErr(wait)
		if err != nil {
			var netErr net.Error
			if c.n != nil && errors.As(err, &netErr) && netErr.Timeout() {
				// A stall explains itself: where every goroutine waits and
				// what the daemon holds, before the test fails.
				dumpStall(c.t, c.n)
			}
		}
		require.NoError(c.t, err)
		if frameType == protocol.FrameTypeResponse && string(data) == string(protocol.Heartbeat) {
			continue
		}
		return frameType, data
	}
}

func (c *testConn) readFrameErr(timeout time.Duration) (int32, []byte, error) {
	c.conn.SetReadDeadline(time.Now().Add(timeout))
	var head [8]byte
	if _, err := io.ReadFull(c.reader, head[:]); err != nil {
		return 0, nil, err
	}
	size := binary.BigEndian.Uint32(head[:4])
	if size < 4 || size > 64<<20 {
		return 0, nil, fmt.Errorf("bad frame size %d", size)
	}
	data := make([]byte, size-4)
	if _, err := io.ReadFull(c.reader, data); err != nil {
		return 0, nil, err
	}
	return int32(binary.BigEndian.Uint32(head[4:])), data, nil
}

// expectResponse reads a response frame with the given data.
func (c *testConn) expectResponse(want string) {
	c.t.Helper()
	frameType, data := c.readFrame()
	require.Equal(c.t, protocol.FrameTypeResponse, frameType, "frame data %q", data)
	require.Equal(c.t, want, string(data))
}

// expectError reads an error frame with the given text.
func (c *testConn) expectError(want string) {
	c.t.Helper()
	frameType, data := c.readFrame()
	require.Equal(c.t, protocol.FrameTypeError, frameType, "frame data %q", data)
	require.Equal(c.t, want, string(data))
}

// expectClosed asserts the server closes the connection.
func (c *testConn) expectClosed() {
	c.t.Helper()
	for {
		frameType, data, err := c.readFrameErr(5 * time.Second)
		if err != nil {
			// A reset is a close too: it happens when the daemon closes
			// with bytes the test sent still unread.
			if !errors.Is(err, syscall.ECONNRESET) {
				require.ErrorIs(c.t, err, io.EOF)
			}
			return
		}
		if frameType == protocol.FrameTypeResponse && string(data) == string(protocol.Heartbeat) {
			continue
		}
		c.t.Fatalf("expected close, got frame %d %q", frameType, data)
	}
}

// readMessage reads a message frame.
func (c *testConn) readMessage() protocol.DecodedMessage {
	c.t.Helper()
	return c.readMessageWithin(frameWait)
}

// readMessageWithin is readMessage waiting up to wait for the frame
// (readFrameWithin).
func (c *testConn) readMessageWithin(wait time.Duration) protocol.DecodedMessage {
	c.t.Helper()
	frameType, data := c.readFrameWithin(wait)
	require.Equal(c.t, protocol.FrameTypeMessage, frameType, "frame data %q", data)
	msg, err := protocol.DecodeMessage(data)
	require.NoError(c.t, err)
	return msg
}

// identify sends IDENTIFY with the given fields and returns the decoded reply
// (nil when the server answered a plain OK).
func (c *testConn) identify(fields map[string]any) map[string]any {
	c.t.Helper()
	body, err := json.Marshal(fields)
	require.NoError(c.t, err)
	c.send("IDENTIFY", body)
	frameType, data := c.readFrame()
	require.Equal(c.t, protocol.FrameTypeResponse, frameType, "frame data %q", data)
	if string(data) == "OK" {
		return nil
	}
	var reply map[string]any
	require.NoError(c.t, json.Unmarshal(data, &reply))
	return reply
}

// subscribe sends SUB and expects OK.
func (c *testConn) subscribe(topic, channel string) {
	c.t.Helper()
	c.send("SUB " + topic + " " + channel)
	c.expectResponse("OK")
}

// httpURL builds a URL on the daemon's HTTP listener.
func httpURL(n *NSQD, pathAndQuery string) string {
	return "http://" + n.RealHTTPAddr().String() + pathAndQuery
}

// httpDo performs a request and returns status and body.
func httpDo(t testing.TB, method, url string, body io.Reader) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, data, resp.Header
}

// waitFor polls cond until it holds or the deadline passes; used only where
// the daemon offers no event to wait on (stats counters).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// dialRaw connects without sending the magic.
func dialRaw(t testing.TB, n *NSQD) *testConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", n.RealTCPAddr().String(), 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &testConn{t: t, conn: conn, reader: bufio.NewReader(conn), n: n}
}

// sendRaw writes bytes exactly as given.
func (c *testConn) sendRaw(b []byte) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := c.conn.Write(b)
	require.NoError(c.t, err)
}

// closeWrite half-closes the connection, so the daemon reads EOF in the
// middle of a command while the test can still read its answer.
func (c *testConn) closeWrite() {
	c.t.Helper()
	require.NoError(c.t, c.conn.(*net.TCPConn).CloseWrite())
}

// expectFatal reads the error frame of a fatal error and then the close.
func (c *testConn) expectFatal(want string) {
	c.t.Helper()
	c.expectError(want)
	c.expectClosed()
}

// expectNoFrame asserts that nothing but heartbeats arrives within window:
// the bounded wait that shows something does not happen.
func (c *testConn) expectNoFrame(window time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(window)
	for {
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return
		}
		frameType, data, err := c.readFrameErr(remaining)
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			require.Zero(c.t, c.reader.Buffered(), "a partial frame arrived")
			return
		}
		require.NoError(c.t, err)
		if frameType == protocol.FrameTypeResponse && string(data) == string(protocol.Heartbeat) {
			continue
		}
		c.t.Fatalf("expected no frame within %s, got frame %d %q", window, frameType, data)
	}
}

// readMessages reads count message frames.
func (c *testConn) readMessages(count int) []protocol.DecodedMessage {
	c.t.Helper()
	msgs := make([]protocol.DecodedMessage, count)
	for i := range msgs {
		msgs[i] = c.readMessage()
	}
	return msgs
}

// pub publishes one message on this connection and expects OK.
func (c *testConn) pub(topic, body string) {
	c.t.Helper()
	c.send("PUB "+topic, []byte(body))
	c.expectResponse("OK")
}

// publish sends bodies to topic over a new producer connection, one PUB
// each, and waits for every OK.
func publish(t testing.TB, n *NSQD, topic string, bodies ...string) {
	t.Helper()
	producer := dialV2(t, n)
	for _, body := range bodies {
		producer.pub(topic, body)
	}
	producer.conn.Close()
}

// numbered returns count bodies "<prefix>0", "<prefix>1", ...
func numbered(prefix string, count int) []string {
	bodies := make([]string, count)
	for i := range bodies {
		bodies[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return bodies
}

// mpub publishes bodies in one MPUB on this connection and expects OK.
func (c *testConn) mpub(topic string, bodies ...string) {
	c.t.Helper()
	c.send("MPUB "+topic, mpubBody(bodies...))
	c.expectResponse("OK")
}

// fin, req and touch acknowledge a message by ID.
func (c *testConn) fin(id protocol.MessageID)   { c.t.Helper(); c.send("FIN " + string(id[:])) }
func (c *testConn) touch(id protocol.MessageID) { c.t.Helper(); c.send("TOUCH " + string(id[:])) }
func (c *testConn) req(id protocol.MessageID, delay time.Duration) {
	c.t.Helper()
	c.send(fmt.Sprintf("REQ %s %d", id[:], delay.Milliseconds()))
}

// existingChannel returns a channel that must exist.
func existingChannel(t testing.TB, n *NSQD, topic, channel string) *Channel {
	t.Helper()
	tp, err := n.GetExistingTopic(topic)
	require.NoError(t, err)
	ch, err := tp.GetExistingChannel(channel)
	require.NoError(t, err)
	return ch
}

// expectHeartbeat reads the next frame, which must be a heartbeat (the
// other readers skip heartbeats).
func (c *testConn) expectHeartbeat() {
	c.t.Helper()
	frameType, data, err := c.readFrameErr(5 * time.Second)
	require.NoError(c.t, err)
	require.Equal(c.t, protocol.FrameTypeResponse, frameType, "frame data %q", data)
	require.Equal(c.t, string(protocol.Heartbeat), string(data))
}

// awaitSubscribers waits until topic/channel exists with count consumers,
// for clients (like go-nsq) that do not wait for SUB's answer.
func awaitSubscribers(t testing.TB, n *NSQD, topic, channel string, count int) *Channel {
	t.Helper()
	var ch *Channel
	waitFor(t, fmt.Sprintf("%d subscribers on %s/%s", count, topic, channel), func() bool {
		tp, err := n.GetExistingTopic(topic)
		if err != nil {
			return false
		}
		if ch, err = tp.GetExistingChannel(channel); err != nil {
			return false
		}
		ch.mu.Lock()
		defer ch.mu.Unlock()
		return len(ch.clients) == count
	})
	return ch
}

// timedConsumer subscribes to t/c with a 1s msg_timeout (so timeout tests
// take a second, not a minute) and RDY rdy.
func timedConsumer(t testing.TB, n *NSQD, rdy int) *testConn {
	t.Helper()
	c := dialV2(t, n)
	c.identify(map[string]any{"msg_timeout": 1000})
	c.subscribe("t", "c")
	c.send(fmt.Sprintf("RDY %d", rdy))
	return c
}

// patterned returns n bytes of a fixed pattern, to check what a stream
// delivered against (shared by the socket tests of every platform).
func patterned(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>11)
	}
	return b
}
