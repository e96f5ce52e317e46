package nsqd

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// chunkConn serves a fixed byte stream at most chunk bytes per read, so
// that the read buffer's edge falls anywhere in an MPUB: inside a size
// field, inside a body, or between them.
type chunkConn struct {
	discardConn
	stream *bytes.Reader
	chunk  int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	return c.stream.Read(p[:min(len(p), c.chunk)])
}

// An MPUB's size fields and small bodies are taken from the read buffer in
// place when it holds them whole, and read through it otherwise (mpub):
// whatever the pieces the socket hands over, every body arrives intact and
// in order, with the big bodies read past the buffer among them, and the
// commands after the MPUB are read from where it ended.
func TestMPUBBodiesSplitAnywhereByTheReadBuffer(t *testing.T) {
	var bodies []string
	for i := range 300 {
		size := 1 + (i*37)%300
		bodies = append(bodies, strings.Repeat(string(rune('a'+i%26)), size)+fmt.Sprint(i))
	}
	bodies[150] = strings.Repeat("B", slabMaxBody+1) // read past the buffer
	bodies[151] = strings.Repeat("S", slabMaxBody)   // the biggest in a slab
	last := "after"
	for _, chunk := range []int{1, 3, 4, 5, 205, 4099, defaultBufferSize + 5} {
		t.Run(fmt.Sprintf("chunk=%d", chunk), func(t *testing.T) {
			n := startDaemon(t, nil)
			topic, err := n.GetTopic("split")
			require.NoError(t, err)
			_, err = topic.GetChannel("c")
			require.NoError(t, err)

			var stream []byte
			stream = append(stream, command("MPUB split", mpubBody(bodies...))...)
			stream = append(stream, command("MPUB split", mpubBody(bodies[:3]...))...)
			stream = append(stream, command("PUB split", []byte(last))...)
			stream = append(stream, command("NOP")...)
			conn := &chunkConn{stream: bytes.NewReader(stream), chunk: chunk}
			c := newClient(1, conn, n)
			s := &v2Session{c: c, n: n}
			require.ErrorContains(t, s.run(), "EOF")

			want := append(append(append([]string(nil), bodies...), bodies[:3]...), last)
			sub := dialV2(t, n)
			sub.subscribe("split", "c")
			sub.send(fmt.Sprintf("RDY %d", len(want)))
			for i, m := range sub.readMessages(len(want)) {
				require.Equal(t, want[i], string(m.Body), "message %d", i)
			}
		})
	}
}
