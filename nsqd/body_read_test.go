package nsqd

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// recordingConn is a socket that serves a fixed byte stream, as much of it
// as each read asks for (the most a read-ahead buffer could take), and
// notes how many bytes went into each piece of memory, known by the end of
// its capacity.
type recordingConn struct {
	discardConn
	stream *bytes.Reader
	order  []*byte       // memory read into, first read first
	into   map[*byte]int // bytes read into it
}

func newRecordingConn(stream []byte) *recordingConn {
	return &recordingConn{stream: bytes.NewReader(stream), into: make(map[*byte]int)}
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.stream.Read(p)
	if n > 0 {
		end := &p[:cap(p)][cap(p)-1]
		if _, seen := c.into[end]; !seen {
			c.order = append(c.order, end)
		}
		c.into[end] += n
	}
	return n, err
}

// runRecordedSession runs a V2 session on n over conn until the stream ends.
func runRecordedSession(t *testing.T, n *NSQD, conn *recordingConn) {
	t.Helper()
	c := newClient(1, conn, n)
	s := &v2Session{c: c, n: n}
	err := s.run()
	require.True(t, errors.Is(err, io.EOF), "the session ends with the stream: %v", err)
}

// A big message's body is read from the socket into its own memory, not
// read ahead into the read buffer and copied out of it: in an MPUB of big
// bodies only the first read (the command line and what came with it) goes
// through the buffer. Each body arrives intact, in order.
func TestMPUBBigBodiesBypassReadBuffer(t *testing.T) {
	n := startDaemon(t, nil)
	topic, err := n.GetTopic("big")
	require.NoError(t, err)
	_, err = topic.GetChannel("c")
	require.NoError(t, err)

	bodies := []string{
		strings.Repeat("a", 65536), strings.Repeat("b", 20000),
		strings.Repeat("c", 70001), strings.Repeat("d", slabMaxBody+1),
	}
	conn := newRecordingConn(command("MPUB big", mpubBody(bodies...)))
	runRecordedSession(t, n, conn)

	require.NotEmpty(t, conn.order)
	readBuffer := conn.order[0] // the command line is read through it
	require.LessOrEqual(t, conn.into[readBuffer], defaultBufferSize,
		"bytes read into the read buffer: more than its first fill")

	sub := dialV2(t, n)
	sub.subscribe("big", "c")
	sub.send("RDY 10")
	for i, m := range sub.readMessages(len(bodies)) {
		require.Equal(t, bodies[i], string(m.Body), "message %d", i)
	}
}

// Small and big bodies mixed in one MPUB, and a PUB of a big body after
// it, all arrive intact: switching between reading through the buffer and
// past it loses and reorders nothing.
func TestMPUBMixedBodySizesArriveIntact(t *testing.T) {
	n := startDaemon(t, nil)
	topic, err := n.GetTopic("mixed")
	require.NoError(t, err)
	_, err = topic.GetChannel("c")
	require.NoError(t, err)

	bodies := []string{
		strings.Repeat("a", 30000), "small", strings.Repeat("b", slabMaxBody),
		strings.Repeat("c", slabMaxBody+1), "x", "y", strings.Repeat("d", 100000),
	}
	last := strings.Repeat("e", 40000)
	var stream []byte
	stream = append(stream, command("MPUB mixed", mpubBody(bodies...))...)
	stream = append(stream, command("PUB mixed", []byte(last))...)
	stream = append(stream, command("NOP")...)
	runRecordedSession(t, n, newRecordingConn(stream))

	sub := dialV2(t, n)
	sub.subscribe("mixed", "c")
	sub.send("RDY 10")
	want := append(append([]string(nil), bodies...), last)
	for i, m := range sub.readMessages(len(want)) {
		require.Equal(t, want[i], string(m.Body), "message %d", i)
	}
}

// Over a compressed connection a big body is read past the read buffer
// from the decompressor, not the socket: an MPUB of big bodies followed by
// more commands arrives intact with either compression.
func TestMPUBBigBodiesThroughDecompressor(t *testing.T) {
	for _, comp := range []string{"snappy", "deflate"} {
		t.Run(comp, func(t *testing.T) {
			n := startDaemon(t, nil)
			consumer := dialV2(t, n)
			consumer.subscribe("t", "c")
			consumer.send("RDY 10")
			producer := dialV2(t, n)
			if comp == "snappy" {
				producer.identifySnappy(map[string]any{})
			} else {
				producer.identifyDeflate(map[string]any{})
			}
			bodies := []string{
				strings.Repeat("0123456789abcdef", 4096), strings.Repeat("x", slabMaxBody+1),
				"small", strings.Repeat("fedcba9876543210", 5000),
			}
			producer.mpub("t", bodies...)
			producer.pub("t", "after")
			want := append(append([]string(nil), bodies...), "after")
			for i, m := range consumer.readMessages(len(want)) {
				require.Equal(t, want[i], string(m.Body), "message %d", i)
			}
		})
	}
}
