package nsqd

import (
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// vectorConn is a recordingConn that can also read with readv, as a plain
// TCP socket can (vectorReader): it notes every read it was asked for, and
// hands out at most limit(call) bytes per read (0: as many as asked).
type vectorConn struct {
	*recordingConn
	calls []vectorCall
	limit func(call int) int
	split func(body int) int
}

type vectorCall struct {
	vector    bool // ReadVector, not Read
	want, got int  // bytes asked for in all, bytes read
}

func newVectorConn(stream []byte) *vectorConn {
	return &vectorConn{recordingConn: newRecordingConn(stream)}
}

func (c *vectorConn) allowed(want int) int {
	if c.limit != nil {
		if l := c.limit(len(c.calls)); l > 0 && l < want {
			return l
		}
	}
	return want
}

func (c *vectorConn) Read(p []byte) (int, error) {
	n, err := c.recordingConn.Read(p[:c.allowed(len(p))])
	c.calls = append(c.calls, vectorCall{want: len(p), got: n})
	return n, err
}

func (c *vectorConn) ReadVector(p, next []byte) (int, error) {
	allowed := c.allowed(len(p) + len(next))
	if c.split != nil {
		allowed = min(allowed, c.split(len(p)))
	}
	n, err := c.stream.Read(p[:min(allowed, len(p))])
	if n == len(p) && allowed > len(p) {
		var more int
		more, err = c.stream.Read(next[:min(allowed-len(p), len(next))])
		n += more
	}
	c.calls = append(c.calls, vectorCall{vector: true, want: len(p) + len(next), got: n})
	return n, err
}

// bigBodies returns count distinct bodies of about size bytes.
func bigBodies(count, size int) []string {
	bodies := make([]string, count)
	for i := range bodies {
		bodies[i] = strings.Repeat(fmt.Sprintf("<%d>", i), size/4) + fmt.Sprint(i)
	}
	return bodies
}

// expectBodies subscribes to topic/c and requires the bodies, in order.
func expectBodies(t *testing.T, n *NSQD, topic string, bodies []string) {
	t.Helper()
	sub := dialV2(t, n)
	sub.subscribe(topic, "c")
	sub.send(fmt.Sprintf("RDY %d", len(bodies)))
	for i, m := range sub.readMessages(len(bodies)) {
		require.Equal(t, bodies[i], string(m.Body), "message %d", i)
	}
}

// Each big body of an MPUB is read with the size field of the message
// after it in one read (readv), not the size field on its own: one read
// of the socket per 64 KB message instead of two. The last body, after
// which the next command begins, is read alone, and so is everything
// through the read buffer.
func TestMPUBReadsEachBigBodyWithTheNextSize(t *testing.T) {
	n := startDaemon(t, nil)
	topic, err := n.GetTopic("ahead")
	require.NoError(t, err)
	_, err = topic.GetChannel("c")
	require.NoError(t, err)

	bodies := bigBodies(5, 65536)
	conn := newVectorConn(append(command("MPUB ahead", mpubBody(bodies...)), command("NOP")...))
	runVectorSession(t, n, conn)
	expectBodies(t, n, "ahead", bodies)

	vectors := 0
	for i, call := range conn.calls {
		if call.vector {
			vectors++
			require.Equal(t, call.want-4, call.got-4, "read %d: a body's last bytes and the whole size after it", i)
			continue
		}
		require.NotEqual(t, 4, call.want, "read %d: a size field read on its own", i)
	}
	require.Equal(t, len(bodies)-1, vectors, "bodies read with the next size: all but the last")
	// The command line with the first bytes through the buffer, one read
	// per body after, the NOP, the end of the stream.
	require.Len(t, conn.calls, 1+len(bodies)+2, "reads: %+v", conn.calls)
}

// runVectorSession runs a V2 session on n over conn until the stream ends.
func runVectorSession(t *testing.T, n *NSQD, conn *vectorConn) {
	t.Helper()
	c := newClient(1, conn, n)
	s := &v2Session{c: c, n: n}
	err := s.run()
	require.ErrorIs(t, err, io.EOF, "the session ends with the stream")
}

// However the reads split the stream, around a size field read ahead
// (none of it, one to three bytes, all four) or anywhere else, every body
// of MPUBs of big, small and mixed bodies arrives intact, in order, and a
// PUB after them too.
func TestMPUBSizeReadAheadSplitAnywhere(t *testing.T) {
	big := bigBodies(4, 65536)
	mixed := []string{big[0], "small", strings.Repeat("m", slabMaxBody+1), big[1], strings.Repeat("z", 100_000), "x", big[2]}
	after := strings.Repeat("p", 70_000)
	var stream []byte
	stream = append(stream, command("MPUB split", mpubBody(big...))...)
	stream = append(stream, command("MPUB split", mpubBody(mixed...))...)
	stream = append(stream, command("PUB split", []byte(after))...)
	want := append(append(append([]string(nil), big...), mixed...), after)

	for _, tc := range []struct {
		name  string
		limit func(call int) int // most bytes a read returns (0: all)
		split func(body int) int // most bytes a vector read returns
	}{
		// Each vector read gets its body's bytes and then 0, 1, 2, 3 or 4
		// bytes of the size field, in turn.
		{name: "size split 0-4", split: func() func(int) int {
			vectors := 0
			return func(body int) int { vectors++; return body + vectors%5 }
		}()},
		{name: "tiny reads", limit: func(call int) int { return 1 + call%7 }},
		{name: "odd reads", limit: func(call int) int { return []int{65537, 3, 65538, 1, 65539, 4000, 2}[call%7] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := startDaemon(t, nil)
			topic, err := n.GetTopic("split")
			require.NoError(t, err)
			_, err = topic.GetChannel("c")
			require.NoError(t, err)
			conn := newVectorConn(stream)
			conn.limit, conn.split = tc.limit, tc.split
			runVectorSession(t, n, conn)
			expectBodies(t, n, "split", want)
		})
	}
}

// Over a real TCP connection the socket reads with readv: MPUBs of big
// bodies and a PUB after them arrive intact, and the idle limit still
// closes a client that stops in the middle of a body read that way.
func TestMPUBSizeReadAheadOverTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	dialed, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer dialed.Close()
	if runtime.GOOS == "linux" {
		require.NotNil(t, newVectorReader(dialed), "a TCP socket reads with readv")
	}

	n := startDaemon(t, nil)
	producer := dialV2(t, n)
	consumer := dialV2(t, n)
	consumer.subscribe("tcp", "c")
	bodies := bigBodies(6, 65536)
	bodies = append(bodies, strings.Repeat("q", 100_000))
	producer.mpub("tcp", bodies...)
	producer.mpub("tcp", bodies[2:4]...)
	producer.pub("tcp", "after")
	want := append(append(append([]string(nil), bodies...), bodies[2:4]...), "after")
	consumer.send(fmt.Sprintf("RDY %d", len(want)))
	for i, m := range consumer.readMessages(len(want)) {
		require.Equal(t, want[i], string(m.Body), "message %d", i)
	}
}

// A client that stops in the middle of a big body that is read together
// with the next size field is closed at the idle limit, as one that stops
// anywhere else: the readv waits under the connection's read deadline.
func TestMPUBStalledInReadAheadBodyIsClosed(t *testing.T) {
	t.Parallel()
	n, clk := startClockedDaemon(t, func(o *Options) { o.ClientTimeout = idleClientTimeout })
	start := clk.Now()
	c := dialV2(t, n)
	cl := awaitReadDeadline(t, n, c, start.Add(idleClientTimeout))
	_, reads, _ := idleState(cl)
	full := command("MPUB stall", mpubBody(bigBodies(2, 65536)...))
	// The command line, the sizes and 40 KB of the first body: more than
	// the read buffer takes, so the rest is read past it, with readv.
	_, err := c.conn.Write(full[:len("MPUB stall\n")+12+40_000])
	require.NoError(t, err)
	awaitRead(t, cl, reads+1)
	clk.AdvanceTo(start.Add(idleClientTimeout - time.Nanosecond))
	requireNotIdleExpired(t, cl)
	clk.AdvanceTo(start.Add(idleClientTimeout))
	// As for a body read through the buffer: the read fails, the error
	// is sent, the connection closed.
	frameType, data := c.readFrame()
	require.Equal(t, protocol.FrameTypeError, frameType)
	require.Equal(t, "E_BAD_MESSAGE MPUB failed to read message body", string(data))
	c.expectClosed()
}
