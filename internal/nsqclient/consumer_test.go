package nsqclient

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConsumerNeedsAHandlerAndValidNames(t *testing.T) {
	_, err := NewConsumer("bad topic", "c", testOptions(t))
	require.Error(t, err)
	_, err = NewConsumer("t", "", testOptions(t))
	require.Error(t, err)
	opts := testOptions(t)
	opts.SampleRate = 100
	_, err = NewConsumer("t", "c", opts)
	require.ErrorContains(t, err, "sample_rate")

	c := newTestConsumer(t, "t", "c", testOptions(t))
	require.ErrorIs(t, c.ConnectToNSQD("127.0.0.1:1"), ErrNoHandler)
	c.AddHandler(newCollector())
	require.Error(t, c.ConnectToNSQD("no-port"))
	require.NoError(t, c.ConnectToNSQD("127.0.0.1:1"))
	require.ErrorIs(t, c.ConnectToNSQD("127.0.0.1:1"), ErrAlreadyConnected)
}

func TestConsumerRequeuesOnHandlerErrorWithAttemptsCounted(t *testing.T) {
	n := startNSQD(t, "127.0.0.1:0", nil, nil)
	p := newTestProducer(t, n.TCPAddr(), testOptions(t))
	require.NoError(t, p.Publish("req", []byte("flaky")))

	var mu sync.Mutex
	var attempts []uint16
	c := newTestConsumer(t, "req", "ch", testOptions(t))
	c.AddHandler(HandlerFunc(func(m *Message) error {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, m.Attempts)
		if len(attempts) == 1 {
			return errors.New("first try fails")
		}
		return nil
	}))
	require.NoError(t, c.ConnectToNSQD(n.TCPAddr()))

	eventually(t, "second delivery", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(attempts) == 2
	})
	mu.Lock()
	require.Equal(t, []uint16{1, 2}, attempts)
	mu.Unlock()
	eventually(t, "finished after the retry", func() bool {
		ch, ok := n.Channel("req", "ch")
		return ok && ch.RequeueCount == 1 && ch.InFlightCount == 0 && ch.Depth == 0
	})
	stats := c.Stats()
	require.Equal(t, uint64(2), stats.MessagesReceived)
	require.Equal(t, uint64(1), stats.MessagesRequeued)
	require.Equal(t, uint64(1), stats.MessagesFinished)
}

// failingHandler always fails and records what it was asked to log.
type failingHandler struct {
	calls  atomic.Int32
	mu     sync.Mutex
	failed []*Message
}

func (h *failingHandler) HandleMessage(*Message) error {
	h.calls.Add(1)
	return errors.New("always fails")
}

func (h *failingHandler) LogFailedMessage(m *Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failed = append(h.failed, m)
}

func TestConsumerGivesUpAfterMaxAttempts(t *testing.T) {
	n := startNSQD(t, "127.0.0.1:0", nil, nil)
	p := newTestProducer(t, n.TCPAddr(), testOptions(t))
	require.NoError(t, p.Publish("max", []byte("poison")))

	opts := testOptions(t)
	opts.MaxAttempts = 3
	h := &failingHandler{}
	c := newTestConsumer(t, "max", "ch", opts)
	c.AddHandler(h)
	require.NoError(t, c.ConnectToNSQD(n.TCPAddr()))

	// Given up first: after the third REQ the fourth delivery is, for a
	// moment, neither queued nor counted in flight (nsqd/pump.go), so
	// empty queues alone do not say it has arrived.
	eventually(t, "message given up and finished", func() bool {
		h.mu.Lock()
		gaveUp := len(h.failed) > 0
		h.mu.Unlock()
		ch, ok := n.Channel("max", "ch")
		return gaveUp && ok && ch.RequeueCount == 3 && ch.InFlightCount == 0 && ch.Depth == 0 && ch.DeferredCount == 0
	})
	require.Equal(t, int32(3), h.calls.Load(), "the handler saw attempts 1..3 only")
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(t, h.failed, 1)
	require.Equal(t, uint16(4), h.failed[0].Attempts)
	require.Equal(t, "poison", string(h.failed[0].Body))
}

func TestConsumerBacksOffAfterAFailure(t *testing.T) {
	n := startNSQD(t, "127.0.0.1:0", nil, nil)
	p := newTestProducer(t, n.TCPAddr(), testOptions(t))

	opts := testOptions(t)
	fake := useFakeClock(opts)
	opts.MaxInFlight = 5
	opts.BackoffMultiplier = 250 * time.Millisecond // level 1 pauses 500ms
	opts.DefaultRequeueDelay = time.Hour            // the failed message stays away
	var failed atomic.Bool
	got := newCollector()
	c := newTestConsumer(t, "bo", "ch", opts)
	c.AddHandler(HandlerFunc(func(m *Message) error {
		if string(m.Body) == "fail" {
			failed.Store(true)
			return errors.New("fail")
		}
		return got.HandleMessage(m)
	}))
	require.NoError(t, c.ConnectToNSQD(n.TCPAddr()))
	eventually(t, "full RDY at nsqd", func() bool {
		return slices.Equal(n.readyCounts("bo", "ch"), []int64{5})
	})

	failedAt := fake.Now() // the clock stands still until advanced
	require.NoError(t, p.Publish("bo", []byte("fail")))
	eventually(t, "RDY 0 at nsqd during backoff", func() bool {
		return failed.Load() && slices.Equal(n.readyCounts("bo", "ch"), []int64{0})
	})
	require.NoError(t, p.Publish("bo", []byte("after")))

	// The pause is one timer, the earliest (redistribution ticks every
	// 5s), ending 500ms after the failure.
	due := failedAt.Add(500 * time.Millisecond)
	awaitDeadline(t, fake, due)
	fake.AdvanceTo(due.Add(-time.Nanosecond))
	next, ok := fake.NextDeadline()
	require.True(t, ok && next.Equal(due), "the pause ended early")
	require.Empty(t, got.snapshot(), "nothing is delivered during the pause")
	require.Equal(t, []int64{0}, n.readyCounts("bo", "ch"))

	// At its end, RDY 1 tests the waters; the message it brings
	// succeeds: back to full RDY.
	fake.AdvanceTo(due)
	require.Equal(t, []string{"after"}, got.waitFor(t, 1))
	eventually(t, "full RDY at nsqd after backoff", func() bool {
		return slices.Equal(n.readyCounts("bo", "ch"), []int64{5})
	})
}

func TestRequeueWithoutBackoffDoesNotPause(t *testing.T) {
	n := startNSQD(t, "127.0.0.1:0", nil, nil)
	p := newTestProducer(t, n.TCPAddr(), testOptions(t))
	opts := testOptions(t)
	opts.MaxInFlight = 3
	opts.BackoffMultiplier = time.Hour
	opts.MaxBackoffDuration = 60 * time.Minute
	var seen atomic.Int32
	c := newTestConsumer(t, "nobo", "ch", opts)
	c.AddHandler(HandlerFunc(func(m *Message) error {
		if seen.Add(1) == 1 {
			m.RequeueWithoutBackoff(0)
		}
		return nil
	}))
	require.NoError(t, c.ConnectToNSQD(n.TCPAddr()))
	require.NoError(t, p.Publish("nobo", []byte("x")))
	eventually(t, "redelivered at once", func() bool { return seen.Load() == 2 })
	require.Equal(t, []int64{3}, n.readyCounts("nobo", "ch"))
}

func TestStopFinishesInFlightWorkBeforeClosing(t *testing.T) {
	n := startNSQD(t, "127.0.0.1:0", nil, nil)
	p := newTestProducer(t, n.TCPAddr(), testOptions(t))
	require.NoError(t, p.MultiPublish("stop", bodies("m", 5)))

	opts := testOptions(t)
	// StopTimeout never comes: only a drained connection may close.
	useFakeClock(opts)
	opts.MaxInFlight = 5
	gate := make(chan struct{})
	var started, finished atomic.Int32
	c := newTestConsumer(t, "stop", "ch", opts)
	c.AddConcurrentHandlers(HandlerFunc(func(*Message) error {
		started.Add(1)
		<-gate
		finished.Add(1)
		return nil
	}), 5)
	require.NoError(t, c.ConnectToNSQD(n.TCPAddr()))
	eventually(t, "all five in the handlers", func() bool { return started.Load() == 5 })

	c.Stop()
	eventually(t, "nsqd saw CLS", func() bool {
		rdy := n.readyCounts("stop", "ch")
		return len(rdy) == 1 && rdy[0] == 0
	})
	require.NoError(t, p.Publish("stop", []byte("not for us")))
	// nsqd's CLOSE_WAIT has arrived; the connection stays open while
	// the handlers hold its messages.
	eventually(t, "CLOSE_WAIT received", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for cc := range c.conns {
			if cc.closeWait.Load() {
				return true
			}
		}
		return false
	})
	ch, _ := n.Channel("stop", "ch")
	require.Len(t, ch.Clients, 1, "closed with messages in the handlers")
	select {
	case <-c.Done():
		t.Fatal("stopped while handlers were still working")
	default:
	}
	close(gate)
	select {
	case <-c.Done():
	case <-time.After(waitTimeout):
		t.Fatal("consumer did not stop")
	}
	require.Equal(t, int32(5), finished.Load())
	// nsqd reads the FINs, then the close, after Done.
	eventually(t, "every in-flight message finished and the connection closed", func() bool {
		ch, ok := n.Channel("stop", "ch")
		return ok && ch.InFlightCount == 0 && len(ch.Clients) == 0
	})
	ch, _ = n.Channel("stop", "ch")
	require.Zero(t, ch.RequeueCount)
	require.Zero(t, ch.TimeoutCount)
	require.Equal(t, int64(1), ch.Depth, "nothing new was taken after CLS")
	require.ErrorIs(t, c.ConnectToNSQD("127.0.0.1:1"), ErrStopped)
}

func TestStopClosesConnectionsStillBusyAtStopTimeout(t *testing.T) {
	n := startNSQD(t, "127.0.0.1:0", nil, nil)
	p := newTestProducer(t, n.TCPAddr(), testOptions(t))
	require.NoError(t, p.Publish("stuck", []byte("x")))

	opts := testOptions(t)
	fake := useFakeClock(opts)
	opts.StopTimeout = 2 * time.Second // before the first redistribution tick
	gate := make(chan struct{})
	var handled atomic.Int32
	c := newTestConsumer(t, "stuck", "ch", opts)
	// Runs before the consumer's cleanup, so a failed test does not leave
	// the handler blocked.
	t.Cleanup(func() {
		select {
		case <-gate:
		default:
			close(gate)
		}
	})
	c.AddHandler(HandlerFunc(func(m *Message) error {
		m.DisableAutoResponse()
		handled.Add(1)
		<-gate
		return nil
	}))
	require.NoError(t, c.ConnectToNSQD(n.TCPAddr()))
	eventually(t, "message in the handler", func() bool { return handled.Load() == 1 })

	stoppedAt := fake.Now() // the clock stands still until advanced
	c.Stop()
	eventually(t, "nsqd saw CLS", func() bool {
		return slices.Equal(n.readyCounts("stuck", "ch"), []int64{0})
	})
	// The message the handler holds keeps the connection open until
	// StopTimeout, the earliest timer.
	due := stoppedAt.Add(opts.StopTimeout)
	awaitDeadline(t, fake, due)
	fake.AdvanceTo(due.Add(-time.Nanosecond))
	ch, _ := n.Channel("stuck", "ch")
	require.Len(t, ch.Clients, 1, "closed before StopTimeout")

	// At StopTimeout the connection is closed without the answer, which
	// is left to nsqd.
	fake.AdvanceTo(due)
	eventually(t, "connection closed, message not finished", func() bool {
		ch, ok := n.Channel("stuck", "ch")
		return ok && len(ch.Clients) == 0 && ch.InFlightCount+ch.Depth == 1
	})
	close(gate)
	select {
	case <-c.Done():
	case <-time.After(waitTimeout):
		t.Fatal("not stopped")
	}
}

func TestStopWithoutConnectionsIsImmediate(t *testing.T) {
	c := newTestConsumer(t, "idle", "ch", testOptions(t))
	c.AddHandler(newCollector())
	c.Stop()
	c.Stop()
	select {
	case <-c.Done():
	case <-time.After(waitTimeout):
		t.Fatal("not stopped")
	}
}

func TestCloseLeavesInFlightMessagesToNSQD(t *testing.T) {
	n := startNSQD(t, "127.0.0.1:0", nil, nil)
	p := newTestProducer(t, n.TCPAddr(), testOptions(t))
	require.NoError(t, p.Publish("abort", []byte("x")))

	gate := make(chan struct{})
	var handled atomic.Int32
	c := newTestConsumer(t, "abort", "ch", testOptions(t))
	c.AddHandler(HandlerFunc(func(m *Message) error {
		m.DisableAutoResponse()
		handled.Add(1)
		<-gate
		return nil
	}))
	require.NoError(t, c.ConnectToNSQD(n.TCPAddr()))
	eventually(t, "message in the handler", func() bool { return handled.Load() == 1 })
	c.Close()
	// Upstream nsqd keeps the message in flight until it times out; ours
	// may requeue it at once. Either way it was not finished.
	eventually(t, "connection gone, message not finished", func() bool {
		ch, ok := n.Channel("abort", "ch")
		return ok && len(ch.Clients) == 0 && ch.InFlightCount+ch.Depth == 1
	})
	close(gate)
	select {
	case <-c.Done():
	case <-time.After(waitTimeout):
		t.Fatal("not stopped")
	}
}

func TestConsumerReconnectsAfterNSQDRestart(t *testing.T) {
	first := startNSQD(t, "127.0.0.1:0", nil, nil)
	addr := first.TCPAddr()
	p := newTestProducer(t, addr, testOptions(t))
	require.NoError(t, p.Publish("back", []byte("before")))

	opts := testOptions(t)
	fake := useFakeClock(opts)
	got := newCollector()
	c := newTestConsumer(t, "back", "ch", opts)
	c.AddHandler(got)
	require.NoError(t, c.ConnectToNSQD(addr))
	got.waitFor(t, 1)
	awaitPending(t, fake, 1) // the redistribution ticker

	first.Stop()
	// Then the lost connection's reconnection wait, at most one lookupd
	// poll interval (go-nsq's reconnection period).
	awaitPending(t, fake, 2)
	second := startNSQD(t, addr, nil, nil)
	eventually(t, "publish to the restarted nsqd", func() bool { return p.Publish("back", []byte("after")) == nil })
	require.Empty(t, second.readyCounts("back", "ch"), "reconnected before the wait was over")
	fake.Advance(opts.LookupdPollInterval)
	require.Equal(t, []string{"before", "after"}, got.waitFor(t, 2))
	require.Equal(t, []int64{1}, second.readyCounts("back", "ch"))
}

func TestHeartbeatsKeepAnIdleConsumerConnected(t *testing.T) {
	n, fake := startClockedNSQD(t)
	proxy := startNOPProxy(t, n.TCPAddr())
	opts := testOptions(t)
	opts.HeartbeatInterval = time.Second
	got := newCollector()
	c := newTestConsumer(t, "hb", "ch", opts)
	c.AddHandler(got)
	start := fake.Now()
	require.NoError(t, c.ConnectToNSQD(proxy.addr()))
	var remote string
	// Subscribed, and past the handshake: the client sends RDY once it has
	// read the SUB's OK. A heartbeat that came before that OK would be
	// skipped by the handshake, unanswered (conn.readResponse), and the
	// NOP this test waits for would never come (3 runs in 100 under -race).
	eventually(t, "subscribed with RDY 1", func() bool {
		ch, ok := n.Channel("hb", "ch")
		if ok && len(ch.Clients) == 1 && ch.Clients[0].ReadyCount == 1 {
			remote = ch.Clients[0].RemoteAddress
		}
		return remote != ""
	})
	// nsqd closes a client that leaves its heartbeats unanswered for two
	// intervals (on its clock: nsqd/timeouts.go). Here nsqd sends each
	// heartbeat when its clock reaches it, and the test waits for that
	// heartbeat's NOP and for nsqd to have read it (its idle limit is then
	// two intervals on) before moving on: a client that did not answer
	// fails here, past three intervals.
	for i := 1; i <= 3; i++ {
		due := start.Add(time.Duration(i) * opts.HeartbeatInterval)
		awaitDeadline(t, fake, due)
		fake.AdvanceTo(due)
		proxy.awaitNOPs(t, i)
		awaitArmedAt(t, fake, due.Add(2*opts.HeartbeatInterval))
	}
	ch, _ := n.Channel("hb", "ch")
	require.Len(t, ch.Clients, 1)
	require.Equal(t, remote, ch.Clients[0].RemoteAddress, "still the first connection")
	require.Equal(t, "nsqclient/1.3.0", ch.Clients[0].UserAgent)
	require.Equal(t, 1, proxy.connections(), "never reconnected")
	require.Equal(t, 1, c.Stats().Connections)
}

func TestTouchExtendsTheTimeout(t *testing.T) {
	n, fake := startClockedNSQD(t)
	p := newTestProducer(t, n.TCPAddr(), testOptions(t))
	require.NoError(t, p.Publish("touch", []byte("slow")))
	opts := testOptions(t)
	opts.MsgTimeout = time.Second
	var deliveries atomic.Int32
	held := make(chan struct{})
	touch := make(chan struct{})
	touched := make(chan struct{})
	finish := make(chan struct{})
	c := newTestConsumer(t, "touch", "ch", opts)
	// Closed before the consumer stops (cleanups run last first), so a
	// failed test does not leave the handler blocked.
	ended := make(chan struct{})
	t.Cleanup(func() { close(ended) })
	step := func(signal chan struct{}, send bool) {
		if send {
			select {
			case signal <- struct{}{}:
			case <-ended:
			}
			return
		}
		select {
		case <-signal:
		case <-ended:
		}
	}
	c.AddHandler(HandlerFunc(func(m *Message) error {
		if deliveries.Add(1) > 1 {
			return nil // a redelivery: counted, and the test fails on it
		}
		step(held, true)
		step(touch, false)
		m.Touch()
		step(touched, true)
		step(finish, false)
		return nil
	}))
	start := fake.Now()
	require.NoError(t, c.ConnectToNSQD(n.TCPAddr()))
	receive(t, held, "the message")
	// nsqd armed the message's timeout at delivery, one MsgTimeout on.
	awaitDeadline(t, fake, start.Add(opts.MsgTimeout))

	// Most of the timeout gone, the handler touches: the deadline is now
	// one MsgTimeout from here.
	touchedAt := start.Add(opts.MsgTimeout * 9 / 10)
	fake.AdvanceTo(touchedAt)
	touch <- struct{}{}
	receive(t, touched, "the touch")
	// nsqd reads a connection's commands in order: once it has the RDY
	// sent after the TOUCH, it has processed the TOUCH.
	c.ChangeMaxInFlight(2)
	eventually(t, "the RDY after the TOUCH", func() bool {
		return slices.Equal(n.readyCounts("touch", "ch"), []int64{2})
	})

	// Past the original deadline (its timer fires inside AdvanceTo), short
	// of the touched one: still in flight, not timed out.
	fake.AdvanceTo(touchedAt.Add(opts.MsgTimeout / 2))
	ch, _ := n.Channel("touch", "ch")
	require.Zero(t, ch.TimeoutCount, "touched, yet timed out at the original deadline")
	require.EqualValues(t, 1, ch.InFlightCount)

	close(finish)
	eventually(t, "finished", func() bool {
		ch, ok := n.Channel("touch", "ch")
		return ok && ch.InFlightCount == 0 && ch.Depth == 0
	})
	// Long past every deadline: a finished message does not come back.
	fake.Advance(time.Hour)
	ch, _ = n.Channel("touch", "ch")
	require.Zero(t, ch.TimeoutCount)
	require.Zero(t, ch.Depth)
	require.Equal(t, int32(1), deliveries.Load(), "delivered once")
}

// receive waits for one value on c, which what names.
func receive(t testing.TB, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(waitTimeout):
		t.Fatalf("%s did not arrive", what)
	}
}

// In flight counts what the handlers hold (and at most one message per
// reader waiting for a handler), as in go-nsq: a handler that batches its
// responses sees IsStarved only once it holds most of max-in-flight, not as
// soon as nsqd has sent that many.
func TestIsStarvedOnceHandlersHoldMostOfMaxInFlight(t *testing.T) {
	n := startNSQD(t, "127.0.0.1:0", nil, nil)
	p := newTestProducer(t, n.TCPAddr(), testOptions(t))
	require.NoError(t, p.MultiPublish("starve", bodies("m", 20)))
	opts := testOptions(t)
	opts.MaxInFlight = 10
	c := newTestConsumer(t, "starve", "ch", opts)
	starvedAt := make(chan int, 2)
	var held []*Message
	starvations := 0 // only the handler goroutine touches it and held
	c.AddHandler(HandlerFunc(func(m *Message) error {
		if starvations == cap(starvedAt) {
			return nil // seen twice: finish the rest as they come
		}
		m.DisableAutoResponse()
		held = append(held, m)
		if c.IsStarved() {
			starvations++
			starvedAt <- len(held)
			for _, h := range held {
				h.Finish()
			}
			held = held[:0]
		}
		return nil
	}))
	require.NoError(t, c.ConnectToNSQD(n.TCPAddr()))
	for range 2 {
		select {
		case count := <-starvedAt:
			// The threshold is 8 of 10 in flight; one more may be
			// waiting for the handler.
			require.GreaterOrEqual(t, count, 7, "starved while holding %d of 10", count)
		case <-time.After(waitTimeout):
			t.Fatal("the handler never saw the consumer starved")
		}
	}
}
