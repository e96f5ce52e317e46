package nsqclient

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/nsqd"
)

func TestPublishMultiPublishAndDeferredPublishRoundTrip(t *testing.T) {
	n, fake := startClockedNSQD(t)
	opts := testOptions(t)
	p := newTestProducer(t, n.TCPAddr(), opts)

	require.NoError(t, p.Publish("rt", []byte("one")))
	require.NoError(t, p.MultiPublish("rt", [][]byte{[]byte("two"), []byte("three")}))
	deferredAt := fake.Now()
	const deferral = 300 * time.Millisecond
	require.NoError(t, p.DeferredPublish("rt", deferral, []byte("later")))

	opts.MaxInFlight = 10
	c := newTestConsumer(t, "rt", "ch", opts)
	got := newCollector()
	c.AddHandler(got)
	require.NoError(t, c.ConnectToNSQD(n.TCPAddr()))

	require.ElementsMatch(t, []string{"one", "two", "three"}, got.waitFor(t, 3))
	// nsqd holds the deferred message until its clock reaches the
	// deferral, and no longer (the clock's timers fire inside AdvanceTo).
	due := deferredAt.Add(deferral)
	awaitDeadline(t, fake, due)
	fake.AdvanceTo(due.Add(-time.Nanosecond))
	ch, _ := n.Channel("rt", "ch")
	require.EqualValues(t, 1, ch.DeferredCount, "released before its time")
	require.Len(t, got.snapshot(), 3)
	fake.AdvanceTo(due)
	require.ElementsMatch(t, []string{"one", "two", "three", "later"}, got.waitFor(t, 4))
	require.Equal(t, "later", got.snapshot()[3], "the deferred message comes last")
	got.mu.Lock()
	last := got.msgs[3]
	got.mu.Unlock()
	require.Equal(t, uint16(1), last.Attempts)
	require.Equal(t, n.TCPAddr(), last.NSQDAddress)
	require.InDelta(t, deferredAt.UnixNano(), last.Timestamp, float64(time.Second), "timestamp is publish time")

	eventually(t, "all finished on nsqd", func() bool {
		ch, ok := n.Channel("rt", "ch")
		return ok && ch.InFlightCount == 0 && ch.Depth == 0 && ch.DeferredCount == 0
	})
}

func TestPublishAsyncCompletesInSendOrder(t *testing.T) {
	n := startNSQD(t, "127.0.0.1:0", nil, nil)
	p := newTestProducer(t, n.TCPAddr(), testOptions(t))

	const count = 500
	done := make(chan *Transaction, count)
	for i := range count {
		require.NoError(t, p.PublishAsync("async", []byte("m"), done, i))
	}
	for i := range count {
		select {
		case tr := <-done:
			require.NoError(t, tr.Error)
			require.Equal(t, []any{i}, tr.Args, "transactions complete in FIFO order")
		case <-time.After(waitTimeout):
			t.Fatalf("only %d of %d publishes completed", i, count)
		}
	}
	stats := n.GetStats("async", "", false)
	require.Equal(t, uint64(count), stats.Topics[0].MessageCount)
}

func TestErrorFrameFailsItsCommandAndTheNextPublishReconnects(t *testing.T) {
	n := startNSQD(t, "127.0.0.1:0", nil, func(o *nsqd.Options) { o.MaxReqTimeout = time.Second })
	p := newTestProducer(t, n.TCPAddr(), testOptions(t))

	err := p.DeferredPublish("errs", time.Hour, []byte("x"))
	var perr *ProtocolError
	require.ErrorAs(t, err, &perr)
	require.Equal(t, "E_INVALID", perr.Code)
	require.Contains(t, perr.Desc, "out of range")

	// nsqd closed the connection after the fatal error; the producer
	// notices and dials again. A publish racing the close may fail once.
	eventually(t, "publishing works again", func() bool { return p.Publish("errs", []byte("ok")) == nil })
	require.Equal(t, uint64(1), n.GetStats("errs", "", false).Topics[0].MessageCount)
}

func TestPublishRejectsWhatNSQDWouldFailFatally(t *testing.T) {
	n := startNSQD(t, "127.0.0.1:0", nil, nil)
	p := newTestProducer(t, n.TCPAddr(), testOptions(t))
	require.Error(t, p.Publish("bad topic", []byte("x")))
	require.Error(t, p.Publish("t", nil))
	require.Error(t, p.MultiPublish("t", nil))
	require.Error(t, p.DeferredPublish("t", -time.Second, []byte("x")))
	require.Empty(t, n.GetStats("", "", false).Topics, "nothing reached nsqd")
}

func TestProducerSurvivesNSQDRestart(t *testing.T) {
	first := startNSQD(t, "127.0.0.1:0", nil, nil)
	addr := first.TCPAddr()
	p := newTestProducer(t, addr, testOptions(t))
	require.NoError(t, p.Publish("restart", []byte("before")))

	first.Stop()
	second := startNSQD(t, addr, nil, nil)
	eventually(t, "publish to the restarted nsqd", func() bool { return p.Publish("restart", []byte("after")) == nil })
	require.Equal(t, uint64(1), second.GetStats("restart", "", false).Topics[0].MessageCount)
}

func TestProducerAnswersHeartbeatsAndKeepsItsConnection(t *testing.T) {
	n, fake := startClockedNSQD(t)
	proxy := startNOPProxy(t, n.TCPAddr())
	opts := testOptions(t)
	opts.HeartbeatInterval = time.Second
	p := newTestProducer(t, proxy.addr(), opts)
	start := fake.Now()
	require.NoError(t, p.Publish("hb", []byte("1")))
	p.mu.Lock()
	first := p.pc
	p.mu.Unlock()

	// nsqd closes a connection that leaves its heartbeats unanswered for
	// two intervals (on its clock: nsqd/timeouts.go). Here nsqd sends each
	// heartbeat when its clock reaches it, and the test waits for that
	// heartbeat's NOP and for nsqd to have read it (its idle limit is then
	// two intervals on): a producer that did not answer fails here, past
	// three intervals.
	for i := 1; i <= 3; i++ {
		due := start.Add(time.Duration(i) * opts.HeartbeatInterval)
		awaitDeadline(t, fake, due)
		fake.AdvanceTo(due)
		proxy.awaitNOPs(t, i)
		awaitArmedAt(t, fake, due.Add(2*opts.HeartbeatInterval))
	}
	require.NoError(t, p.Publish("hb", []byte("2")))
	require.Equal(t, 1, proxy.connections(), "never reconnected")
	require.Equal(t, uint64(2), n.GetStats("hb", "", false).Topics[0].MessageCount)
	p.mu.Lock()
	defer p.mu.Unlock()
	require.Same(t, first, p.pc, "the same connection is still in use")
}

func TestStoppedProducerRefusesToPublish(t *testing.T) {
	n := startNSQD(t, "127.0.0.1:0", nil, nil)
	p := newTestProducer(t, n.TCPAddr(), testOptions(t))
	require.NoError(t, p.Publish("stop", []byte("x")))
	p.Stop()
	require.ErrorIs(t, p.Publish("stop", []byte("y")), ErrStopped)
	require.ErrorIs(t, p.Ping(), ErrStopped)
	require.Equal(t, uint64(1), n.GetStats("stop", "", false).Topics[0].MessageCount)
}

func TestPingReportsAnUnreachableNSQD(t *testing.T) {
	// A listener that is closed at once leaves a port nobody listens on.
	n := startNSQD(t, "127.0.0.1:0", nil, nil)
	addr := n.TCPAddr()
	n.Stop()
	p := newTestProducer(t, addr, testOptions(t))
	err := p.Ping()
	require.Error(t, err)
	require.Contains(t, err.Error(), addr)
	require.False(t, errors.Is(err, ErrStopped))
}
