package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
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

// Bad input gets an error frame and ends the session.
func TestIdealServerRejectsBadInput(t *testing.T) {
	for name, in := range map[string]string{
		"magic":    "  V9",
		"command":  "  V2REQ x 0\n",
		"mpub":     "  V2MPUB t\n\x00\x50\x00\x01",
		"rdy":      "  V2RDY 2501\n",
		"identify": "  V2IDENTIFY\n\xff\xff\xff\xff",
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			cr := &credit{kick: make(chan struct{}, 1)}
			err := readCommands(bufio.NewReader(bytes.NewReader([]byte(in))), cr, func(typ int32, data []byte) error {
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
		err := readCommands(bufio.NewReader(bytes.NewReader(in)), cr, func(int32, []byte) error { return nil })
		if err == nil {
			t.Fatal("readCommands returned nil at the end of its input")
		}
		if cr.inFlight.Load() < 0 || cr.rdy.Load() < 0 || cr.rdy.Load() > maxRDY {
			t.Fatalf("credit out of range: in flight %d, rdy %d", cr.inFlight.Load(), cr.rdy.Load())
		}
	})
}
