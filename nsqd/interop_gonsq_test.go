package nsqd

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nsqio/go-nsq"
	"github.com/stretchr/testify/require"
)

// Interop with the real go-nsq v1.1.0 client: what unmodified applications
// do against the daemon: one reply per PUB-family command in order, the
// IDENTIFY and AUTH replies, heartbeats, CLS and CLOSE_WAIT.

// gonsqLog collects go-nsq's log lines and shows them only when the test
// fails. go-nsq logs from its own goroutines, possibly after the test has
// returned, where t.Log would panic; so it writes to a buffer.
type gonsqLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *gonsqLog) Output(_ int, s string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.WriteString(s)
	l.buf.WriteByte('\n')
	return nil
}

func newGonsqLog(t *testing.T) *gonsqLog {
	l := &gonsqLog{}
	t.Cleanup(func() {
		if t.Failed() {
			l.mu.Lock()
			t.Log("go-nsq log:\n" + l.buf.String())
			l.mu.Unlock()
		}
	})
	return l
}

func gonsqProducer(t *testing.T, n *NSQD, log *gonsqLog) *nsq.Producer {
	t.Helper()
	producer, err := nsq.NewProducer(n.RealTCPAddr().String(), nsq.NewConfig())
	require.NoError(t, err)
	producer.SetLogger(log, nsq.LogLevelInfo)
	t.Cleanup(producer.Stop)
	return producer
}

// gonsqConsumer connects a consumer whose handler is handle; configure
// adjusts the config first. It is stopped, and its stop awaited, at cleanup.
func gonsqConsumer(t *testing.T, n *NSQD, log *gonsqLog, topic, channel string,
	configure func(*nsq.Config), handle nsq.HandlerFunc) *nsq.Consumer {
	t.Helper()
	cfg := nsq.NewConfig()
	if configure != nil {
		configure(cfg)
	}
	consumer, err := nsq.NewConsumer(topic, channel, cfg)
	require.NoError(t, err)
	consumer.SetLogger(log, nsq.LogLevelInfo)
	consumer.AddHandler(handle)
	require.NoError(t, consumer.ConnectToNSQD(n.RealTCPAddr().String()))
	t.Cleanup(func() {
		consumer.Stop()
		select {
		case <-consumer.StopChan:
		case <-time.After(10 * time.Second):
			t.Error("go-nsq consumer did not stop within 10s")
		}
	})
	return consumer
}

// collector gathers message bodies delivered to handlers.
type collector struct {
	mu     sync.Mutex
	bodies []string
	more   chan struct{}
}

func newCollector() *collector { return &collector{more: make(chan struct{}, 1)} }

func (c *collector) handle(m *nsq.Message) error {
	c.mu.Lock()
	c.bodies = append(c.bodies, string(m.Body))
	c.mu.Unlock()
	select {
	case c.more <- struct{}{}:
	default:
	}
	return nil
}

// await blocks until count bodies have arrived and returns them.
func (c *collector) await(t *testing.T, count int) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		got := append([]string(nil), c.bodies...)
		c.mu.Unlock()
		if len(got) >= count {
			return got
		}
		select {
		case <-c.more:
		case <-deadline:
			t.Fatalf("received %d of %d messages", len(got), count)
		}
	}
}

func TestGoNsqPublishIsConsumedAndFinished(t *testing.T) {
	n := startDaemon(t, nil)
	log := newGonsqLog(t)
	producer := gonsqProducer(t, n, log)
	for _, body := range numbered("m", 10) {
		require.NoError(t, producer.Publish("t", []byte(body)))
	}
	got := newCollector()
	gonsqConsumer(t, n, log, "t", "c", nil, got.handle)
	require.ElementsMatch(t, numbered("m", 10), got.await(t, 10))
	ch := existingChannel(t, n, "t", "c")
	waitFor(t, "FINs", func() bool { return ch.inFlightCount.Load() == 0 && ch.Depth() == 0 })
	require.Zero(t, ch.requeueCount.Load())
	require.Zero(t, ch.timeoutCount.Load())
}

func TestGoNsqMultiPublishDeliversEveryMessage(t *testing.T) {
	n := startDaemon(t, nil)
	log := newGonsqLog(t)
	producer := gonsqProducer(t, n, log)
	bodies := numbered("m", 100)
	batch := make([][]byte, len(bodies))
	for i, b := range bodies {
		batch[i] = []byte(b)
	}
	require.NoError(t, producer.MultiPublish("t", batch))
	got := newCollector()
	gonsqConsumer(t, n, log, "t", "c", func(cfg *nsq.Config) { cfg.MaxInFlight = 50 }, got.handle)
	require.ElementsMatch(t, bodies, got.await(t, len(bodies)))
}

func TestGoNsqDeferredPublishArrivesAfterItsDelay(t *testing.T) {
	t.Parallel()
	// go-nsq keeps its own (real) time; only the daemon's clock is faked,
	// which is what holds the message back.
	n, clk := startClockedDaemon(t, nil)
	log := newGonsqLog(t)
	got := newCollector()
	gonsqConsumer(t, n, log, "t", "c", nil, got.handle)
	producer := gonsqProducer(t, n, log)
	due := clk.Now().Add(500 * time.Millisecond)
	require.NoError(t, producer.DeferredPublish("t", 500*time.Millisecond, []byte("later")))
	awaitDeadline(t, clk, due)
	clk.AdvanceTo(due.Add(-time.Nanosecond))
	require.Equal(t, 1, deferredCount(t, n, "t", "c"), "released before its time")
	clk.AdvanceTo(due)
	require.Equal(t, []string{"later"}, got.await(t, 1))
}

func TestGoNsqProducerErrorIsReportedAndConnectionRecovers(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxMsgSize = 10 })
	log := newGonsqLog(t)
	producer := gonsqProducer(t, n, log)
	err := producer.Publish("t", []byte("far too long for the limit"))
	require.ErrorContains(t, err, "E_BAD_MESSAGE PUB message too big 26 > 10")
	// The fatal error closed the connection; go-nsq reconnects on demand
	// once it has noticed the close.
	waitFor(t, "publish after reconnect", func() bool {
		return producer.Publish("t", []byte("fits")) == nil
	})
	topic, err := n.GetExistingTopic("t")
	require.NoError(t, err)
	require.Equal(t, int64(1), topic.Depth())
}

func TestGoNsqHandlerErrorRequeuesWithAttemptsIncremented(t *testing.T) {
	n := startDaemon(t, nil)
	log := newGonsqLog(t)
	attempts := make(chan uint16, 4)
	gonsqConsumer(t, n, log, "t", "c", func(cfg *nsq.Config) {
		cfg.DefaultRequeueDelay = 0 // REQ <id> 0
		cfg.MaxBackoffDuration = 0  // no RDY 0 pause after the failure
	}, func(m *nsq.Message) error {
		attempts <- m.Attempts
		if m.Attempts == 1 {
			return fmt.Errorf("fail the first delivery")
		}
		return nil
	})
	publish(t, n, "t", "retry me")
	for _, want := range []uint16{1, 2} {
		select {
		case got := <-attempts:
			require.Equal(t, want, got)
		case <-time.After(10 * time.Second):
			t.Fatalf("delivery with attempts %d did not arrive", want)
		}
	}
	ch := existingChannel(t, n, "t", "c")
	waitFor(t, "FIN", func() bool { return ch.inFlightCount.Load() == 0 })
	require.Equal(t, uint64(1), ch.requeueCount.Load())
}

func TestGoNsqUnfinishedMessageTimesOutAndIsRedelivered(t *testing.T) {
	t.Parallel()
	n, clk := startClockedDaemon(t, nil)
	log := newGonsqLog(t)
	type delivery struct {
		msg *nsq.Message
		at  time.Time // on the daemon's clock
	}
	deliveries := make(chan delivery, 4)
	gonsqConsumer(t, n, log, "t", "c", func(cfg *nsq.Config) {
		cfg.MsgTimeout = time.Second
	}, func(m *nsq.Message) error {
		if m.Attempts == 1 {
			m.DisableAutoResponse() // and never respond: let it time out
		}
		deliveries <- delivery{m, clk.Now()}
		return nil
	})
	publish(t, n, "t", "slow")
	await := func() delivery {
		select {
		case d := <-deliveries:
			return d
		case <-time.After(10 * time.Second):
			t.Fatal("delivery did not arrive")
			return delivery{}
		}
	}
	first := await() // its timeout was armed before it was written
	ch := existingChannel(t, n, "t", "c")
	clk.Advance(time.Second - time.Nanosecond)
	require.Zero(t, ch.timeoutCount.Load(), "timed out before go-nsq's msg_timeout")
	clk.Advance(time.Nanosecond)
	require.Equal(t, uint64(1), ch.timeoutCount.Load(), "go-nsq's msg_timeout was not applied")
	second := await()
	require.Equal(t, first.msg.ID, second.msg.ID)
	require.Equal(t, uint16(2), second.msg.Attempts)
	require.Equal(t, time.Second, second.at.Sub(first.at))
	// go-nsq waits for every delivery it handed out before it stops; the
	// FIN of the stale copy is answered E_FIN_FAILED, which it ignores.
	first.msg.Finish()
}

func TestGoNsqTwoChannelsEachReceiveEveryMessage(t *testing.T) {
	n := startDaemon(t, nil)
	log := newGonsqLog(t)
	a, b := newCollector(), newCollector()
	gonsqConsumer(t, n, log, "t", "a", nil, a.handle)
	gonsqConsumer(t, n, log, "t", "b", nil, b.handle)
	// go-nsq does not wait for SUB's answer: a message published before a
	// channel exists is not that channel's.
	awaitSubscribers(t, n, "t", "a", 1)
	awaitSubscribers(t, n, "t", "b", 1)
	producer := gonsqProducer(t, n, log)
	bodies := numbered("m", 20)
	for _, body := range bodies {
		require.NoError(t, producer.Publish("t", []byte(body)))
	}
	require.ElementsMatch(t, bodies, a.await(t, len(bodies)))
	require.ElementsMatch(t, bodies, b.await(t, len(bodies)))
}

func TestGoNsqConsumersSharingAChannelGetEachMessageOnce(t *testing.T) {
	n := startDaemon(t, nil)
	log := newGonsqLog(t)
	shared := newCollector()
	perConsumer := [2]*collector{newCollector(), newCollector()}
	// Each consumer holds its first message until the other has one: with
	// its credit (RDY 2 of MaxInFlight 5) in flight, the channel must serve
	// the other, however the scheduler favours the first (under load one
	// connection used to take the whole burst before the other's turn).
	var first [2]sync.Once
	gotFirst := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	for i, own := range perConsumer {
		gonsqConsumer(t, n, log, "t", "c", func(cfg *nsq.Config) { cfg.MaxInFlight = 5 },
			func(m *nsq.Message) error {
				own.handle(m)
				first[i].Do(func() { close(gotFirst[i]) })
				select {
				case <-gotFirst[1-i]:
				case <-time.After(5 * time.Second):
				}
				return shared.handle(m)
			})
	}
	// Both consumers must be subscribed before publishing, or the first
	// could take the whole burst.
	ch := awaitSubscribers(t, n, "t", "c", 2)
	producer := gonsqProducer(t, n, log)
	const total = 200
	bodies := numbered("m", total)
	batch := make([][]byte, total)
	for i, b := range bodies {
		batch[i] = []byte(b)
	}
	require.NoError(t, producer.MultiPublish("t", batch))

	got := shared.await(t, total)
	require.ElementsMatch(t, bodies, got, "each message exactly once")
	waitFor(t, "FINs", func() bool { return ch.inFlightCount.Load() == 0 })
	require.Zero(t, ch.requeueCount.Load())
	require.Zero(t, ch.timeoutCount.Load())
	time.Sleep(100 * time.Millisecond) // a window for a wrong redelivery to show
	shared.mu.Lock()
	require.Len(t, shared.bodies, total, "no redelivery after FIN")
	shared.mu.Unlock()
	require.NotEmpty(t, perConsumer[0].await(t, 1))
	require.NotEmpty(t, perConsumer[1].await(t, 1))
}
