package nsqd

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// Fuzz tests of the V2 command stream and the IDENTIFY body. Their seed
// corpora run with every `go test`; `go test -fuzz FuzzV2Session ./nsqd/`
// explores further. One daemon serves every input of a fuzz function: the
// property is that no input can crash it, hang it or stop it serving others.

// fuzzDaemon starts the shared daemon with small limits, so that inputs
// declaring large bodies stay cheap, and without logs: the fuzz engine
// forbids calling the F's Log while inputs run. Compression is off, as in
// fuzzIdentifyDaemon.
func fuzzDaemon(f *testing.F) *NSQD {
	return startDaemon(f, func(o *Options) {
		o.Logger = io.Discard
		o.MaxMsgSize = 1024
		o.MaxBodySize = 16 * 1024
		o.MemQueueSize = 100
		o.SnappyEnabled, o.DeflateEnabled = false, false
	})
}

// fuzzIdentifyDaemon offers no compression: the fuzz tests read plain
// frames after IDENTIFY (compression has its own tests, compress_test.go).
func fuzzIdentifyDaemon(f *testing.F) *NSQD {
	return startDaemon(f, func(o *Options) {
		o.Logger = io.Discard
		o.SnappyEnabled, o.DeflateEnabled = false, false
	})
}

// nonFatalCodes are the only error codes after which the daemon keeps
// answering commands.
var nonFatalCodes = []string{"E_FIN_FAILED ", "E_REQ_FAILED ", "E_TOUCH_FAILED "}

// runSession sends magic+stream, half-closes, and reads every frame until the
// daemon closes the connection, checking the framing as it goes. The daemon
// must close within the deadline: it has read EOF.
func runSession(t *testing.T, n *NSQD, stream []byte) {
	conn, err := net.DialTimeout("tcp", n.RealTCPAddr().String(), 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	go func() {
		// Errors are expected: a fatal error closes the daemon's side
		// before the rest of the stream is read.
		conn.Write(append([]byte(protocol.MagicV2), stream...))
		conn.(*net.TCPConn).CloseWrite()
	}()

	reader := bufio.NewReader(conn)
	fatalSeen := ""
	for {
		var head [8]byte
		if _, err := io.ReadFull(reader, head[:]); err != nil {
			var netErr net.Error
			if errors.As(err, &netErr) && netErr.Timeout() {
				t.Fatalf("daemon did not close the session within 5s")
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("reading frame head: %v", err)
			}
			return
		}
		size := binary.BigEndian.Uint32(head[:4])
		frameType := int32(binary.BigEndian.Uint32(head[4:]))
		require.GreaterOrEqual(t, size, uint32(4), "frame size")
		require.LessOrEqual(t, size, uint32(64<<10), "frame size")
		data := make([]byte, size-4)
		if _, err := io.ReadFull(reader, data); err != nil {
			if errors.Is(err, syscall.ECONNRESET) {
				return
			}
			t.Fatalf("reading frame body: %v", err)
		}
		switch frameType {
		case protocol.FrameTypeResponse:
			if string(data) != string(protocol.Heartbeat) {
				require.Empty(t, fatalSeen, "response %q after fatal error", data)
			}
		case protocol.FrameTypeError:
			require.Empty(t, fatalSeen, "error %q after fatal error", data)
			require.True(t, strings.HasPrefix(string(data), "E_"), "error frame %q", data)
			fatal := true
			for _, code := range nonFatalCodes {
				if strings.HasPrefix(string(data), code) {
					fatal = false
				}
			}
			if fatal {
				fatalSeen = string(data)
			}
		case protocol.FrameTypeMessage:
			require.GreaterOrEqual(t, len(data), protocol.MessageHeaderLength+1, "message frame")
		default:
			t.Fatalf("unknown frame type %d", frameType)
		}
	}
}

// requireServing checks the daemon still answers a fresh connection.
func requireServing(t *testing.T, n *NSQD) {
	c := dialV2(t, n)
	c.send("NOP")
	c.pub("fuzz-liveness#ephemeral", "alive") // ephemeral: never fills up
	c.conn.Close()
}

func FuzzV2Session(f *testing.F) {
	n := fuzzDaemon(f)
	join := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	sized := func(line string, sizes ...uint32) []byte {
		out := []byte(line + "\n")
		for _, s := range sizes {
			out = binary.BigEndian.AppendUint32(out, s)
		}
		return out
	}
	consume := join(command("SUB fz c"), command("RDY 10"), command("PUB fz", []byte("m")),
		command("FIN "+unknownID), command("REQ "+unknownID+" 0"), command("TOUCH "+unknownID),
		command("CLS"), command("RDY 1"), command("FIN "+unknownID))
	seeds := [][]byte{
		{},
		command("NOP"),
		command(""),
		command("nop"),
		command("FOO bar"),
		[]byte("NOP\r\n"),
		[]byte("NOP"), // no line end before EOF
		[]byte("\x00\x01\x02\xff\xfe\n"),
		[]byte(strings.Repeat("A", 20000)),
		command("IDENTIFY", []byte(`{"feature_negotiation":true,"heartbeat_interval":1000,"msg_timeout":1000}`)),
		command("IDENTIFY", []byte(`{"client_id":"x"}`)),
		command("IDENTIFY", []byte(`{`)),
		command("IDENTIFY", []byte(`{"heartbeat_interval":-1}`)),
		sized("IDENTIFY", 0),
		sized("IDENTIFY", 0xFFFFFFFF),
		sized("IDENTIFY", 1<<30),
		sized("IDENTIFY", 100),
		command("AUTH", []byte("secret")),
		command("AUTH x"),
		command("SUB fz c"),
		command("SUB fz c#ephemeral"),
		command("SUB fz#ephemeral c#ephemeral"),
		command("SUB fz"),
		command("SUB  fz c"),
		command("SUB bad/topic c"),
		join(command("SUB fz c"), command("SUB fz c")),
		join(command("IDENTIFY", []byte(`{"heartbeat_interval":-1}`)), command("SUB fz c")),
		consume,
		join(command("SUB fz c"), command("RDY 2501")),
		join(command("SUB fz c"), command("RDY x")),
		join(command("SUB fz c"), command("RDY")),
		join(command("SUB fz c"), command("FIN")),
		join(command("SUB fz c"), command("FIN short")),
		join(command("SUB fz c"), command("REQ "+unknownID)),
		join(command("SUB fz c"), command("REQ "+unknownID+" -1")),
		join(command("SUB fz c"), command("TOUCH")),
		join(command("SUB fz c"), command("CLS"), command("CLS")),
		// FIN bursts (finBatch in protocol_v2.go): a run of FINs held back
		// while the next whole FIN line is buffered, then one that is cut
		// short, one with a CR, one whose ID holds a space, another command.
		join(consume, []byte(strings.Repeat("FIN "+unknownID+"\n", 70)), command("NOP")),
		join(command("SUB fz c"), command("FIN "+unknownID), []byte("FIN "+unknownID[:8])),
		join(command("SUB fz c"), command("FIN "+unknownID), []byte("FIN "+unknownID[:15]+"\r\n"), command("NOP")),
		join(command("SUB fz c"), command("FIN "+unknownID), command("FIN "+unknownID[:7]+" "+unknownID[8:]), command("NOP")),
		join(command("SUB fz c"), command("FIN "+unknownID), command("FIN "+unknownID), command("TOUCH "+unknownID)),
		command("RDY 1"),
		command("FIN " + unknownID),
		command("CLS"),
		command("PUB fz", []byte("hello")),
		command("PUB fz", []byte{}),
		command("PUB fz"),
		command("PUB"),
		command("PUB bad/topic", []byte("x")),
		sized("PUB fz", 0xFFFFFFFF),
		sized("PUB fz", 1025),
		sized("PUB fz", 10),
		command("MPUB fz", mpubBody("a", "b", "c")),
		command("MPUB fz", mpubBody()),
		command("MPUB bad/topic", mpubBody("a")),
		sized("MPUB fz", 0),
		sized("MPUB fz", 100, 0xFFFFFFFF),
		sized("MPUB fz", 100, 1<<20),
		sized("MPUB fz", 100, 2, 1),
		sized("MPUB fz", 100, 1, 0),
		join(sized("MPUB fz", 100, 1, 1), []byte("a"), command("NOP")),
		command("DPUB fz 10", []byte("later")),
		command("DPUB fz 0", []byte("now")),
		command("DPUB fz -1", []byte("x")),
		command("DPUB fz 3600001", []byte("x")),
		command("DPUB fz"),
		join(command("PUB fz", []byte("a")), command("PUB fz", []byte("b")), command("NOP"), command("MPUB fz", mpubBody("c"))),
	}
	for _, seed := range seeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		runSession(t, n, stream)
		requireServing(t, n)
	})
}

// expectedIdentify is upstream's IDENTIFY rules (identify.go) applied to a
// decoded request with the default limits: the error text, or the
// negotiated values the JSON reply must carry.
func expectedIdentify(req identifyRequest) (string, map[string]any) {
	in := func(v, lo, hi int) bool { return v >= lo && v <= hi }
	switch {
	case !(req.HeartbeatInterval == -1 || req.HeartbeatInterval == 0 || in(req.HeartbeatInterval, 1000, 60000)):
		return fmt.Sprintf("E_BAD_BODY IDENTIFY heartbeat interval (%d) is invalid", req.HeartbeatInterval), nil
	case !(req.OutputBufferTimeout == -1 || req.OutputBufferTimeout == 0 || in(req.OutputBufferTimeout, 25, 30000)):
		return fmt.Sprintf("E_BAD_BODY IDENTIFY output buffer timeout (%d) is invalid", req.OutputBufferTimeout), nil
	case !(req.OutputBufferSize == -1 || req.OutputBufferSize == 0 || in(req.OutputBufferSize, 64, 65536)):
		return fmt.Sprintf("E_BAD_BODY IDENTIFY output buffer size (%d) is invalid", req.OutputBufferSize), nil
	case req.SampleRate < 0 || req.SampleRate > 99:
		return fmt.Sprintf("E_BAD_BODY IDENTIFY sample rate (%d) is invalid", req.SampleRate), nil
	case !(req.MsgTimeout == 0 || in(req.MsgTimeout, 1000, 900000)):
		return fmt.Sprintf("E_BAD_BODY IDENTIFY msg timeout (%d) is invalid", req.MsgTimeout), nil
	}
	msgTimeout, size, timeout := req.MsgTimeout, req.OutputBufferSize, req.OutputBufferTimeout
	if msgTimeout == 0 {
		msgTimeout = 60000
	}
	switch timeout {
	case -1:
		timeout = 0
	case 0:
		timeout = 250
	}
	switch size {
	case -1:
		size, timeout = 1, 0
	case 0:
		size = 16384
	}
	return "", map[string]any{
		"max_rdy_count": float64(2500), "version": "1.3.0", "max_msg_timeout": float64(900000),
		"msg_timeout": float64(msgTimeout), "tls_v1": false, "deflate": false,
		// deflate is not offered, so a requested level is never taken
		"deflate_level": float64(6), "max_deflate_level": float64(6), "snappy": false,
		"sample_rate": float64(req.SampleRate), "auth_required": false,
		"output_buffer_size": float64(size), "output_buffer_timeout": float64(timeout),
	}
}

func FuzzIdentifyBody(f *testing.F) {
	n := fuzzIdentifyDaemon(f)
	for _, seed := range []string{
		`{}`, `null`, `{"feature_negotiation":true}`, `{"feature_negotiation":false,"tls_v1":true}`,
		`{"feature_negotiation":true,"heartbeat_interval":1000,"output_buffer_size":64,"output_buffer_timeout":25,"sample_rate":50,"msg_timeout":1000,"tls_v1":true,"deflate_level":9}`,
		`{"feature_negotiation":true,"heartbeat_interval":-1,"output_buffer_size":-1,"output_buffer_timeout":-1}`,
		`{"feature_negotiation":true,"deflate":true,"snappy":true}`,
		`{"heartbeat_interval":999}`, `{"output_buffer_timeout":30001}`, `{"output_buffer_size":63}`,
		`{"sample_rate":100}`, `{"msg_timeout":900001}`, `{"msg_timeout":1000.5}`, `{"heartbeat_interval":"1"}`,
		`{"client_id":"c","hostname":"h","user_agent":"go-nsq/1.1.0","short_id":"s","long_id":"l"}`,
		`{"FEATURE_NEGOTIATION":true}`, `{"sample_rate":2147483648}`, `[]`, `"str"`, `{`, ``, "\x00",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c := dialV2(t, n)
		c.send("IDENTIFY", body)
		frameType, data := c.readFrame()

		var req identifyRequest
		switch {
		case len(body) == 0:
			require.Equal(t, "E_BAD_BODY IDENTIFY invalid body size 0", string(data))
			c.expectClosed()
			return
		case json.Unmarshal(body, &req) != nil:
			require.Equal(t, "E_BAD_BODY IDENTIFY failed to decode JSON body", string(data))
			c.expectClosed()
			return
		}
		wantErr, wantReply := expectedIdentify(req)
		if wantErr != "" {
			require.Equal(t, protocol.FrameTypeError, frameType)
			require.Equal(t, wantErr, string(data))
			c.expectClosed()
			return
		}
		require.Equal(t, protocol.FrameTypeResponse, frameType, "frame %q", data)
		if !req.FeatureNegotiation {
			require.Equal(t, "OK", string(data))
		} else {
			var reply map[string]any
			require.NoError(t, json.Unmarshal(data, &reply), "reply %q", data)
			require.Equal(t, wantReply, reply)
		}
		c.pub("fuzz-identify#ephemeral", "still served")
	})
}
