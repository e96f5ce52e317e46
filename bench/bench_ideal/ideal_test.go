package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

func startIdeal(t *testing.T, size int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := newServer(ln, size)
	go srv.serve()
	t.Cleanup(srv.close)
	return ln.Addr().String()
}

func readFrame(t *testing.T, r *bufio.Reader) (int32, []byte) {
	t.Helper()
	var head [8]byte
	_, err := io.ReadFull(r, head[:])
	require.NoError(t, err)
	data := make([]byte, binary.BigEndian.Uint32(head[:])-4)
	_, err = io.ReadFull(r, data)
	require.NoError(t, err)
	return int32(binary.BigEndian.Uint32(head[4:])), data
}

// A consumer gets exactly its RDY credit of messages, distinct IDs in
// nsqd's hex form and bodies of --size bytes, and one more per FIN.
func TestIdealServerHonoursRDY(t *testing.T) {
	conn, err := net.Dial("tcp", startIdeal(t, 7))
	require.NoError(t, err)
	defer conn.Close()
	r := bufio.NewReader(conn)
	identify := []byte(`{"client_id":"t"}`)
	var cmd []byte
	cmd = append(cmd, protocol.MagicV2+"IDENTIFY\n"...)
	cmd = binary.BigEndian.AppendUint32(cmd, uint32(len(identify)))
	cmd = append(cmd, identify...)
	cmd = append(cmd, "SUB t c\nRDY 3\n"...)
	_, err = conn.Write(cmd)
	require.NoError(t, err)
	for range 2 {
		typ, data := readFrame(t, r)
		require.Equal(t, protocol.FrameTypeResponse, typ)
		require.Equal(t, "OK", string(data))
	}
	ids := map[protocol.MessageID]bool{}
	var last protocol.DecodedMessage
	for range 3 {
		typ, data := readFrame(t, r)
		require.Equal(t, protocol.FrameTypeMessage, typ)
		m, err := protocol.DecodeMessage(data)
		require.NoError(t, err)
		require.Len(t, m.Body, 7)
		require.Regexp(t, `^[0-9a-f]{16}$`, string(m.ID[:]))
		ids[m.ID] = true
		last = m
	}
	require.Len(t, ids, 3)
	// No fourth message while all three are in flight: the next frame is
	// the answer to a command sent now (a writer that ignored RDY would
	// have streamed messages ahead of it).
	_, err = conn.Write([]byte("SUB t c\n"))
	require.NoError(t, err)
	typ, data := readFrame(t, r)
	require.Equal(t, protocol.FrameTypeResponse, typ, "a message beyond RDY")
	require.Equal(t, "OK", string(data))
	_, err = conn.Write(append(append([]byte("FIN "), last.ID[:]...), '\n'))
	require.NoError(t, err)
	typ, data = readFrame(t, r)
	require.Equal(t, protocol.FrameTypeMessage, typ)
	m, err := protocol.DecodeMessage(data)
	require.NoError(t, err)
	require.False(t, ids[m.ID], "an ID sent twice")
}

// A publisher's PUB and MPUB are read whole and answered OK, in order.
func TestIdealServerAnswersPublishes(t *testing.T) {
	conn, err := net.Dial("tcp", startIdeal(t, 0))
	require.NoError(t, err)
	defer conn.Close()
	cmd := []byte(protocol.MagicV2)
	for _, body := range [][]byte{make([]byte, 70000), []byte("x")} {
		cmd = append(cmd, "MPUB t\n"...)
		cmd = binary.BigEndian.AppendUint32(cmd, uint32(len(body)))
		cmd = append(cmd, body...)
		cmd = append(cmd, "PUB t\n"...)
		cmd = binary.BigEndian.AppendUint32(cmd, uint32(len(body)))
		cmd = append(cmd, body...)
	}
	cmd = append(cmd, "NOP\nBAD\n"...)
	_, err = conn.Write(cmd)
	require.NoError(t, err)
	r := bufio.NewReader(conn)
	for range 4 {
		typ, data := readFrame(t, r)
		require.Equal(t, protocol.FrameTypeResponse, typ)
		require.Equal(t, "OK", string(data))
	}
	typ, data := readFrame(t, r)
	require.Equal(t, protocol.FrameTypeError, typ)
	require.Contains(t, string(data), "E_INVALID")
}

// consume subscribes to topic/channel with RDY rdy and returns the IDs of
// the rdy messages it then gets, checking each body is size bytes.
func consume(t *testing.T, addr, topic, channel string, rdy, size int) []protocol.MessageID {
	t.Helper()
	ids, err := tryConsume(addr, topic, channel, rdy, size)
	require.NoError(t, err)
	return ids
}

// tryConsume is consume for a goroutine other than the test's.
func tryConsume(addr, topic, channel string, rdy, size int) ([]protocol.MessageID, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(protocol.MagicV2 + "SUB " + topic + " " + channel + "\nRDY " + strconv.Itoa(rdy) + "\n")); err != nil {
		return nil, err
	}
	r := bufio.NewReader(conn)
	ids := make([]protocol.MessageID, 0, rdy)
	for i := -1; i < rdy; i++ {
		var head [8]byte
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return nil, err
		}
		data := make([]byte, binary.BigEndian.Uint32(head[:])-4)
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, err
		}
		typ := int32(binary.BigEndian.Uint32(head[4:]))
		if i < 0 {
			if typ != protocol.FrameTypeResponse || string(data) != "OK" {
				return nil, fmt.Errorf("SUB answered %d %q, want OK", typ, data)
			}
			continue
		}
		if typ != protocol.FrameTypeMessage {
			return nil, fmt.Errorf("frame %d is type %d %q, want a message", i, typ, data)
		}
		m, err := protocol.DecodeMessage(data)
		if err != nil {
			return nil, err
		}
		if len(m.Body) != size {
			return nil, fmt.Errorf("a %d-byte body, want %d", len(m.Body), size)
		}
		ids = append(ids, m.ID)
	}
	return ids, nil
}

// The 1 KB and 64 KB shapes' readers get bodies of the --size the server
// was started with (a 64 KB message is bigger than one write's budget:
// it goes out one per write).
func TestIdealServerServesSizedBodies(t *testing.T) {
	for _, size := range []int{1024, 65536} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			require.Len(t, consume(t, startIdeal(t, size), "t", "c", 100, size), 100)
		})
	}
}

// A topic's channels each get every message (the same IDs, from 1 up),
// while the consumers of one channel share its messages: never the same
// ID twice between them. This is the fan-out shape's ideal: three
// channels, each read by its own bench_reader.
func TestIdealServerFansOutToEveryChannel(t *testing.T) {
	addr := startIdeal(t, 3)
	want := map[protocol.MessageID]bool{}
	for v := range uint64(10) {
		var id protocol.MessageID
		protocol.FormatID(v+1, &id)
		want[id] = true
	}
	set := func(ids ...[]protocol.MessageID) map[protocol.MessageID]bool {
		s := map[protocol.MessageID]bool{}
		for _, l := range ids {
			for _, id := range l {
				require.False(t, s[id], "ID %s delivered twice", id[:])
				s[id] = true
			}
		}
		return s
	}
	// Two consumers of "metrics", five messages each, at once.
	type result struct {
		ids []protocol.MessageID
		err error
	}
	halves := make(chan result, 2)
	for range 2 {
		go func() {
			ids, err := tryConsume(addr, "clicks", "metrics", 5, 3)
			halves <- result{ids, err}
		}()
	}
	a, b := <-halves, <-halves
	require.NoError(t, a.err)
	require.NoError(t, b.err)
	require.Equal(t, want, set(a.ids, b.ids), "the consumers of metrics between them")
	require.Equal(t, want, set(consume(t, addr, "clicks", "archive", 10, 3)), "archive's one consumer")
	require.Equal(t, want, set(consume(t, addr, "clicks", "spam_analysis", 10, 3)), "spam_analysis's one consumer")
}

// Bad input gets an error frame and ends the session.
func TestIdealServerRejectsBadInput(t *testing.T) {
	for name, in := range map[string]string{
		"magic":    "  V9",
		"command":  "  V2REQ x 0\n",
		"mpub":     "  V2MPUB t\n\x00\x50\x00\x01",
		"rdy":      "  V2RDY 2501\n",
		"sub":      "  V2SUB t\n",
		"identify": "  V2IDENTIFY\n\xff\xff\xff\xff",
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			cr := &credit{kick: make(chan struct{}, 1)}
			err := readCommands(bufio.NewReader(bytes.NewReader([]byte(in))), cr, newChannels(), func(typ int32, data []byte) error {
				out.Write(data)
				require.Equal(t, protocol.FrameTypeError, typ)
				return nil
			})
			require.ErrorIs(t, err, errInvalid)
			require.Regexp(t, `^E_[A-Z_]+ `, out.String())
		})
	}
}

// FuzzReadCommands: any input ends in an error or EOF, never a panic, and
// the credit never goes negative.
func FuzzReadCommands(f *testing.F) {
	f.Add([]byte("  V2IDENTIFY\n\x00\x00\x00\x02{}SUB t c\nRDY 2500\nFIN 0000000000000001\nNOP\nCLS\n"))
	f.Add([]byte("  V2RDY 10\nFIN x\nFIN y\n"))
	f.Add([]byte("  V2IDENTIFY\n\x00\x10\x00\x00"))
	f.Add([]byte("  V2\n\n\r\nRDY\nRDY -1\n"))
	f.Add([]byte("  V2MPUB t\n\x00\x00\x00\x03abcPUB t\n\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		cr := &credit{kick: make(chan struct{}, 1)}
		err := readCommands(bufio.NewReader(bytes.NewReader(in)), cr, newChannels(), func(int32, []byte) error { return nil })
		if err == nil {
			t.Fatal("readCommands returned nil at the end of its input")
		}
		if cr.inFlight.Load() < 0 || cr.rdy.Load() < 0 || cr.rdy.Load() > maxRDY {
			t.Fatalf("credit out of range: in flight %d, rdy %d", cr.inFlight.Load(), cr.rdy.Load())
		}
	})
}
