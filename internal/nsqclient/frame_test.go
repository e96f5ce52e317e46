package nsqclient

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/protocol"
)

func frameBytes(frameType int32, data []byte) []byte {
	return protocol.AppendFrame(nil, frameType, data)
}

func TestReadFrameDecodesEachFrameType(t *testing.T) {
	id := protocol.MessageID{'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'}
	stream := bytes.Join([][]byte{
		frameBytes(protocol.FrameTypeResponse, []byte("OK")),
		frameBytes(protocol.FrameTypeError, []byte("E_INVALID bad thing")),
		protocol.AppendMessageFrame(nil, 42, 3, &id, []byte("hello")),
	}, nil)
	r := bytes.NewReader(stream)

	ft, data, err := readFrame(r)
	require.NoError(t, err)
	require.Equal(t, protocol.FrameTypeResponse, ft)
	require.Equal(t, "OK", string(data))

	ft, data, err = readFrame(r)
	require.NoError(t, err)
	require.Equal(t, protocol.FrameTypeError, ft)
	perr := parseProtocolError(data)
	require.Equal(t, &ProtocolError{Code: "E_INVALID", Desc: "bad thing"}, perr)
	require.True(t, perr.fatal())
	require.False(t, parseProtocolError([]byte("E_FIN_FAILED FIN x failed")).fatal())

	ft, data, err = readFrame(r)
	require.NoError(t, err)
	require.Equal(t, protocol.FrameTypeMessage, ft)
	msg, err := protocol.DecodeMessage(data)
	require.NoError(t, err)
	require.Equal(t, "hello", string(msg.Body))
	require.Equal(t, uint16(3), msg.Attempts)

	_, _, err = readFrame(r)
	require.ErrorIs(t, err, io.EOF, "a clean end between frames is EOF")
}

func TestReadFrameRejectsBadFrames(t *testing.T) {
	size := func(n int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(n)) }
	cases := map[string][]byte{
		"size below the type word": size(3),
		"negative size":            size(-1),
		"unknown type":             frameBytes(7, []byte("x")),
		"short message":            frameBytes(protocol.FrameTypeMessage, make([]byte, 25)),
	}
	for name, b := range cases {
		_, _, err := readFrame(bytes.NewReader(b))
		require.ErrorIs(t, err, ErrBadFrame, name)
	}
	truncated := frameBytes(protocol.FrameTypeResponse, []byte("OK"))
	_, _, err := readFrame(bytes.NewReader(truncated[:7]))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	_, _, err = readFrame(bytes.NewReader(truncated[:9]))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

func TestReadFrameDoesNotTrustAHugeSize(t *testing.T) {
	// 2 GiB announced, a few bytes sent: the read fails without first
	// allocating the announced size.
	b := append(binary.BigEndian.AppendUint32(nil, 1<<31-1), 0, 0, 0, 0, 'x')
	allocs := testing.AllocsPerRun(1, func() {
		_, _, err := readFrame(bytes.NewReader(b))
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	})
	require.Less(t, allocs, 100.0)

	big := strings.Repeat("y", eagerFrameLimit+10)
	_, data, err := readFrame(bytes.NewReader(frameBytes(protocol.FrameTypeResponse, []byte(big))))
	require.NoError(t, err)
	require.Equal(t, big, string(data))
}

// FuzzReadFrame feeds arbitrary server bytes to the frame reader: it must
// never panic, and whatever it accepts must be a well-formed frame that
// re-encodes to the bytes it consumed.
func FuzzReadFrame(f *testing.F) {
	id := protocol.MessageID{}
	f.Add(frameBytes(protocol.FrameTypeResponse, []byte("OK")))
	f.Add(frameBytes(protocol.FrameTypeResponse, protocol.Heartbeat))
	f.Add(frameBytes(protocol.FrameTypeError, []byte("E_INVALID x")))
	f.Add(protocol.AppendMessageFrame(nil, 1, 1, &id, []byte("body")))
	f.Add([]byte{0, 0, 0, 3})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			before := r.Len()
			ft, data, err := readFrame(r)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					require.ErrorIs(t, err, ErrBadFrame)
				}
				return
			}
			consumed := b[len(b)-before : len(b)-r.Len()]
			require.Equal(t, consumed, frameBytes(ft, data))
			if ft == protocol.FrameTypeMessage {
				_, err := protocol.DecodeMessage(data)
				require.NoError(t, err)
			}
			if ft == protocol.FrameTypeError {
				perr := parseProtocolError(data)
				require.NotContains(t, perr.Code, " ")
				require.True(t, strings.HasPrefix(string(data), perr.Code))
				require.True(t, strings.HasSuffix(string(data), perr.Desc))
			}
		}
	})
}

func TestIdentifyResponseParsing(t *testing.T) {
	resp, err := parseIdentifyResponse([]byte("OK"))
	require.NoError(t, err)
	require.Equal(t, int64(2500), resp.MaxRdyCount, "plain OK: nsqd's default ceiling")

	resp, err = parseIdentifyResponse([]byte(`{"max_rdy_count":100,"version":"1.3.0","tls_v1":false,"deflate":true,"deflate_level":6,"snappy":false,"auth_required":true,"extra":1}`))
	require.NoError(t, err)
	require.Equal(t, identifyResponse{MaxRdyCount: 100, Version: "1.3.0", Deflate: true, DeflateLevel: 6, AuthRequired: true}, resp)

	for _, bad := range []string{`{"max_rdy_count":0}`, `{"max_rdy_count":"x"}`, `{`, `{"max_rdy_count":5,"deflate":true,"snappy":true}`} {
		_, err := parseIdentifyResponse([]byte(bad))
		require.Error(t, err, bad)
	}
}

func FuzzParseIdentifyResponse(f *testing.F) {
	f.Add([]byte("OK"))
	f.Add([]byte(`{"max_rdy_count":2500,"version":"1.3.0","max_msg_timeout":900000,"msg_timeout":60000,"tls_v1":false,"deflate":false,"deflate_level":6,"max_deflate_level":6,"snappy":false,"sample_rate":0,"auth_required":false,"output_buffer_size":16384,"output_buffer_timeout":250}`))
	f.Add([]byte(`{"max_rdy_count":-1}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := parseIdentifyResponse(b)
		if err != nil {
			return
		}
		require.Positive(t, resp.MaxRdyCount)
		require.False(t, resp.Deflate && resp.Snappy)
	})
}

func TestIdentifyBodyCarriesTheOptions(t *testing.T) {
	o := NewOptions()
	o.ClientID, o.Hostname, o.UserAgent = "c", "h.example", "ua/1"
	o.OutputBufferTimeout = -1
	o.MsgTimeout = 2500 * 1e6
	body, err := identifyBody(o)
	require.NoError(t, err)
	require.JSONEq(t, `{"client_id":"c","hostname":"h.example","user_agent":"ua/1","short_id":"c","long_id":"h.example",
		"feature_negotiation":true,"heartbeat_interval":30000,"output_buffer_size":16384,"output_buffer_timeout":-1,
		"tls_v1":false,"snappy":false,"deflate":false,"deflate_level":6,"sample_rate":0,"msg_timeout":2500}`, string(body))
}

func TestCommandEncoding(t *testing.T) {
	id := protocol.MessageID{'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'}
	require.Equal(t, "RDY 25\n", string(appendRdy(nil, 25)))
	require.Equal(t, "FIN 0123456789abcdef\n", string(appendFin(nil, &id)))
	require.Equal(t, "REQ 0123456789abcdef 1500\n", string(appendReq(nil, &id, 1500*1e6)))
	require.Equal(t, "TOUCH 0123456789abcdef\n", string(appendTouch(nil, &id)))
	require.Equal(t, "SUB t c\n", string(appendSub(nil, "t", "c")))
	require.Equal(t, "CLS\nNOP\n", string(appendNop(appendCls(nil))))
	require.Equal(t, "PUB demo\n\x00\x00\x00\x05hello", string(appendPub(nil, "demo", []byte("hello"))))
	require.Equal(t, "DPUB t5 100\n\x00\x00\x00\x01x", string(appendDPub(nil, "t5", 100*1e6, []byte("x"))))
	require.Equal(t, "MPUB t5\n\x00\x00\x00\x0e\x00\x00\x00\x02\x00\x00\x00\x01a\x00\x00\x00\x01b",
		string(appendMPub(nil, "t5", [][]byte{[]byte("a"), []byte("b")})))
}
