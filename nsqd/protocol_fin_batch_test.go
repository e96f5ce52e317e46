package nsqd

import (
	"strconv"
	"strings"
	"testing"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// FINs that arrive in one socket read are applied together (finBatch); what
// a client sees must be what FINs applied one by one give: the errors in
// the order of the commands, and a command after a FIN seeing its effect.
func TestFinBurstAnswersInCommandOrder(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY 3")
	publish(t, n, "t", "a", "b", "c")
	msgs := c.readMessages(3)
	id := func(i int) string { return string(msgs[i].ID[:]) }
	c.sendRaw([]byte(strings.Join([]string{
		"FIN " + id(0),
		"FIN " + unknownID, // not held
		"FIN " + id(1),
		"FIN " + id(0), // finished two commands ago
		"TOUCH " + id(1),
		"FIN " + id(2),
		"",
	}, "\n")))
	c.expectError("E_FIN_FAILED FIN " + unknownID + " failed ID not in flight")
	c.expectError("E_FIN_FAILED FIN " + id(0) + " failed ID not in flight")
	c.expectError("E_TOUCH_FAILED TOUCH " + id(1) + " failed ID not in flight")
	c.pub("t2", "marker") // answered after every command before it ran
	ch := existingChannel(t, n, "t", "c")
	require.Zero(t, ch.inFlightCount.Load())
	require.Equal(t, uint64(3), ch.finishCount.Load())
}

// A FIN is never left waiting for bytes that have not arrived: with only
// the start of the next command read, the FIN is applied, and its credit
// delivers the next message. (A batch that waited whenever "FIN " came
// next would hold it, and the message, until the client sent more.)
func TestFinIsAppliedWhileTheNextCommandIsIncomplete(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY 1")
	publish(t, n, "t", "first", "second")
	first := c.readMessage()
	c.sendRaw([]byte("FIN " + string(first.ID[:]) + "\nFIN "))
	second := c.readMessage()
	require.Equal(t, "second", string(second.Body))
	c.sendRaw([]byte(string(second.ID[:]) + "\n"))
	c.pub("t2", "marker")
	require.Zero(t, existingChannel(t, n, "t", "c").inFlightCount.Load())
}

// A burst longer than a batch, sent in one write, finishes every message
// and frees all the credit.
func TestFinBurstLongerThanABatch(t *testing.T) {
	const count = 3*finBatchLen + 7
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY " + strconv.Itoa(count))
	bodies := numbered("m", 2*count)
	producer := dialV2(t, n)
	producer.mpub("t", bodies...)
	var burst strings.Builder
	for _, m := range c.readMessages(count) {
		burst.WriteString("FIN " + string(m.ID[:]) + "\n")
	}
	c.sendRaw([]byte(burst.String()))
	// The credit the burst freed brings the rest.
	rest := c.readMessages(count)
	require.Len(t, rest, count)
	ch := existingChannel(t, n, "t", "c")
	require.Equal(t, uint64(count), ch.finishCount.Load())
	require.Equal(t, int64(count), ch.inFlightCount.Load())
}

// removeEach is remove applied to each ID in order.
func TestInFlightRemoveEachMatchesRemoveInOrder(t *testing.T) {
	var batched, single inFlight
	msgs := testMessages(10, 1<<40)
	batched.add(append([]Message(nil), msgs...), 0, 1000)
	single.add(append([]Message(nil), msgs...), 0, 1000)
	var unknown protocol.MessageID
	protocol.FormatID(7, &unknown)
	ids := []protocol.MessageID{msgs[3].ID, unknown, msgs[0].ID, msgs[3].ID, msgs[9].ID, msgs[0].ID}
	found := make([]bool, len(ids))
	got := batched.removeEach(ids, found, nil)
	var want []Message
	for i, id := range ids {
		m, ok := single.remove(id)
		require.Equal(t, ok, found[i], "ID %d", i)
		if ok {
			want = append(want, m)
		}
	}
	require.Equal(t, want, got)
	require.Equal(t, []bool{true, false, true, false, true, false}, found)
	require.Equal(t, int64(7), batched.count.Load())
}

// A burst of FINs in their plain form, read without the general parse
// (protocol.ParseFinLine), mixed with FINs in other forms that only the
// general parser takes (a "\r\n" line end, a batch boundary) and a FIN
// whose ID holds a space: each is answered as alone, in order, and the
// malformed one ends the connection after the errors before it.
func TestFinBurstMixedFormsAnswersAsOneByOne(t *testing.T) {
	const count = finBatchLen + 10
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY " + strconv.Itoa(count))
	producer := dialV2(t, n)
	producer.mpub("t", numbered("m", count)...)
	msgs := c.readMessages(count)
	var burst strings.Builder
	for i, m := range msgs {
		switch {
		case i == 3:
			burst.WriteString("FIN " + string(m.ID[:]) + "\r\n")
		case i == 5:
			burst.WriteString("FIN " + unknownID + "\n")
			burst.WriteString("FIN " + string(m.ID[:]) + "\n")
		case i == finBatchLen+2:
			burst.WriteString("FIN " + string(msgs[0].ID[:]) + "\n") // finished already
			burst.WriteString("FIN " + string(m.ID[:]) + "\n")
		default:
			burst.WriteString("FIN " + string(m.ID[:]) + "\n")
		}
	}
	burst.WriteString("FIN " + unknownID[:7] + " " + unknownID[8:] + "\n")
	c.sendRaw([]byte(burst.String()))
	c.expectError("E_FIN_FAILED FIN " + unknownID + " failed ID not in flight")
	c.expectError("E_FIN_FAILED FIN " + string(msgs[0].ID[:]) + " failed ID not in flight")
	c.expectFatal("E_INVALID invalid message ID")
	ch := existingChannel(t, n, "t", "c")
	require.Equal(t, uint64(count), ch.finishCount.Load())
}
