package lookupclient

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCommandEncoding(t *testing.T) {
	require.Equal(t, "REGISTER t\n", string(command{verb: "REGISTER", topic: "t"}.appendTo(nil)))
	require.Equal(t, "UNREGISTER t c\n", string(command{verb: "UNREGISTER", topic: "t", channel: "c"}.appendTo(nil)))
	require.Equal(t, "PING\n", string(pingCommand.appendTo(nil)))
	require.Equal(t, "REGISTER t c", command{verb: "REGISTER", topic: "t", channel: "c"}.String())

	hello, err := appendHello(nil, Identity{BroadcastAddress: "b", Hostname: "h", Version: "1.3.0", TCPPort: 1, HTTPPort: 2})
	require.NoError(t, err)
	body := `{"broadcast_address":"b","hostname":"h","http_port":2,"tcp_port":1,"version":"1.3.0"}`
	want := append([]byte("  V1IDENTIFY\n"), binary.BigEndian.AppendUint32(nil, uint32(len(body)))...)
	require.Equal(t, string(append(want, body...)), string(hello))
}

func TestReadResponse(t *testing.T) {
	resp, err := readResponse(bytes.NewReader([]byte("\x00\x00\x00\x02OK")), 10)
	require.NoError(t, err)
	require.Equal(t, "OK", string(resp))
	_, err = readResponse(bytes.NewReader([]byte("\x00\x00\x01\x00")), 10)
	require.ErrorContains(t, err, "response body size (256) is greater than limit (10)")
	_, err = readResponse(bytes.NewReader([]byte("\x00\x00\x00\x05OK")), 10)
	require.Error(t, err)
}

func TestParseIdentifyReply(t *testing.T) {
	info, err := parseIdentifyReply([]byte(`{"broadcast_address":"lk","hostname":"h","http_port":4161,"tcp_port":4160,"version":"1.3.0"}`))
	require.NoError(t, err)
	require.Equal(t, "lk:4161", info.httpAddress())
	info, err = parseIdentifyReply([]byte(`{"broadcast_address":"::1","http_port":4161}`))
	require.NoError(t, err)
	require.Equal(t, "[::1]:4161", info.httpAddress())
	info, err = parseIdentifyReply([]byte(`{"http_port":4161}`))
	require.NoError(t, err)
	require.Empty(t, info.httpAddress(), "no broadcast address, no HTTP queries")
	_, err = parseIdentifyReply([]byte("E_INVALID"))
	require.ErrorContains(t, err, "IDENTIFY refused: E_INVALID")
	_, err = parseIdentifyReply([]byte("OK"))
	require.Error(t, err)
}

// FuzzLookupdReplies feeds arbitrary bytes to every parser of what a lookupd
// sends: none may panic, and a parsed reply never exceeds the limit.
func FuzzLookupdReplies(f *testing.F) {
	for _, seed := range []string{
		"", "\x00", "\x00\x00\x00\x02OK", "\x00\x00\x00\x09E_INVALID", "\xff\xff\xff\xff",
		"\x00\x00\x00\x05OK",
		`{"broadcast_address":"lk","hostname":"h","http_port":4161,"tcp_port":4160,"version":"1.3.0"}`,
		`null`, `[`,
		`{"http_port":"x"}`, `{"broadcast_address":"","http_port":-1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 64
		if resp, err := readResponse(bytes.NewReader(data), limit); err == nil && len(resp) > limit {
			t.Fatalf("reply of %d bytes passed a %d limit", len(resp), limit)
		}
		if info, err := parseIdentifyReply(data); err == nil {
			_ = info.httpAddress()
		}
	})
}
