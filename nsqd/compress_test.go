package nsqd

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/stretchr/testify/require"
)

// Compression negotiated by IDENTIFY (upgrade.go): snappy's framed
// stream or raw DEFLATE, each confirmed by an OK inside the new stream.

func TestSnappyOKFrameIsTheFirstChunkOfTheStream(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	reply := c.identify(map[string]any{"feature_negotiation": true, "snappy": true})
	require.Equal(t, true, reply["snappy"])
	// The bytes upstream nsqd 1.3 sends right after the reply, as observed.
	want := []byte{
		0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59, // stream identifier
		0x01, 0x0e, 0x00, 0x00, 0x26, 0x98, 0x2b, 0xcf, // uncompressed chunk, 14 bytes, CRC
		0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x4f, 0x4b, // the OK frame
	}
	got := make([]byte, len(want))
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.ReadFull(c.reader, got)
	require.NoError(t, err)
	require.Equal(t, want, got)
}

func TestSnappyPublishAndConsume(t *testing.T) {
	n := startDaemon(t, nil)
	consumer := dialV2(t, n)
	consumer.identifySnappy(map[string]any{})
	consumer.subscribe("t", "c")
	consumer.send("RDY 10")
	producer := dialV2(t, n)
	producer.identifySnappy(map[string]any{})
	producer.pub("t", "one")
	producer.mpub("t", "two", "three")
	msgs := consumer.readMessages(3)
	for i, want := range []string{"one", "two", "three"} {
		require.Equal(t, want, string(msgs[i].Body))
		consumer.fin(msgs[i].ID)
	}
	consumer.send("NOP")
	consumer.expectNoFrame(100 * time.Millisecond)
	require.Zero(t, existingChannel(t, n, "t", "c").inFlightCount.Load(), "every FIN arrived")
}

// Bodies beyond snappy's 64 KiB chunk span several chunks both ways.
func TestSnappyCarriesMessagesLargerThanAChunk(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.identifySnappy(map[string]any{})
	c.subscribe("t", "c")
	c.send("RDY 1")
	body := strings.Repeat("0123456789abcdef", 40_000) // 640 000 bytes
	producer := dialV2(t, n)
	producer.identifySnappy(map[string]any{})
	producer.pub("t", body)
	require.Equal(t, body, string(c.readMessage().Body))
}

func TestDeflatePublishAndConsumeAtTheNegotiatedLevel(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxDeflateLevel = 9 })
	consumer := dialV2(t, n)
	reply := consumer.identifyDeflate(map[string]any{"deflate_level": 9})
	require.Equal(t, float64(9), reply["deflate_level"])
	consumer.subscribe("t", "c")
	consumer.send("RDY 10")
	producer := dialV2(t, n)
	producer.identifyDeflate(map[string]any{"deflate_level": 1})
	producer.mpub("t", "one", "two")
	msgs := consumer.readMessages(2)
	require.Equal(t, "one", string(msgs[0].Body))
	require.Equal(t, "two", string(msgs[1].Body))
}

// Out-of-range levels are no error upstream: above the maximum is capped,
// zero or below is the default 6.
func TestDeflateLevelOutOfRangeIsCappedOrDefaulted(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxDeflateLevel = 3 })
	for requested, want := range map[int]float64{100: 3, -5: 3, 2: 2} {
		c := dialV2(t, n)
		reply := c.identifyDeflate(map[string]any{"deflate_level": requested})
		require.Equal(t, want, reply["deflate_level"], "requested %d", requested)
		c.pub("t", "compressed")
	}
	n6 := startDaemon(t, func(o *Options) { o.MaxDeflateLevel = 9 })
	c := dialV2(t, n6)
	reply := c.identifyDeflate(map[string]any{"deflate_level": -5})
	require.Equal(t, float64(6), reply["deflate_level"])
	c.pub("t", "compressed")
}

func TestBothCompressionsFailIdentifyAndOthersAreServed(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.send("IDENTIFY", []byte(`{"feature_negotiation":true,"snappy":true,"deflate":true}`))
	c.expectFatal("E_IDENTIFY_FAILED cannot enable both deflate and snappy compression")

	other := dialV2(t, n)
	other.identifySnappy(map[string]any{})
	other.pub("t", "still served")
}

// With one of them switched off, asking for both just gets the other.
func TestBothCompressionsRequestedGetTheOneThatIsOn(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.SnappyEnabled = false })
	c := dialV2(t, n)
	reply := c.identifyDeflate(map[string]any{"snappy": true})
	require.Equal(t, false, reply["snappy"])
	c.pub("t", "deflated")
}

func TestCompressionSwitchedOffIsAnsweredFalseAndStaysPlain(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.SnappyEnabled, o.DeflateEnabled = false, false })
	for _, ask := range []string{"snappy", "deflate"} {
		c := dialV2(t, n)
		reply := c.identify(map[string]any{"feature_negotiation": true, ask: true})
		require.Equal(t, false, reply[ask], ask)
		c.pub("t", "plain "+ask)
	}
}

// A client may write compressed commands right behind IDENTIFY without
// waiting for the reply: the daemon's reader switches right after it.
func TestSnappyCommandsPipelinedBehindIdentifyAreDecoded(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	var compressed bytes.Buffer
	sw := snappy.NewBufferedWriter(&compressed)
	sw.Write(command("PUB t", []byte("pipelined")))
	require.NoError(t, sw.Flush())
	c.sendRaw(append(command("IDENTIFY", []byte(`{"feature_negotiation":true,"snappy":true}`)), compressed.Bytes()...))
	frameType, data := c.readFrame()
	require.EqualValues(t, 0, frameType)
	require.Contains(t, string(data), `"snappy":true`)
	c.conn = &compressedConn{Conn: c.conn, r: snappy.NewReader(c.reader), w: snappy.NewBufferedWriter(c.conn)}
	c.reader = bufioReader(c.conn)
	c.expectResponse("OK") // the upgrade
	c.expectResponse("OK") // the PUB
	require.EqualValues(t, 1, n.GetStats("t", "", false).Topics[0].MessageCount)
}

// The pump writes heartbeats through the compressor and flushes it, so
// they arrive inside the stream.
func TestSnappyHeartbeatsArriveInsideTheStream(t *testing.T) {
	n, clk := startClockedDaemon(t, nil)
	c := dialV2(t, n)
	c.identifySnappy(map[string]any{"heartbeat_interval": 1000})
	due := clk.Now().Add(time.Second)
	awaitDeadline(t, clk, due)
	clk.AdvanceTo(due)
	c.expectHeartbeat()
}

// Deadlines still reach the socket under the compressor: a client that
// stays silent is closed after two heartbeat intervals.
func TestDeflateSilentClientIsClosedAfterTwoHeartbeats(t *testing.T) {
	// The default heartbeat, half of --client-timeout; the idle limit is
	// on the daemon's clock (timeouts.go), moved past it here.
	n, clk := startClockedDaemon(t, func(o *Options) { o.ClientTimeout = idleClientTimeout })
	start := clk.Now()
	c := dialV2(t, n)
	c.identifyDeflate(map[string]any{})
	// The command after IDENTIFY, read under the compressor, is awaited.
	cl, deadline := awaitCommandRead(t, n, c, 2)
	require.Equal(t, start.Add(idleClientTimeout).UnixNano(), deadline.UnixNano())
	clk.AdvanceTo(start.Add(idleClientTimeout - time.Nanosecond))
	requireNotIdleExpired(t, cl)
	clk.AdvanceTo(start.Add(idleClientTimeout))
	c.expectClosed()
}

func TestCompressionStatsReportSnappyAndDeflate(t *testing.T) {
	n := startDaemon(t, nil)
	s := dialV2(t, n)
	s.identifySnappy(map[string]any{"client_id": "snappy"})
	s.pub("t", "x")
	d := dialV2(t, n)
	d.identifyDeflate(map[string]any{"client_id": "deflate"})
	d.pub("t", "x")
	seen := map[string]ClientStats{}
	for _, p := range n.GetStats("", "", true).Producers {
		seen[p.ClientID] = p
	}
	require.True(t, seen["snappy"].Snappy)
	require.False(t, seen["snappy"].Deflate)
	require.True(t, seen["deflate"].Deflate)
	require.False(t, seen["deflate"].Snappy)
	require.False(t, seen["deflate"].TLS)
}

// A second IDENTIFY asking for compression again is answered false: the
// stream is already compressed and stays as it is.
func TestRepeatedIdentifyDoesNotStackCompression(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.identifySnappy(map[string]any{})
	reply := c.identify(map[string]any{"feature_negotiation": true, "deflate": true, "output_buffer_size": 64})
	require.Equal(t, false, reply["deflate"])
	require.Equal(t, false, reply["snappy"])
	// The new output buffer writes into the same compressed stream.
	c.pub("t", "same stream")
}

// An unbuffered client (output_buffer_size -1) still gets every frame:
// writes bypass the one-byte buffer straight into the compressor.
func TestDeflateWithoutOutputBufferingDeliversEveryFrame(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.identifyDeflate(map[string]any{"output_buffer_size": -1})
	c.subscribe("t", "c")
	c.send("RDY 5")
	publish(t, n, "t", numbered("m", 5)...)
	for i, m := range c.readMessages(5) {
		require.Equal(t, numbered("m", 5)[i], string(m.Body))
	}
}
