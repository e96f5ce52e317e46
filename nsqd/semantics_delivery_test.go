package nsqd

import (
	"sync"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// Delivery semantics over TCP: fan-out, distribution, RDY, FIN, REQ,
// timeouts, TOUCH, DPUB and ownership, as upstream behaves (issue "Semantics").

func bodiesOf(msgs []protocol.DecodedMessage) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Body)
	}
	return out
}

func TestTopicHoldsMessagesUntilFirstChannel(t *testing.T) {
	n := startDaemon(t, nil)
	publish(t, n, "t", "a", "b", "c")
	topic, err := n.GetExistingTopic("t")
	require.NoError(t, err)
	require.Equal(t, int64(3), topic.Depth())

	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY 10")
	require.ElementsMatch(t, []string{"a", "b", "c"}, bodiesOf(c.readMessages(3)))
	require.Zero(t, topic.Depth())
}

func TestBacklogGoesOnlyToChannelsPresentWhenReleased(t *testing.T) {
	n := startDaemon(t, nil)
	publish(t, n, "t", "old")
	first := dialV2(t, n)
	first.subscribe("t", "first")
	late := dialV2(t, n)
	late.subscribe("t", "late")
	late.send("RDY 10")
	publish(t, n, "t", "new")
	require.Equal(t, "new", string(late.readMessage().Body))
	late.expectNoFrame(100 * time.Millisecond)
	first.send("RDY 10")
	require.ElementsMatch(t, []string{"old", "new"}, bodiesOf(first.readMessages(2)))
}

func TestEveryChannelGetsEveryMessage(t *testing.T) {
	n := startDaemon(t, nil)
	a := dialV2(t, n)
	a.subscribe("t", "a")
	b := dialV2(t, n)
	b.subscribe("t", "b")
	want := numbered("m", 50)
	p := dialV2(t, n)
	p.mpub("t", want[:25]...)
	for _, body := range want[25:] {
		p.pub("t", body)
	}
	for _, c := range []*testConn{a, b} {
		c.send("RDY 100")
		require.ElementsMatch(t, want, bodiesOf(c.readMessages(len(want))))
		c.expectNoFrame(100 * time.Millisecond)
	}
}

func TestConsumersOfOneChannelShareMessagesWithoutDuplicates(t *testing.T) {
	n := startDaemon(t, nil)
	pumps := watchPumps(t, n)
	a := dialV2(t, n)
	a.subscribe("t", "c")
	b := dialV2(t, n)
	b.subscribe("t", "c")
	a.send("RDY 10")
	b.send("RDY 10")
	// Twenty messages, ten credits each: both must take a share.
	publish(t, n, "t", numbered("m", 20)...)
	gotA, gotB := a.readMessages(10), b.readMessages(10)
	seen := map[string]bool{}
	for _, m := range append(gotA, gotB...) {
		require.False(t, seen[string(m.Body)], "delivered twice: %s", m.Body)
		seen[string(m.Body)] = true
	}
	require.Len(t, seen, 20)
	expectPumpDeliversNoMore(t, n, pumps, a, "10", 10)
	expectPumpDeliversNoMore(t, n, pumps, b, "10", 10)
}

func TestConsumersThatFinishShareAStreamWithoutDuplicates(t *testing.T) {
	n := startDaemon(t, nil)
	const total = 200
	consumers := []*testConn{dialV2(t, n), dialV2(t, n)}
	type delivery struct {
		consumer int
		body     string
		err      error
	}
	deliveries := make(chan delivery, total)
	// Each consumer holds its first message until the other has one too:
	// with RDY 1 neither can take a second before then, so both must be
	// served however the scheduler orders them. After that each FINs what
	// it gets, as a real one would.
	var bothHoldOne sync.WaitGroup
	bothHoldOne.Add(len(consumers))
	for i, c := range consumers {
		c.subscribe("t", "c")
		c.send("RDY 1")
		go func() {
			first := true
			for {
				frameType, data, err := c.readFrameErr(5 * time.Second)
				if err != nil {
					deliveries <- delivery{consumer: i, err: err}
					return
				}
				if frameType != protocol.FrameTypeMessage {
					continue
				}
				if first {
					first = false
					bothHoldOne.Done()
					bothHoldOne.Wait()
				}
				msg, err := protocol.DecodeMessage(data)
				if err == nil {
					_, err = c.conn.Write([]byte("FIN " + string(msg.ID[:]) + "\n"))
				}
				deliveries <- delivery{consumer: i, body: string(msg.Body), err: err}
				if err != nil {
					return
				}
			}
		}()
	}
	p := dialV2(t, n)
	p.mpub("t", numbered("m", total)...)

	seen := map[string]bool{}
	perConsumer := make([]int, len(consumers))
	timeout := time.After(10 * time.Second)
	for len(seen) < total {
		var d delivery
		select {
		case d = <-deliveries:
		case <-timeout:
			t.Fatalf("%d of %d messages delivered, per consumer %v", len(seen), total, perConsumer)
		}
		require.NoError(t, d.err, "after %d messages", len(seen))
		require.False(t, seen[d.body], "delivered twice: %s", d.body)
		seen[d.body] = true
		perConsumer[d.consumer]++
	}
	require.Positive(t, perConsumer[0])
	require.Positive(t, perConsumer[1])
}

func TestRdyCapsMessagesInFlight(t *testing.T) {
	n := startDaemon(t, nil)
	publish(t, n, "t", "1", "2", "3")
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY 2")
	first := c.readMessages(2)
	c.expectNoFrame(100 * time.Millisecond)
	c.fin(first[0].ID)
	require.Equal(t, "3", string(c.readMessage().Body))
}

func TestMessageStaysInFlightUntilFin(t *testing.T) {
	n := startDaemon(t, nil)
	pumps := watchPumps(t, n)
	holder, msg := consumerWithMessage(t, n)
	other := dialV2(t, n)
	other.subscribe("t", "c")
	other.send("RDY 1")
	ch := existingChannel(t, n, "t", "c")
	expectPumpDeliversNothing(t, n, pumps, other, "1")
	require.Equal(t, int64(1), ch.inFlightCount.Load())

	holder.fin(msg.ID)
	holder.pub("t2", "marker") // orders the FIN before the checks
	require.Zero(t, ch.inFlightCount.Load())
	require.Zero(t, ch.Depth())
	expectPumpDeliversNothing(t, n, pumps, other, "1")
}

func TestReqZeroRedeliversWithAttemptsIncremented(t *testing.T) {
	n := startDaemon(t, nil)
	c, msg := consumerWithMessage(t, n)
	require.Equal(t, uint16(1), msg.Attempts)
	c.req(msg.ID, 0)
	again := c.readMessage()
	require.Equal(t, msg.ID, again.ID)
	require.Equal(t, msg.Timestamp, again.Timestamp, "timestamp is fixed at publish")
	require.Equal(t, "held", string(again.Body))
	require.Equal(t, uint16(2), again.Attempts)
}

func TestReqWithDelayIsNotRedeliveredBeforeTheDelay(t *testing.T) {
	t.Parallel()
	n, clk := startClockedDaemon(t, nil)
	c, msg := consumerWithMessage(t, n)
	due := clk.Now().Add(500 * time.Millisecond)
	c.req(msg.ID, 500*time.Millisecond)
	expectDeferredUntil(t, n, clk, c, "t", "c", due)
	again := c.readMessage()
	require.Equal(t, msg.ID, again.ID)
	require.Equal(t, uint16(2), again.Attempts)
}

func TestReqWithDelayFreesCreditAtOnce(t *testing.T) {
	t.Parallel()
	n := startDaemon(t, nil)
	c, msg := consumerWithMessage(t, n)
	publish(t, n, "t", "next")
	c.req(msg.ID, 2*time.Second)
	// The deferred message no longer counts against RDY 1.
	require.Equal(t, "next", string(c.readMessage().Body))
}

func TestMsgTimeoutRedeliversWithAttemptsIncremented(t *testing.T) {
	t.Parallel()
	n, clk := startClockedDaemon(t, nil)
	c := timedConsumer(t, n, 1) // 1 s msg_timeout
	publish(t, n, "t", "slow")
	msg := c.readMessage() // its timeout is armed before it is written
	ch := existingChannel(t, n, "t", "c")
	clk.Advance(time.Second - time.Nanosecond)
	require.Zero(t, ch.timeoutCount.Load(), "timed out before msg_timeout")
	clk.Advance(time.Nanosecond)
	require.Equal(t, uint64(1), ch.timeoutCount.Load(), "not timed out at msg_timeout")
	again := c.readMessage()
	require.Equal(t, msg.ID, again.ID)
	require.Equal(t, uint16(2), again.Attempts)
	c.fin(again.ID)
	c.pub("t2", "marker")
	require.Equal(t, uint64(1), ch.timeoutCount.Load())
	require.Zero(t, ch.inFlightCount.Load())
}

func TestTouchPostponesTheTimeout(t *testing.T) {
	t.Parallel()
	n, clk := startClockedDaemon(t, nil)
	c := timedConsumer(t, n, 1) // 1 s msg_timeout
	publish(t, n, "t", "touched")
	msg := c.readMessage()
	ch := existingChannel(t, n, "t", "c")
	clk.Advance(600 * time.Millisecond) // part of the timeout elapses
	c.touch(msg.ID)
	c.pub("t2", "marker") // orders the TOUCH before the clock moves on
	clk.Advance(400 * time.Millisecond)
	require.Zero(t, ch.timeoutCount.Load(), "timed out at the deadline TOUCH replaced")
	clk.Advance(600*time.Millisecond - time.Nanosecond)
	require.Zero(t, ch.timeoutCount.Load(), "timed out before touch time + msg_timeout")
	clk.Advance(time.Nanosecond)
	require.Equal(t, uint64(1), ch.timeoutCount.Load(), "not timed out at touch time + msg_timeout")
	again := c.readMessage()
	require.Equal(t, msg.ID, again.ID)
}

func TestTouchIsCappedAtMaxMsgTimeout(t *testing.T) {
	t.Parallel()
	n, clk := startClockedDaemon(t, func(o *Options) { o.MaxMsgTimeout = 1500 * time.Millisecond })
	c := timedConsumer(t, n, 1) // 1 s msg_timeout
	publish(t, n, "t", "capped")
	msg := c.readMessage()
	delivered := clk.Now()
	ch := existingChannel(t, n, "t", "c")
	clk.Advance(900 * time.Millisecond) // touch late in the timeout
	c.touch(msg.ID)
	c.pub("t2", "marker") // orders the TOUCH before the clock moves on
	// Uncapped the deadline would be 1.9 s after delivery.
	clk.AdvanceTo(delivered.Add(1500*time.Millisecond - time.Nanosecond))
	require.Zero(t, ch.timeoutCount.Load(), "timed out before the cap")
	clk.Advance(time.Nanosecond)
	require.Equal(t, uint64(1), ch.timeoutCount.Load(), "not timed out at delivery + max_msg_timeout")
	again := c.readMessage()
	require.Equal(t, msg.ID, again.ID)
}

func TestDpubIsDeliveredAtItsTimeNotBefore(t *testing.T) {
	t.Parallel()
	n, clk := startClockedDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY 1")
	p := dialV2(t, n)
	due := clk.Now().Add(500 * time.Millisecond)
	p.send("DPUB t 500", []byte("later"))
	p.expectResponse("OK")
	expectDeferredUntil(t, n, clk, c, "t", "c", due)
	msg := c.readMessage()
	require.Equal(t, "later", string(msg.Body))
}

func TestDpubBeforeAnyChannelWaitsItsTime(t *testing.T) {
	t.Parallel()
	n, clk := startClockedDaemon(t, nil)
	p := dialV2(t, n)
	due := clk.Now().Add(500 * time.Millisecond)
	p.send("DPUB t 500", []byte("later"))
	p.expectResponse("OK")
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY 1")
	expectDeferredUntil(t, n, clk, c, "t", "c", due)
	require.Equal(t, "later", string(c.readMessage().Body))
}

func TestOnlyTheHolderCanAcknowledgeAMessage(t *testing.T) {
	n := startDaemon(t, nil)
	holder, msg := consumerWithMessage(t, n)
	other := dialV2(t, n)
	other.subscribe("t", "c")
	id := string(msg.ID[:])
	other.fin(msg.ID)
	other.expectError("E_FIN_FAILED FIN " + id + " failed client does not own message")
	other.req(msg.ID, 0)
	other.expectError("E_REQ_FAILED REQ " + id + " failed client does not own message")
	other.touch(msg.ID)
	other.expectError("E_TOUCH_FAILED TOUCH " + id + " failed client does not own message")
	// None of those took the message from its holder.
	holder.fin(msg.ID)
	holder.pub("t2", "marker")
	require.Zero(t, existingChannel(t, n, "t", "c").inFlightCount.Load())
}

func TestFinOfAMessageHeldOnAnotherChannelIsNotInFlight(t *testing.T) {
	n := startDaemon(t, nil)
	a := dialV2(t, n)
	a.subscribe("t", "a")
	a.send("RDY 1")
	b := dialV2(t, n)
	b.subscribe("t", "b")
	publish(t, n, "t", "m")
	msg := a.readMessage()
	b.fin(msg.ID)
	b.expectError("E_FIN_FAILED FIN " + string(msg.ID[:]) + " failed ID not in flight")
}

func TestDisconnectRequeuesInFlightMessagesAtOnce(t *testing.T) {
	n := startDaemon(t, nil)
	holder, msg := consumerWithMessage(t, n) // default msg timeout: 60s
	other := dialV2(t, n)
	other.subscribe("t", "c")
	other.send("RDY 1")
	other.expectNoFrame(100 * time.Millisecond)
	holder.conn.Close()
	again := other.readMessage() // within readFrame's 5s, far below 60s
	require.Equal(t, msg.ID, again.ID)
	require.Equal(t, uint16(2), again.Attempts)
}

func TestRedeliveryKeepsBodyAndTimestamp(t *testing.T) {
	n := startDaemon(t, nil)
	c, msg := consumerWithMessage(t, n)
	for attempt := uint16(2); attempt <= 4; attempt++ {
		c.req(msg.ID, 0)
		again := c.readMessage()
		require.Equal(t, attempt, again.Attempts)
		require.Equal(t, msg.Timestamp, again.Timestamp)
		require.Equal(t, msg.Body, again.Body)
	}
}

func TestRequeuedMessageGoesToAnotherReadyConsumer(t *testing.T) {
	n := startDaemon(t, nil)
	holder, msg := consumerWithMessage(t, n)
	other := dialV2(t, n)
	other.subscribe("t", "c")
	other.send("RDY 1")
	holder.send("RDY 0")
	holder.req(msg.ID, 0)
	again := other.readMessage()
	require.Equal(t, msg.ID, again.ID)
	holder.expectNoFrame(100 * time.Millisecond)
}

func TestLoweringRdyBelowInFlightHoldsDeliveriesUntilBelowIt(t *testing.T) {
	n := startDaemon(t, nil)
	pumps := watchPumps(t, n)
	publish(t, n, "t", numbered("m", 10)...)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY 5")
	held := c.readMessages(5)
	c.send("RDY 2")
	for _, m := range held[:3] {
		c.fin(m.ID)
	}
	// PUB's OK orders RDY and the FINs before the check: with 2 in flight
	// and RDY 2 there is no credit.
	c.pub("other", "barrier")
	expectPumpDeliversNoMore(t, n, pumps, c, "2", 2)
	c.fin(held[3].ID)
	c.readMessage() // 1 in flight: one credit
	expectPumpDeliversNoMore(t, n, pumps, c, "2", 2)
}

// The message arrives well within the client's 30s output_buffer_timeout:
// the read gives up at half of it (rather than at a 2s bound on the wall
// time of the publish and the read, which a stall of a loaded machine
// could break while proving no more).
func TestMessageIsFlushedWithoutWaitingForOutputBufferTimeout(t *testing.T) {
	const outputBufferTimeout = 30 * time.Second
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.identify(map[string]any{"output_buffer_size": 65536, "output_buffer_timeout": outputBufferTimeout.Milliseconds()})
	c.subscribe("t", "c")
	c.send("RDY 10") // still ready after one message: only the flush rule applies
	publish(t, n, "t", "prompt")
	require.Equal(t, "prompt", string(c.readMessageWithin(outputBufferTimeout/2).Body))
}

func TestUnbufferedClientReceivesMessages(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.identify(map[string]any{"output_buffer_size": -1})
	c.subscribe("t", "c")
	c.send("RDY 100")
	bodies := numbered("m", 50)
	dialV2(t, n).mpub("t", bodies...)
	require.ElementsMatch(t, bodies, bodiesOf(c.readMessages(len(bodies))))
}

func TestTouchCappedBelowALaterDeliveryStillExpiresAtTheCap(t *testing.T) {
	t.Parallel()
	n, clk := startClockedDaemon(t, func(o *Options) { o.MaxMsgTimeout = 1200 * time.Millisecond })
	c := timedConsumer(t, n, 2) // 1 s msg_timeout
	publish(t, n, "t", "touched")
	first := c.readMessage()
	delivered := clk.Now()
	ch := existingChannel(t, n, "t", "c")
	clk.Advance(900 * time.Millisecond) // deliver the next one late
	publish(t, n, "t", "later")         // its deadline: 1.9 s after the first
	require.Equal(t, "later", string(c.readMessage().Body))
	c.touch(first.ID)     // capped at delivery + 1.2 s, before "later" times out
	c.pub("t2", "marker") // orders the TOUCH before the clock moves on
	clk.AdvanceTo(delivered.Add(1200*time.Millisecond - time.Nanosecond))
	require.Zero(t, ch.timeoutCount.Load(), "timed out before the cap")
	clk.Advance(time.Nanosecond)
	require.Equal(t, uint64(1), ch.timeoutCount.Load(), "the touched message did not time out at its cap")
	again := c.readMessage()
	require.Equal(t, first.ID, again.ID, "the touched message times out first")
}
