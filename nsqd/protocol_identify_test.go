package nsqd

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// IDENTIFY and AUTH: the negotiation reply and every error either can
// answer.

func TestIdentifyWithoutFeatureNegotiationAnswersPlainOK(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	// Upgrades requested without feature_negotiation are never performed.
	c.send("IDENTIFY", []byte(`{"client_id":"x","tls_v1":true,"snappy":true,"deflate":true}`))
	c.expectResponse("OK")
	c.pub("t", "still plain")
}

func TestIdentifyDefaultsReplyMatchesUpstreamBytes(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.send("IDENTIFY", []byte(`{"feature_negotiation":true}`))
	// Key order and values as captured from upstream 1.3.0 with defaults.
	c.expectResponse(`{"max_rdy_count":2500,"version":"1.3.0","max_msg_timeout":900000,` +
		`"msg_timeout":60000,"tls_v1":false,"deflate":false,"deflate_level":6,` +
		`"max_deflate_level":6,"snappy":false,"sample_rate":0,"auth_required":false,` +
		`"output_buffer_size":16384,"output_buffer_timeout":250}`)
}

func TestIdentifyReplyEchoesNegotiatedValues(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	reply := c.identify(map[string]any{
		"feature_negotiation": true, "heartbeat_interval": 1000,
		"output_buffer_size": 64, "output_buffer_timeout": 25, "sample_rate": 50,
		"msg_timeout": 1000, "tls_v1": true, "deflate_level": 9,
		"short_id": "obsolete", "long_id": "obsolete", "unknown_key": []int{1},
	})
	require.Equal(t, float64(1000), reply["msg_timeout"])
	require.Equal(t, false, reply["tls_v1"], "no TLS configured")
	require.Equal(t, float64(50), reply["sample_rate"])
	require.Equal(t, float64(64), reply["output_buffer_size"])
	require.Equal(t, float64(25), reply["output_buffer_timeout"])
	require.Equal(t, float64(6), reply["deflate_level"], "capped at --max-deflate-level")
}

func TestIdentifyMinusOneDisablesBufferingAndHeartbeats(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	reply := c.identify(map[string]any{
		"feature_negotiation": true, "heartbeat_interval": -1,
		"output_buffer_size": -1, "output_buffer_timeout": -1,
	})
	require.Equal(t, float64(1), reply["output_buffer_size"])
	require.Equal(t, float64(0), reply["output_buffer_timeout"])
	// Without heartbeats a client may publish but not subscribe.
	c.pub("t", "x")
	c.send("SUB t c")
	c.expectFatal("E_INVALID cannot SUB with heartbeats disabled")
}

func TestIdentifyDeflateLevelDefaultsToSixAndHonoursRequestsUpToMax(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxDeflateLevel = 9 })
	c := dialV2(t, n)
	reply := c.identify(map[string]any{"feature_negotiation": true, "deflate": true, "deflate_level": 0})
	require.Equal(t, float64(6), reply["deflate_level"])
	require.Equal(t, float64(9), reply["max_deflate_level"])
	c2 := dialV2(t, n)
	reply = c2.identify(map[string]any{"feature_negotiation": true, "deflate": true, "deflate_level": 8})
	require.Equal(t, float64(8), reply["deflate_level"])
}

// Upstream takes the requested level only along with deflate itself.
func TestIdentifyDeflateLevelWithoutDeflateStaysSix(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxDeflateLevel = 9 })
	c := dialV2(t, n)
	reply := c.identify(map[string]any{"feature_negotiation": true, "deflate_level": 8})
	require.Equal(t, float64(6), reply["deflate_level"])
	require.Equal(t, false, reply["deflate"])
	c.pub("t", "still plain")
}

func TestIdentifyRangeBoundariesAreAccepted(t *testing.T) {
	n := startDaemon(t, nil)
	for _, fields := range []map[string]any{
		{"heartbeat_interval": 1000}, {"heartbeat_interval": 60000},
		{"output_buffer_timeout": 25}, {"output_buffer_timeout": 30000},
		{"output_buffer_size": 64}, {"output_buffer_size": 65536},
		{"sample_rate": 0}, {"sample_rate": 99},
		{"msg_timeout": 1000}, {"msg_timeout": 900000},
	} {
		c := dialV2(t, n)
		require.Nil(t, c.identify(fields), "%v", fields)
	}
}

func TestIdentifyOutOfRangeValuesAreFatal(t *testing.T) {
	n := startDaemon(t, nil)
	cases := []struct {
		body string
		want string
	}{
		{`{"heartbeat_interval":999}`, "heartbeat interval (999) is invalid"},
		{`{"heartbeat_interval":60001}`, "heartbeat interval (60001) is invalid"},
		{`{"heartbeat_interval":-2}`, "heartbeat interval (-2) is invalid"},
		{`{"output_buffer_timeout":24}`, "output buffer timeout (24) is invalid"},
		{`{"output_buffer_timeout":30001}`, "output buffer timeout (30001) is invalid"},
		{`{"output_buffer_timeout":-2}`, "output buffer timeout (-2) is invalid"},
		{`{"output_buffer_size":63}`, "output buffer size (63) is invalid"},
		{`{"output_buffer_size":65537}`, "output buffer size (65537) is invalid"},
		{`{"output_buffer_size":-2}`, "output buffer size (-2) is invalid"},
		{`{"sample_rate":-1}`, "sample rate (-1) is invalid"},
		{`{"sample_rate":100}`, "sample rate (100) is invalid"},
		{`{"msg_timeout":999}`, "msg timeout (999) is invalid"},
		{`{"msg_timeout":900001}`, "msg timeout (900001) is invalid"},
		{`{"msg_timeout":-1}`, "msg timeout (-1) is invalid"},
	}
	for _, tc := range cases {
		c := dialV2(t, n)
		c.send("IDENTIFY", []byte(tc.body))
		c.expectFatal("E_BAD_BODY IDENTIFY " + tc.want)
	}
}

func TestIdentifyReportsFirstInvalidValueInUpstreamOrder(t *testing.T) {
	n := startDaemon(t, nil)
	all := `{"msg_timeout":1,"sample_rate":100,"output_buffer_size":1,"output_buffer_timeout":1,"heartbeat_interval":1}`
	c := dialV2(t, n)
	c.send("IDENTIFY", []byte(all))
	c.expectFatal("E_BAD_BODY IDENTIFY heartbeat interval (1) is invalid")

	c = dialV2(t, n)
	c.send("IDENTIFY", []byte(`{"msg_timeout":1,"sample_rate":100,"output_buffer_size":1,"output_buffer_timeout":1}`))
	c.expectFatal("E_BAD_BODY IDENTIFY output buffer timeout (1) is invalid")

	c = dialV2(t, n)
	c.send("IDENTIFY", []byte(`{"msg_timeout":1,"sample_rate":100,"output_buffer_size":1}`))
	c.expectFatal("E_BAD_BODY IDENTIFY output buffer size (1) is invalid")

	c = dialV2(t, n)
	c.send("IDENTIFY", []byte(`{"msg_timeout":1,"sample_rate":100}`))
	c.expectFatal("E_BAD_BODY IDENTIFY sample rate (100) is invalid")
}

func TestIdentifyUndecodableJSONIsFatal(t *testing.T) {
	n := startDaemon(t, nil)
	for _, body := range []string{
		`{`, `not json`, `{"heartbeat_interval":"1000"}`, `{"msg_timeout":1000.5}`,
		`{"sample_rate":4294967296}`, `{"feature_negotiation":"yes"}`, `[1]`,
	} {
		c := dialV2(t, n)
		c.send("IDENTIFY", []byte(body))
		c.expectFatal("E_BAD_BODY IDENTIFY failed to decode JSON body")
	}
}

func TestIdentifyBodySizeErrorsAreFatal(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxBodySize = 1024 })
	cases := []struct {
		size uint32
		want string
	}{
		{0, "E_BAD_BODY IDENTIFY invalid body size 0"},
		{0xFFFFFFFF, "E_BAD_BODY IDENTIFY invalid body size -1"},
		{1025, "E_BAD_BODY IDENTIFY body too big 1025 > 1024"},
	}
	for _, tc := range cases {
		c := dialV2(t, n)
		c.sendRaw(binary.BigEndian.AppendUint32([]byte("IDENTIFY\n"), tc.size))
		c.expectFatal(tc.want)
	}
}

func TestIdentifyTruncatedBodyIsFatal(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.sendRaw([]byte("IDENTIFY\n\x00\x00"))
	c.closeWrite()
	c.expectFatal("E_BAD_BODY IDENTIFY failed to read body size")

	c = dialV2(t, n)
	c.sendRaw(append(binary.BigEndian.AppendUint32([]byte("IDENTIFY\n"), 100), `{}`...))
	c.closeWrite()
	c.expectFatal("E_BAD_BODY IDENTIFY failed to read body")
}

func TestIdentifyTwiceBeforeSubIsAccepted(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	require.Nil(t, c.identify(map[string]any{"client_id": "a"}))
	reply := c.identify(map[string]any{"feature_negotiation": true, "msg_timeout": 2000})
	require.Equal(t, float64(2000), reply["msg_timeout"])
}

func TestIdentifyAfterSubIsFatal(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("IDENTIFY", []byte(`{}`))
	c.expectFatal("E_INVALID cannot IDENTIFY in current state")
}

func TestIdentifyMsgTimeoutAppliesToDeliveries(t *testing.T) {
	t.Parallel()
	n, clk := startClockedDaemon(t, nil)
	c := timedConsumer(t, n, 1) // IDENTIFY msg_timeout 1000
	publish(t, n, "t", "m")
	first := c.readMessage()
	ch := existingChannel(t, n, "t", "c")
	clk.Advance(time.Second - time.Nanosecond)
	require.Zero(t, ch.timeoutCount.Load(), "timed out before the negotiated msg_timeout")
	clk.Advance(time.Nanosecond) // far below the daemon default of 60 s
	require.Equal(t, uint64(1), ch.timeoutCount.Load(), "the negotiated msg_timeout was not applied")
	again := c.readMessage()
	require.Equal(t, first.ID, again.ID)
}

func TestAuthWithoutAuthServerIsDisabledAfterReadingBody(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.sendRaw(append(binary.BigEndian.AppendUint32([]byte("AUTH\n"), 10), "12345"...))
	// Half the secret: the daemon must still be reading, not answering.
	c.expectNoFrame(100 * time.Millisecond)
	c.sendRaw([]byte("67890"))
	c.expectFatal("E_AUTH_DISABLED AUTH disabled")
}

func TestAuthErrorsAreFatal(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxBodySize = 1024 })
	cases := []struct {
		raw  []byte
		want string
	}{
		{command("AUTH x", []byte("secret")), "E_INVALID AUTH invalid number of parameters"},
		{binary.BigEndian.AppendUint32([]byte("AUTH\n"), 0), "E_BAD_BODY AUTH invalid body size 0"},
		{binary.BigEndian.AppendUint32([]byte("AUTH\n"), 0xFFFFFFFF), "E_BAD_BODY AUTH invalid body size -1"},
		{binary.BigEndian.AppendUint32([]byte("AUTH\n"), 1025), "E_BAD_BODY AUTH body too big 1025 > 1024"},
	}
	for _, tc := range cases {
		c := dialV2(t, n)
		c.sendRaw(tc.raw)
		c.expectFatal(tc.want)
	}
	c := dialV2(t, n)
	c.sendRaw([]byte("AUTH\n\x00"))
	c.closeWrite()
	c.expectFatal("E_BAD_BODY AUTH failed to read body size")

	c = dialV2(t, n)
	c.sendRaw(append(binary.BigEndian.AppendUint32([]byte("AUTH\n"), 10), "abc"...))
	c.closeWrite()
	c.expectFatal("E_BAD_BODY AUTH failed to read body")
}

func TestAuthAfterSubIsFatal(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("AUTH", []byte("secret"))
	c.expectFatal("E_INVALID cannot AUTH in current state")
}

func TestIdentifyHeartbeatIntervalAboveConfiguredMaxIsInvalid(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxHeartbeatInterval = 5 * time.Second })
	c := dialV2(t, n)
	c.send("IDENTIFY", []byte(`{"heartbeat_interval":5001}`))
	c.expectFatal("E_BAD_BODY IDENTIFY heartbeat interval (5001) is invalid")
	c = dialV2(t, n)
	require.Nil(t, c.identify(map[string]any{"heartbeat_interval": 5000}))
}

func TestIdentifyKeysMatchCaseInsensitively(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	// Upstream decodes with encoding/json, which matches keys this way.
	c.send("IDENTIFY", []byte(`{"Feature_Negotiation":true,"MSG_TIMEOUT":2000}`))
	frameType, data := c.readFrame()
	require.Equal(t, int32(0), frameType)
	require.Contains(t, string(data), `"msg_timeout":2000`)
}

// The output buffer limits are the daemon's options, not upstream's
// defaults: each case sets a limit well inside the defaults and checks both
// sides of it.
func TestIdentifyOutputBufferLimitsAreTheDaemonsOptions(t *testing.T) {
	for _, tc := range []struct {
		name          string
		configure     func(*Options)
		field         string
		refused, kept int
		err           string
	}{
		{"size above max", func(o *Options) { o.MaxOutputBufferSize = 1000 },
			"output_buffer_size", 1001, 1000, "E_BAD_BODY IDENTIFY output buffer size (1001) is invalid"},
		{"timeout below min", func(o *Options) { o.MinOutputBufferTimeout = 50 * time.Millisecond },
			"output_buffer_timeout", 49, 50, "E_BAD_BODY IDENTIFY output buffer timeout (49) is invalid"},
		{"timeout above max", func(o *Options) { o.MaxOutputBufferTimeout = 2 * time.Second },
			"output_buffer_timeout", 2001, 2000, "E_BAD_BODY IDENTIFY output buffer timeout (2001) is invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := startDaemon(t, tc.configure)
			c := dialV2(t, n)
			c.send("IDENTIFY", fmt.Appendf(nil, `{%q:%d}`, tc.field, tc.refused))
			c.expectFatal(tc.err)
			c = dialV2(t, n)
			reply := c.identify(map[string]any{"feature_negotiation": true, tc.field: tc.kept})
			require.Equal(t, float64(tc.kept), reply[tc.field])
		})
	}
}

func TestIdentifyAcceptsBodyOfExactlyMaxBodySize(t *testing.T) {
	n := startDaemon(t, smallLimits)
	c := dialV2(t, n)
	// Valid JSON padded with trailing spaces to exactly --max-body-size.
	body := []byte(`{"client_id":"padded"}`)
	body = append(body, strings.Repeat(" ", 1024-len(body))...)
	require.Len(t, body, 1024)
	c.send("IDENTIFY", body)
	c.expectResponse("OK")
}
