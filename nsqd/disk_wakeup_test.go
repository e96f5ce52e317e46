package nsqd

import (
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// Wake-ups of a consumer whose channel keeps every message on disk
// (--mem-queue-size=0): a message reaches the channel's backlog with the
// consumer's pump already parked, and the pump must be woken for it. Each
// round waits until the pump has parked (pump.go's pumpHooks) before the
// message is sent its way, so the test covers that order every time rather
// than by chance.

// parkWatch follows when each pump parks, and how many messages it had
// delivered by then: a park seen with the count at n comes after the pass
// that followed the n-th delivery found nothing more it could take.
type parkWatch struct {
	mu        sync.Mutex
	changed   chan struct{} // closed and replaced on every park
	delivered map[*client]uint64
}

func watchParks(t testing.TB, n *NSQD) *parkWatch {
	w := &parkWatch{changed: make(chan struct{}), delivered: map[*client]uint64{}}
	n.pumpHooks.Store(&pumpHooks{pass: func(*client) {}, park: w.park})
	t.Cleanup(func() { n.pumpHooks.Store(nil) })
	return w
}

func (w *parkWatch) park(c *client) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.delivered[c] = c.messageCount.Load()
	close(w.changed)
	w.changed = make(chan struct{})
}

// awaitParkedAfter waits until cl's pump parks having delivered at least
// delivered messages.
func (w *parkWatch) awaitParkedAfter(t testing.TB, cl *client, delivered uint64) {
	t.Helper()
	bound := time.NewTimer(10 * time.Second)
	defer bound.Stop()
	for {
		w.mu.Lock()
		parked, seen := w.delivered[cl]
		changed := w.changed
		w.mu.Unlock()
		if seen && parked >= delivered {
			return
		}
		select {
		case <-changed:
		case <-bound.C:
			t.Fatalf("the pump of %s did not park after delivering %d messages", cl.remoteAddr, delivered)
		}
	}
}

// A message REQ'd with no delay goes back through the disk backlog while
// the consumer's pump is parked: waiting for credit (RDY 1: the REQ frees
// it) or, with credit left (RDY 2), waiting on the channel, which is empty
// until the REQ's write is settled. Either way the message comes again.
func TestReqThroughBacklogWakesParkedConsumer(t *testing.T) {
	for _, rdy := range []int{1, 2} {
		t.Run(fmt.Sprintf("RDY %d", rdy), func(t *testing.T) {
			n := startDaemon(t, func(o *Options) { o.MemQueueSize = 0; o.Logger = io.Discard })
			w := watchParks(t, n)
			publish(t, n, "reqwake", "once and again")
			consumer := dialV2(t, n)
			consumer.subscribe("reqwake", "ch")
			cl := clientOf(t, n, consumer)
			consumer.send(fmt.Sprintf("RDY %d", rdy))
			const rounds = 30
			var last protocol.MessageID
			for round := 1; round <= rounds; round++ {
				m := consumer.readMessage()
				require.Equal(t, "once and again", string(m.Body))
				require.EqualValues(t, round, m.Attempts)
				w.awaitParkedAfter(t, cl, uint64(round))
				if round == rounds {
					last = m.ID
					break
				}
				consumer.req(m.ID, 0)
			}
			consumer.fin(last)
			ch := existingChannel(t, n, "reqwake", "ch")
			waitFor(t, "the last FIN", func() bool { return ch.finishCount.Load() == 1 })
			require.Zero(t, ch.Depth())
		})
	}
}

// The topic's disk backlog (held while it was paused) is drained into a
// channel whose consumer is parked with credit: every message is
// delivered, round after round.
func TestHeldBacklogDrainWakesParkedConsumer(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 0; o.Logger = io.Discard })
	w := watchParks(t, n)
	consumer := dialV2(t, n)
	consumer.subscribe("drainwake", "ch")
	cl := clientOf(t, n, consumer)
	consumer.send("RDY 10")
	topic, err := n.GetExistingTopic("drainwake")
	require.NoError(t, err)
	producer := dialV2(t, n)
	const rounds, batch = 10, 5
	delivered := 0
	for round := 0; round < rounds; round++ {
		topic.Pause()
		bodies := numbered(fmt.Sprintf("round %d: ", round), batch)
		producer.mpub("drainwake", bodies...)
		require.EqualValues(t, batch, topic.BackendDepth(), "held on the topic's disk")
		w.awaitParkedAfter(t, cl, uint64(delivered))
		topic.Unpause()
		got := map[string]bool{}
		for range batch {
			m := consumer.readMessage()
			got[string(m.Body)] = true
			consumer.fin(m.ID)
		}
		for _, b := range bodies {
			require.True(t, got[b], "round %d: %q not delivered", round, b)
		}
		delivered += batch
	}
}
