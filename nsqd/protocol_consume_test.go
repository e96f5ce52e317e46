package nsqd

import (
	"strings"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// SUB, RDY, FIN, REQ, TOUCH and CLS: their replies and every error each
// can answer, with upstream's exact texts.

// unknownID is a well-formed message ID that nothing holds.
const unknownID = "0123456789abcdef"

// consumerWithMessage subscribes to t/c, publishes one message and returns
// the connection holding it in flight.
func consumerWithMessage(t *testing.T, n *NSQD) (*testConn, protocol.DecodedMessage) {
	t.Helper()
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY 1")
	publish(t, n, "t", "held")
	return c, c.readMessage()
}

func TestSubCreatesTopicAndChannel(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("new-topic", "new-channel")
	existingChannel(t, n, "new-topic", "new-channel")
}

func TestSubErrorsAreFatal(t *testing.T) {
	n := startDaemon(t, nil)
	cases := []struct {
		line string
		want string
	}{
		{"SUB", "E_INVALID SUB insufficient number of parameters"},
		{"SUB t", "E_INVALID SUB insufficient number of parameters"},
		{"SUB bad/topic c", `E_BAD_TOPIC SUB topic name "bad/topic" is not valid`},
		{"SUB #ephemeral c", `E_BAD_TOPIC SUB topic name "#ephemeral" is not valid`},
		{"SUB t c#ephemeralx", `E_BAD_CHANNEL SUB channel name "c#ephemeralx" is not valid`},
		{"SUB t " + strings.Repeat("c", 65), `E_BAD_CHANNEL SUB channel name "` + strings.Repeat("c", 65) + `" is not valid`},
		{"SUB t c\x01", `E_BAD_CHANNEL SUB channel name "c\x01" is not valid`},
		// Two spaces yield an empty topic parameter.
		{"SUB  t c", `E_BAD_TOPIC SUB topic name "" is not valid`},
	}
	for _, tc := range cases {
		c := dialV2(t, n)
		c.send(tc.line)
		c.expectFatal(tc.want)
	}
}

func TestSubAcceptsLongestValidNames(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe(strings.Repeat("t", 64), strings.Repeat("c", 54)+"#ephemeral")
}

func TestSecondSubIsFatal(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("SUB t other")
	c.expectFatal("E_INVALID cannot SUB in current state")
}

func TestSubBeyondMaxChannelConsumersIsFatal(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxChannelConsumers = 1 })
	first := dialV2(t, n)
	first.subscribe("t", "c")
	second := dialV2(t, n)
	second.send("SUB t c")
	second.expectFatal("E_SUB_FAILED SUB failed consumers for t:c exceeds limit of 1")
	// Another channel of the topic has its own limit.
	third := dialV2(t, n)
	third.subscribe("t", "other")
}

func TestRdyBeforeSubIsFatal(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.send("RDY 1")
	c.expectFatal("E_INVALID cannot RDY in current state")
}

func TestRdyErrorsAreFatal(t *testing.T) {
	n := startDaemon(t, nil)
	for _, tc := range []struct{ line, want string }{
		{"RDY x", "E_INVALID RDY could not parse count x"},
		{"RDY -1", "E_INVALID RDY could not parse count -1"},
		{"RDY 2501", "E_INVALID RDY count 2501 out of range 0-2500"},
	} {
		c := dialV2(t, n)
		c.subscribe("t", "c")
		c.send(tc.line)
		c.expectFatal(tc.want)
	}
}

func TestRdyRangeFollowsMaxRdyCount(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxRdyCount = 10 })
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY 10")
	c.send("RDY 11")
	c.expectFatal("E_INVALID RDY count 11 out of range 0-10")
}

func TestRdyWithoutCountMeansOne(t *testing.T) {
	n := startDaemon(t, nil)
	publish(t, n, "t", "a", "b")
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY")
	c.readMessage()
	c.expectNoFrame(100 * time.Millisecond)
}

func TestRdyZeroStopsDeliveries(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY 5")
	c.send("RDY 0")
	c.pub("other", "barrier") // RDY has no reply; this OK orders it
	publish(t, n, "t", "waits")
	c.expectNoFrame(100 * time.Millisecond)
	c.send("RDY 1")
	require.Equal(t, "waits", string(c.readMessage().Body))
}

func TestFinIsSilentOnSuccess(t *testing.T) {
	n := startDaemon(t, nil)
	c, msg := consumerWithMessage(t, n)
	c.fin(msg.ID)
	c.send("NOP")
	c.pub("t2", "marker")
	require.Zero(t, existingChannel(t, n, "t", "c").inFlightCount.Load())
}

func TestAckCommandsBeforeSubAreFatal(t *testing.T) {
	n := startDaemon(t, nil)
	for _, tc := range []struct{ line, want string }{
		{"FIN " + unknownID, "E_INVALID cannot FIN in current state"},
		{"REQ " + unknownID + " 0", "E_INVALID cannot REQ in current state"},
		{"TOUCH " + unknownID, "E_INVALID cannot TOUCH in current state"},
		{"CLS", "E_INVALID cannot CLS in current state"},
	} {
		c := dialV2(t, n)
		c.send(tc.line)
		c.expectFatal(tc.want)
	}
}

func TestAckCommandParameterErrorsAreFatal(t *testing.T) {
	n := startDaemon(t, nil)
	for _, tc := range []struct{ line, want string }{
		{"FIN", "E_INVALID FIN insufficient number of params"},
		{"FIN short", "E_INVALID invalid message ID"},
		{"FIN " + unknownID + "0", "E_INVALID invalid message ID"},
		{"REQ " + unknownID, "E_INVALID REQ insufficient number of params"},
		{"REQ short 0", "E_INVALID invalid message ID"},
		{"REQ " + unknownID + " x", "E_INVALID REQ could not parse timeout x"},
		{"REQ " + unknownID + " -1", "E_INVALID REQ could not parse timeout -1"},
		{"TOUCH", "E_INVALID TOUCH insufficient number of params"},
		{"TOUCH short", "E_INVALID invalid message ID"},
	} {
		c := dialV2(t, n)
		c.subscribe("t", "c")
		c.send(tc.line)
		c.expectFatal(tc.want)
	}
}

func TestAckOfUnknownIDIsNonFatal(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("FIN " + unknownID)
	c.expectError("E_FIN_FAILED FIN " + unknownID + " failed ID not in flight")
	c.send("REQ " + unknownID + " 0")
	c.expectError("E_REQ_FAILED REQ " + unknownID + " failed ID not in flight")
	c.send("TOUCH " + unknownID)
	c.expectError("E_TOUCH_FAILED TOUCH " + unknownID + " failed ID not in flight")
	c.pub("t", "still served")
}

func TestFinTwiceFailsTheSecondTime(t *testing.T) {
	n := startDaemon(t, nil)
	c, msg := consumerWithMessage(t, n)
	c.fin(msg.ID)
	c.fin(msg.ID)
	c.expectError("E_FIN_FAILED FIN " + string(msg.ID[:]) + " failed ID not in flight")
}

func TestReqTimeoutAboveMaxIsClampedNotRejected(t *testing.T) {
	t.Parallel()
	n, clk := startClockedDaemon(t, func(o *Options) { o.MaxReqTimeout = 300 * time.Millisecond })
	c, msg := consumerWithMessage(t, n)
	due := clk.Now().Add(300 * time.Millisecond) // unclamped it would be an hour away
	c.req(msg.ID, time.Hour)
	expectDeferredUntil(t, n, clk, c, "t", "c", due)
	again := c.readMessage()
	require.Equal(t, msg.ID, again.ID)
}

func TestClsAnswersCloseWaitAndKeepsConnectionOpen(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("CLS")
	c.expectResponse("CLOSE_WAIT")
	c.pub("t", "publishing still works")
}

func TestClsTwiceIsFatal(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("CLS")
	c.expectResponse("CLOSE_WAIT")
	c.send("CLS")
	c.expectFatal("E_INVALID cannot CLS in current state")
}

func TestClsStopsDeliveries(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY 10")
	c.send("CLS")
	c.expectResponse("CLOSE_WAIT")
	publish(t, n, "t", "not for a closing client")
	c.expectNoFrame(100 * time.Millisecond)
}

func TestRdyIsIgnoredWhileClosing(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("CLS")
	c.expectResponse("CLOSE_WAIT")
	c.send("RDY 5")
	// No reply to RDY: the next frame is PUB's OK, and nothing is delivered.
	c.pub("t", "m")
	c.expectNoFrame(100 * time.Millisecond)
}

func TestFinAfterClsFinishesInFlightMessage(t *testing.T) {
	n := startDaemon(t, nil)
	c, msg := consumerWithMessage(t, n)
	c.send("CLS")
	c.expectResponse("CLOSE_WAIT")
	c.fin(msg.ID)
	c.pub("t2", "marker") // FIN is answered by nothing; this orders the check
	require.Zero(t, existingChannel(t, n, "t", "c").inFlightCount.Load())
}

func TestSubAfterClsIsFatal(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("CLS")
	c.expectResponse("CLOSE_WAIT")
	c.send("SUB t c")
	c.expectFatal("E_INVALID cannot SUB in current state")
}

func TestIdentifyAndAuthAfterClsAreFatal(t *testing.T) {
	n := startDaemon(t, nil)
	for _, tc := range []struct {
		name string
		want string
	}{
		{"IDENTIFY", "E_INVALID cannot IDENTIFY in current state"},
		{"AUTH", "E_INVALID cannot AUTH in current state"},
	} {
		c := dialV2(t, n)
		c.subscribe("t", "c")
		c.send("CLS")
		c.expectResponse("CLOSE_WAIT")
		c.send(tc.name, []byte(`{}`))
		c.expectFatal(tc.want)
	}
}

func TestNopIsSilentInEveryState(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.send("NOP")
	c.subscribe("t", "c")
	c.send("NOP")
	c.send("CLS")
	c.expectResponse("CLOSE_WAIT")
	c.send("NOP")
	c.pub("t2", "marker")
}

func TestSubscriberStartsWithRdyZero(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	publish(t, n, "t", "not yet")
	c.expectNoFrame(100 * time.Millisecond)
}

func TestRdyWithEmptyCountMeansZero(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY 5")
	c.send("RDY ")
	c.pub("other", "barrier") // RDY has no reply; this OK orders it
	publish(t, n, "t", "waits")
	c.expectNoFrame(100 * time.Millisecond)
}

func TestAckCommandsWorkWhileClosing(t *testing.T) {
	n := startDaemon(t, nil)
	c, msg := consumerWithMessage(t, n)
	c.send("CLS")
	c.expectResponse("CLOSE_WAIT")
	c.touch(msg.ID)
	c.req(msg.ID, 0)
	c.pub("t2", "marker") // a failed TOUCH or REQ would answer an error first
	other := dialV2(t, n)
	other.subscribe("t", "c")
	other.send("RDY 1")
	again := other.readMessage()
	require.Equal(t, msg.ID, again.ID)
	require.Equal(t, uint16(2), again.Attempts)
}

func TestClsSetsReadyCountToZero(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY 5")
	waitForStats(t, n, "RDY 5 applied", func(s statsResponse) bool {
		clients := channelStats(t, s, "t", "c").Clients
		return len(clients) == 1 && clients[0].ReadyCount == 5
	})

	c.send("CLS")
	c.expectResponse("CLOSE_WAIT")
	clients := channelStats(t, getStats(t, n, ""), "t", "c").Clients
	require.Len(t, clients, 1)
	require.EqualValues(t, stateClosing, clients[0].State)
	require.Zero(t, clients[0].ReadyCount, "CLS forces RDY 0")
}
