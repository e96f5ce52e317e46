package nsqd

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/nsqio/go-nsq"
	"github.com/stretchr/testify/require"
)

// Interop with the real go-nsq v1.1.0 client over the features IDENTIFY
// negotiates: TLS, snappy, deflate and TLS with either, and a client
// certificate. go-nsq brings its own ends (crypto/tls, golang/snappy's
// unbuffered writer, the standard library's flate), so these also check
// the daemon's streams against other implementations.

// gonsqRoundTrip runs a go-nsq consumer and producer configured alike,
// publishes ten messages (PUB and MPUB), waits until all are consumed and
// FINed, and returns the daemon's view of the consumer and the producer.
func gonsqRoundTrip(t *testing.T, n *NSQD, configure func(*nsq.Config)) (consumer, producer ClientStats) {
	t.Helper()
	log := newGonsqLog(t)
	got := newCollector()
	gonsqConsumer(t, n, log, "t", "c", configure, got.handle)
	ch := awaitSubscribers(t, n, "t", "c", 1)

	cfg := nsq.NewConfig()
	configure(cfg)
	p, err := nsq.NewProducer(n.RealTCPAddr().String(), cfg)
	require.NoError(t, err)
	p.SetLogger(log, nsq.LogLevelInfo)
	t.Cleanup(p.Stop)
	bodies := numbered("m", 10)
	for _, body := range bodies[:5] {
		require.NoError(t, p.Publish("t", []byte(body)))
	}
	batch := make([][]byte, 0, 5)
	for _, body := range bodies[5:] {
		batch = append(batch, []byte(body))
	}
	require.NoError(t, p.MultiPublish("t", batch))
	require.ElementsMatch(t, bodies, got.await(t, len(bodies)))
	waitFor(t, "FINs", func() bool { return ch.inFlightCount.Load() == 0 && ch.Depth() == 0 })
	require.Zero(t, ch.requeueCount.Load())
	require.Zero(t, ch.timeoutCount.Load())

	stats := n.GetStats("t", "c", true)
	require.Len(t, stats.Topics[0].Channels[0].Clients, 1)
	require.Len(t, stats.Producers, 1)
	return stats.Topics[0].Channels[0].Clients[0], stats.Producers[0]
}

// gonsqTLS turns on tls_v1 with a config trusting the test CA.
func gonsqTLS(p *testPKI, certs ...tls.Certificate) func(*nsq.Config) {
	return func(cfg *nsq.Config) {
		cfg.TlsV1 = true
		cfg.TlsConfig = p.clientConfig(certs...)
	}
}

func both(a, b func(*nsq.Config)) func(*nsq.Config) {
	return func(cfg *nsq.Config) { a(cfg); b(cfg) }
}

func gonsqSnappy(cfg *nsq.Config) { cfg.Snappy = true }

func gonsqDeflate(cfg *nsq.Config) {
	cfg.Deflate = true
	cfg.DeflateLevel = 5
}

// requireNegotiated checks the daemon's stats of both clients.
func requireNegotiated(t *testing.T, tlsOn, snappy, deflate bool, clients ...ClientStats) {
	t.Helper()
	for _, c := range clients {
		require.Equal(t, tlsOn, c.TLS, "tls of %s", c.UserAgent)
		require.Equal(t, snappy, c.Snappy, "snappy of %s", c.UserAgent)
		require.Equal(t, deflate, c.Deflate, "deflate of %s", c.UserAgent)
		require.Contains(t, c.UserAgent, "go-nsq/1.1.0")
	}
}

func TestGoNsqOverTLS(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, nil)
	consumer, producer := gonsqRoundTrip(t, n, gonsqTLS(p))
	requireNegotiated(t, true, false, false, consumer, producer)
	require.Equal(t, "TLS1.3", consumer.TLSVersion)
}

func TestGoNsqOverSnappy(t *testing.T) {
	n := startDaemon(t, nil)
	consumer, producer := gonsqRoundTrip(t, n, gonsqSnappy)
	requireNegotiated(t, false, true, false, consumer, producer)
}

func TestGoNsqOverDeflate(t *testing.T) {
	n := startDaemon(t, nil)
	consumer, producer := gonsqRoundTrip(t, n, gonsqDeflate)
	requireNegotiated(t, false, false, true, consumer, producer)
}

func TestGoNsqOverTLSAndSnappy(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, nil)
	consumer, producer := gonsqRoundTrip(t, n, both(gonsqTLS(p), gonsqSnappy))
	requireNegotiated(t, true, true, false, consumer, producer)
}

func TestGoNsqOverTLSAndDeflate(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, nil)
	consumer, producer := gonsqRoundTrip(t, n, both(gonsqTLS(p), gonsqDeflate))
	requireNegotiated(t, true, false, true, consumer, producer)
}

func TestGoNsqWithAClientCertificateUnderRequireVerify(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, requireVerify(p))
	consumer, producer := gonsqRoundTrip(t, n, gonsqTLS(p, p.client))
	requireNegotiated(t, true, false, false, consumer, producer)
	for _, c := range n.clientList() {
		require.Equal(t, "test-client", c.tlsState.Load().PeerCertificates[0].Subject.CommonName)
	}
}

// A go-nsq producer without TLS gets upstream's error from a daemon that
// requires it, and the daemon goes on serving TLS clients.
func TestGoNsqWithoutTLSIsRefusedWhereTLSIsRequired(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, func(o *Options) { o.TLSRequired = TLSRequired })
	cfg := nsq.NewConfig()
	plain, err := nsq.NewProducer(n.RealTCPAddr().String(), cfg)
	require.NoError(t, err)
	plain.SetLogger(newGonsqLog(t), nsq.LogLevelInfo)
	t.Cleanup(plain.Stop)
	require.ErrorContains(t, plain.Publish("t", []byte("x")), "E_INVALID cannot PUB in current state (TLS required)")

	consumer, producer := gonsqRoundTrip(t, n, gonsqTLS(p))
	requireNegotiated(t, true, false, false, consumer, producer)
}

// A go-nsq client whose certificate the daemon cannot verify never gets
// to publish; others keep being served.
func TestGoNsqWithAnUnverifiableCertificateCannotPublish(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, requireVerify(p))
	cfg := nsq.NewConfig()
	gonsqTLS(p, p.rogue)(cfg)
	cfg.DialTimeout = 5 * time.Second
	rogue, err := nsq.NewProducer(n.RealTCPAddr().String(), cfg)
	require.NoError(t, err)
	rogue.SetLogger(newGonsqLog(t), nsq.LogLevelInfo)
	t.Cleanup(rogue.Stop)
	require.Error(t, rogue.Publish("t", []byte("x")))
	_, err = n.GetExistingTopic("t")
	require.ErrorIs(t, err, errTopicNotFound)

	consumer, producer := gonsqRoundTrip(t, n, gonsqTLS(p, p.client))
	requireNegotiated(t, true, false, false, consumer, producer)
}
