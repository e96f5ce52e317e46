package nsqd

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A consumer at its RDY limit gets the messages its FINs free credit for
// from the reader goroutine (deliverInline), in channel order, each once,
// with the counts /stats shows as they were.
func TestFinCreditIsDeliveredInline(t *testing.T) {
	const rdy, total = 50, 400
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY " + strconv.Itoa(rdy))
	producer := dialV2(t, n)
	bodies := numbered("m", total)
	producer.mpub("t", bodies...)
	cl := clientOf(t, n, c)
	ch := existingChannel(t, n, "t", "c")
	var got []string
	held := c.readMessages(rdy)
	for len(got) < total {
		// Wait until the pump has found no credit left, so the FINs'
		// credit finds it waiting.
		waitFor(t, "the pump to wait for credit", cl.awaitingCredit.Load)
		var burst strings.Builder
		for _, m := range held {
			got = append(got, string(m.Body))
			burst.WriteString("FIN " + string(m.ID[:]) + "\n")
		}
		c.sendRaw([]byte(burst.String()))
		held = c.readMessages(min(len(held), total-len(got)))
		if len(got) == total {
			break
		}
	}
	require.Equal(t, bodies, got)
	require.NotZero(t, cl.inlinePasses.Load(), "no FIN burst's credit was delivered inline")
	waitFor(t, "the FIN counts", func() bool { return ch.inFlightCount.Load() == 0 })
	require.Equal(t, uint64(total), ch.finishCount.Load())
	require.Equal(t, uint64(total), cl.messageCount.Load())
	require.Equal(t, uint64(total), cl.finishCount.Load())
}

// An inline pass that finds the channel empty hands on to the pump, which
// waits for messages: one published later is delivered. (Only the pump
// watches the channel's ready signal; a pass that kept that to itself
// would leave the consumer waiting for ever.)
func TestInlinePassThatEmptiesTheChannelHandsOnToThePump(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("RDY 2")
	publish(t, n, "t", "a", "b", "c")
	cl := clientOf(t, n, c)
	msgs := c.readMessages(2)
	waitFor(t, "the pump to wait for credit", cl.awaitingCredit.Load)
	c.sendRaw([]byte("FIN " + string(msgs[0].ID[:]) + "\nFIN " + string(msgs[1].ID[:]) + "\n"))
	third := c.readMessage() // from the inline pass, which then found nothing more
	require.Equal(t, "c", string(third.Body))
	publish(t, n, "t", "d")
	require.Equal(t, "d", string(c.readMessage().Body))
	c.fin(third.ID)
	publish(t, n, "t", "e")
	require.Equal(t, "e", string(c.readMessage().Body))
}
