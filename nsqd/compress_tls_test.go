package nsqd

import (
	"net"
	"testing"
	"time"

	"github.com/nsqgo/nsq/nsqd/connlayer"
	"github.com/stretchr/testify/require"
)

// Compression on top of TLS: JSON in the clear, OK over TLS, then OK in
// the compressed stream inside the TLS session.

func TestSnappyOverTLSPublishAndConsume(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, nil)
	consumer := dialV2(t, n)
	reply := consumer.identify(map[string]any{"feature_negotiation": true, "tls_v1": true, "snappy": true})
	require.Equal(t, true, reply["tls_v1"])
	require.Equal(t, true, reply["snappy"])
	consumer.upgradeAsAnswered(reply, p.clientConfig())
	consumer.subscribe("t", "c")
	consumer.send("RDY 1")

	producer := dialV2(t, n)
	producer.upgradeAsAnswered(producer.identify(map[string]any{
		"feature_negotiation": true, "tls_v1": true, "snappy": true,
	}), p.clientConfig())
	producer.pub("t", "secret and small")
	require.Equal(t, "secret and small", string(consumer.readMessage().Body))

	stats := n.GetStats("", "", true).Producers[0]
	require.True(t, stats.TLS)
	require.True(t, stats.Snappy)
}

func TestDeflateOverTLSPublishAndConsume(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, nil)
	fields := func() map[string]any {
		return map[string]any{"feature_negotiation": true, "tls_v1": true, "deflate": true, "deflate_level": 1}
	}
	consumer := dialV2(t, n)
	reply := consumer.identify(fields())
	require.Equal(t, true, reply["tls_v1"])
	require.Equal(t, true, reply["deflate"])
	consumer.upgradeAsAnswered(reply, p.clientConfig())
	consumer.subscribe("t", "c")
	consumer.send("RDY 1")

	producer := dialV2(t, n)
	producer.upgradeAsAnswered(producer.identify(fields()), p.clientConfig())
	producer.pub("t", "secret and deflated")
	require.Equal(t, "secret and deflated", string(consumer.readMessage().Body))
}

// TLS required is satisfied by TLS alone; compression comes on top.
func TestTLSRequiredAcceptsCompressionOnTopOfTLS(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, func(o *Options) { o.TLSRequired = TLSRequired })
	c := dialV2(t, n)
	c.upgradeAsAnswered(c.identify(map[string]any{
		"feature_negotiation": true, "tls_v1": true, "deflate": true,
	}), p.clientConfig())
	c.pub("t", "allowed")
}

// The hot path must not allocate per message, compressed or not: the
// compressor writes from the output buffer into its own buffers.
func TestDeliveryThroughCompressorAllocatesNothing(t *testing.T) {
	n := startDaemon(t, nil)
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)
	for name, comp := range map[string]connlayer.Compression{
		"plain": {}, "snappy": connlayer.Snappy(), "deflate": connlayer.Deflate(6),
	} {
		c := newClient(1, discardConn{}, n)
		if comp.NewWriter != nil {
			c.writeMu.Lock()
			require.NoError(t, c.upgradeCompression(comp))
			c.writeMu.Unlock()
		}
		batch := make([]Message, 64)
		for i := range batch {
			batch[i] = Message{Body: []byte("a message body of moderate size, compressible enough")}
			batch[i].ID[0] = byte(i)
		}
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := c.deliver(ch, batch); err != nil {
				t.Fatal(err)
			}
			if err := c.flushNow(); err != nil {
				t.Fatal(err)
			}
			for i := range batch {
				c.inFlight.remove(batch[i].ID)
			}
		})
		require.Zero(t, allocs, name)
	}
}

// discardConn is a socket that accepts every write.
type discardConn struct{}

func (discardConn) Read([]byte) (int, error)         { return 0, net.ErrClosed }
func (discardConn) Write(p []byte) (int, error)      { return len(p), nil }
func (discardConn) Close() error                     { return nil }
func (discardConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (discardConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (discardConn) SetDeadline(time.Time) error      { return nil }
func (discardConn) SetReadDeadline(time.Time) error  { return nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }
