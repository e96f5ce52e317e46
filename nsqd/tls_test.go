package nsqd

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// The tls_v1 upgrade negotiated by IDENTIFY (upgrade.go): the JSON
// reply in the clear, the handshake, then OK over TLS.

func TestTLSUpgradeSendsReplyInClearThenOKOverTLS(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, nil)
	c := dialV2(t, n)
	reply := c.identify(map[string]any{"feature_negotiation": true, "tls_v1": true})
	require.Equal(t, true, reply["tls_v1"])
	c.startTLS(p.clientConfig())
	c.expectResponse("OK")
	// Commands now travel over TLS.
	c.pub("t", "over tls")
	require.EqualValues(t, 1, n.GetStats("t", "", false).Topics[0].MessageCount)
}

func TestTLSConsumerReceivesMessagesOverTLS(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, nil)
	consumer := dialV2(t, n)
	consumer.identifyTLS(p.clientConfig(), map[string]any{})
	consumer.subscribe("t", "c")
	consumer.send("RDY 10")
	publish(t, n, "t", "one", "two")
	msgs := consumer.readMessages(2)
	require.Equal(t, "one", string(msgs[0].Body))
	require.Equal(t, "two", string(msgs[1].Body))
	consumer.fin(msgs[0].ID)
	consumer.fin(msgs[1].ID)
	consumer.send("NOP")
	consumer.expectNoFrame(100 * time.Millisecond)
}

func TestTLSNotNegotiatedWithoutRequest(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, nil)
	c := dialV2(t, n)
	reply := c.identify(map[string]any{"feature_negotiation": true})
	require.Equal(t, false, reply["tls_v1"])
	c.pub("t", "plain")
}

// Bytes the client sends right behind IDENTIFY, before reading the reply,
// are the start of its handshake and must not be lost.
func TestTLSHandshakePipelinedBehindIdentifySucceeds(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, nil)
	c := dialV2(t, n)
	pipe := &pipelinedConn{Conn: c.conn, first: command("IDENTIFY", []byte(`{"feature_negotiation":true,"tls_v1":true}`))}
	session := tls.Client(pipe, p.clientConfig())
	session.SetDeadline(time.Now().Add(5 * time.Second))
	require.NoError(t, session.Handshake())
	require.Contains(t, string(pipe.reply), `"tls_v1":true`)
	c.conn = session
	c.reader = bufioReader(session)
	c.expectResponse("OK")
	c.pub("t", "pipelined")
}

func TestTLSHandshakeOfGarbageFailsIdentifyAndOthersAreServed(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, nil)
	c := dialV2(t, n)
	c.identify(map[string]any{"feature_negotiation": true, "tls_v1": true})
	c.sendRaw([]byte("this is no ClientHello\n"))
	// The handshake never happened, so the error goes out in the clear.
	c.expectFatal("E_IDENTIFY_FAILED IDENTIFY failed tls: first record does not look like a TLS handshake")

	other := dialV2(t, n)
	other.identifyTLS(p.clientConfig(), map[string]any{})
	other.pub("t", "still served")
}

func TestTLSHandshakeNotStartedFailsAfterFiveSeconds(t *testing.T) {
	p := newTestPKI(t)
	clk := clock.NewFake(time.Now())
	n := startTLSDaemon(t, p, func(o *Options) { o.Clock = clk })
	c := dialV2(t, n)
	asked := clk.Now()
	c.identify(map[string]any{"feature_negotiation": true, "tls_v1": true})
	// The handshake's bound is armed on the daemon's clock, 5 s on.
	awaitDeadline(t, clk, asked.Add(tlsHandshakeTimeout))
	clk.Advance(tlsHandshakeTimeout)
	frameType, data, err := c.readFrameErr(10 * time.Second)
	require.NoError(t, err)
	require.Equal(t, protocol.FrameTypeError, frameType)
	require.True(t, strings.HasPrefix(string(data), "E_IDENTIFY_FAILED IDENTIFY failed "), "%q", data)
	require.Contains(t, string(data), "timeout")
	c.expectClosed()
}

// The pump must not write a plaintext heartbeat between the reply and the
// handshake, where it would break the handshake: it waits for the session
// and is then sent over TLS.
func TestTLSUpgradeHoldsHeartbeatsUntilTheSessionIsUp(t *testing.T) {
	p := newTestPKI(t)
	clk := clock.NewFake(time.Now())
	n := startTLSDaemon(t, p, func(o *Options) { o.Clock = clk })
	c := dialV2(t, n)
	c.identify(map[string]any{"feature_negotiation": true, "tls_v1": true, "heartbeat_interval": 1000})
	// Make a heartbeat fall due while the daemon waits for the handshake,
	// then give a wrong plaintext write a moment to show (a window for
	// something that must not happen, not synchronisation).
	due := clk.Now().Add(time.Second)
	awaitDeadline(t, clk, due)
	clk.AdvanceTo(due)
	time.Sleep(50 * time.Millisecond)
	c.startTLS(p.clientConfig())
	c.expectResponse("OK")
	c.expectHeartbeat()
}

func TestTLSStatsReportTheSession(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, nil)
	c := dialV2(t, n)
	c.identifyTLS(p.clientConfig(), map[string]any{})
	c.pub("t", "x")
	state := c.conn.(*tls.Conn).ConnectionState()

	producers := n.GetStats("", "", true).Producers
	require.Len(t, producers, 1)
	stats := producers[0]
	require.True(t, stats.TLS)
	require.Equal(t, tls.CipherSuiteName(state.CipherSuite), stats.CipherSuite)
	require.Equal(t, "TLS1.3", stats.TLSVersion)
	require.Equal(t, "", stats.TLSNegotiatedProtocol)
	require.True(t, stats.TLSNegotiatedProtocolIsMutual)
	require.False(t, stats.Snappy)
	require.False(t, stats.Deflate)
}

func TestTLSMinVersionRefusesOlderClients(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, func(o *Options) { o.TLSMinVersion = tls.VersionTLS13 })
	c := dialV2(t, n)
	c.identify(map[string]any{"feature_negotiation": true, "tls_v1": true})
	old := p.clientConfig()
	old.MaxVersion = tls.VersionTLS12
	require.Error(t, c.handshake(old))

	current := dialV2(t, n)
	current.identifyTLS(p.clientConfig(), map[string]any{})
	current.pub("t", "TLS 1.3 is fine")
}

// Our default minimum is TLS 1.2, where upstream still accepts 1.0.
func TestTLSDefaultMinVersionRefusesTLS11(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, nil)
	c := dialV2(t, n)
	c.identify(map[string]any{"feature_negotiation": true, "tls_v1": true})
	old := p.clientConfig()
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	require.Error(t, c.handshake(old))
}

// A second IDENTIFY asking for TLS again is answered false: the session
// is already up, and the client keeps using it.
func TestTLSRepeatedIdentifyKeepsTheSession(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, nil)
	c := dialV2(t, n)
	c.identifyTLS(p.clientConfig(), map[string]any{})
	reply := c.identify(map[string]any{"feature_negotiation": true, "tls_v1": true})
	require.Equal(t, false, reply["tls_v1"])
	c.pub("t", "same session")
}
