package nsqclient

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// publishTo publishes bodies to topic on n with a throwaway producer.
func publishTo(t *testing.T, n *testNSQD, topic string, msgs [][]byte) {
	t.Helper()
	p := newTestProducer(t, n.TCPAddr(), testOptions(t))
	require.NoError(t, p.MultiPublish(topic, msgs))
	p.Stop()
}

func TestConsumerReadsEveryNSQDFoundThroughLookupd(t *testing.T) {
	lookupd := startLookupd(t)
	var nodes []*testNSQD
	var want []string
	for i := range 3 {
		n := startNSQD(t, "127.0.0.1:0", []string{lookupd.TCPAddr()}, nil)
		nodes = append(nodes, n)
		msgs := bodies(fmt.Sprintf("node%d", i), 50)
		publishTo(t, n, "disc", msgs)
		want = append(want, strs(msgs)...)
	}
	// Listed before the consumer starts, so its first query finds all
	// three: its clock never moves, and no later poll comes.
	lookupd.awaitProducers(t, "disc", 3)

	opts := testOptions(t)
	useFakeClock(opts)
	opts.MaxInFlight = 30
	got := newCollector()
	c := newTestConsumer(t, "disc", "ch", opts)
	c.AddConcurrentHandlers(got, 4)
	require.NoError(t, c.ConnectToNSQLookupd(lookupd.HTTPAddr()))

	require.ElementsMatch(t, want, got.waitFor(t, len(want)))
	// The connections came one at a time, each new one sharing out the
	// 30 again: the last RDY sent to an earlier one may still be on its
	// way when every message is in (it was 15, under load).
	eventually(t, "max-in-flight 30 shared by 3", func() bool {
		for _, n := range nodes {
			if !slices.Equal(n.readyCounts("disc", "ch"), []int64{10}) {
				return false
			}
		}
		return true
	})
	eventually(t, "all finished", func() bool {
		for _, n := range nodes {
			ch, ok := n.Channel("disc", "ch")
			if !ok || ch.Depth != 0 || ch.InFlightCount != 0 {
				return false
			}
		}
		return true
	})
	require.Equal(t, 3, c.Stats().Connections)
}

func TestConsumerRebalancesAsNSQDsComeAndGo(t *testing.T) {
	lookupd := startLookupd(t)
	lookupds := []string{lookupd.TCPAddr()}
	first := startNSQD(t, "127.0.0.1:0", lookupds, nil)
	publishTo(t, first, "reb", bodies("a", 1))
	lookupd.awaitProducers(t, "reb", 1)

	opts := testOptions(t)
	fake := useFakeClock(opts)
	opts.LookupdPollJitter = 0 // polls at start + k × interval
	opts.MaxInFlight = 30
	got := newCollector()
	c := newTestConsumer(t, "reb", "ch", opts)
	c.AddHandler(got)
	start := fake.Now()
	require.NoError(t, c.ConnectToNSQLookupd(lookupd.HTTPAddr()))
	got.waitFor(t, 1)
	eventually(t, "all RDY on the only node", func() bool {
		return slices.Equal(first.readyCounts("reb", "ch"), []int64{30})
	})

	second := startNSQD(t, "127.0.0.1:0", lookupds, nil)
	publishTo(t, second, "reb", bodies("b", 1))
	lookupd.awaitProducers(t, "reb", 2)
	// The next poll (the earliest timer: redistribution ticks every 5s)
	// finds the second nsqd.
	firstPoll := start.Add(opts.LookupdPollInterval)
	awaitDeadline(t, fake, firstPoll)
	fake.AdvanceTo(firstPoll)
	got.waitFor(t, 2)
	eventually(t, "RDY split between two nodes", func() bool {
		return slices.Equal(first.readyCounts("reb", "ch"), []int64{15}) &&
			slices.Equal(second.readyCounts("reb", "ch"), []int64{15})
	})

	// The lost connection's share goes back at once, with no poll and no
	// reconnection (the clock stands still).
	second.Stop()
	eventually(t, "all RDY back on the first node", func() bool {
		return slices.Equal(first.readyCounts("reb", "ch"), []int64{30}) && c.Stats().Connections == 1
	})
}

func TestConsumerDisconnectsFromAProducerLookupdNoLongerLists(t *testing.T) {
	lookupd := startLookupd(t)
	lookupds := []string{lookupd.TCPAddr()}
	kept := startNSQD(t, "127.0.0.1:0", lookupds, nil)
	dropped := startNSQD(t, "127.0.0.1:0", lookupds, nil)
	publishTo(t, kept, "tomb", bodies("k", 1))
	publishTo(t, dropped, "tomb", bodies("d", 1))
	lookupd.awaitProducers(t, "tomb", 2)

	opts := testOptions(t)
	fake := useFakeClock(opts)
	opts.LookupdPollJitter = 0 // polls at start + k × interval
	opts.MaxInFlight = 10
	got := newCollector()
	c := newTestConsumer(t, "tomb", "ch", opts)
	c.AddHandler(got)
	start := fake.Now()
	require.NoError(t, c.ConnectToNSQLookupd(lookupd.HTTPAddr()))
	got.waitFor(t, 2)
	eventually(t, "connected to both", func() bool { return c.Stats().Connections == 2 })

	// A tombstone hides the still-running nsqd from /lookup; the next
	// poll (the earliest timer: redistribution ticks every 5s) sees it.
	lookupd.tombstone(t, "tomb", dropped)
	lookupd.awaitProducers(t, "tomb", 1)
	firstPoll := start.Add(opts.LookupdPollInterval)
	awaitDeadline(t, fake, firstPoll)
	fake.AdvanceTo(firstPoll)
	eventually(t, "connection to the unlisted nsqd closed", func() bool {
		ch, ok := dropped.Channel("tomb", "ch")
		return ok && len(ch.Clients) == 0 && c.Stats().Connections == 1
	})
	// The kept connection's RDY goes back to all 10 after the close, in a
	// command of its own (it was still 5 just after, under load).
	eventually(t, "all RDY on the kept nsqd", func() bool {
		return slices.Equal(kept.readyCounts("tomb", "ch"), []int64{10})
	})
	ch, _ := dropped.Channel("tomb", "ch")
	require.Zero(t, ch.InFlightCount, "closed gracefully, nothing left in flight")
}

func TestMaxInFlightBelowConnectionCountRotatesRDY(t *testing.T) {
	lookupd := startLookupd(t)
	for i := range 3 {
		n := startNSQD(t, "127.0.0.1:0", []string{lookupd.TCPAddr()}, nil)
		publishTo(t, n, "low", bodies(fmt.Sprintf("low%d", i), 3))
	}
	// Listed before the consumer starts: its first query finds all three,
	// and the test need not advance the clock for a poll.
	lookupd.awaitProducers(t, "low", 3)
	opts := testOptions(t)
	fake := useFakeClock(opts)
	opts.MaxInFlight = 1
	opts.RDYRedistributeInterval = 50 * time.Millisecond
	opts.LowRdyIdleTimeout = time.Second // the minimum
	got := newCollector()
	c := newTestConsumer(t, "low", "ch", opts)
	c.AddHandler(HandlerFunc(func(m *Message) error {
		// The RDY the consumer has decided for its connections, not what
		// the nsqds show: RDY 0 to one and RDY 1 to another, sent in that
		// order, reach two daemons that each take their own time (under
		// load one showed the new RDY 1 before the other its RDY 0).
		var total int64
		for _, conn := range c.Stats().Conns {
			total += conn.RDY
		}
		if total > 1 {
			return fmt.Errorf("RDY %d across nodes exceeds max-in-flight", total)
		}
		return got.HandleMessage(m)
	}))
	require.NoError(t, c.ConnectToNSQLookupd(lookupd.HTTPAddr()))
	eventually(t, "connected to all three", func() bool { return c.Stats().Connections == 3 })

	// The clock stands still while a holder delivers, so the single RDY
	// stays with it: each nsqd's three messages come together. Once
	// they are answered the holder is idle, and a redistribution tick
	// past LowRdyIdleTimeout passes the RDY to the connection that has
	// waited longest, one that never held it: every nsqd gets a turn.
	served := map[string]bool{}
	for round := 1; round <= 3; round++ {
		got.waitFor(t, 3*round)
		got.mu.Lock()
		turn := got.msgs[3*(round-1) : 3*round]
		addr := turn[0].NSQDAddress
		for _, m := range turn {
			require.Equal(t, addr, m.NSQDAddress, "round %d: one holder at a time", round)
		}
		got.mu.Unlock()
		require.False(t, served[addr], "round %d: %s served twice", round, addr)
		served[addr] = true
		if round == 3 {
			break
		}
		eventually(t, "the holder's messages answered", func() bool {
			for _, conn := range c.Stats().Conns {
				if conn.InFlight != 0 {
					return false
				}
			}
			return true
		})
		fake.Advance(opts.LowRdyIdleTimeout + 2*opts.RDYRedistributeInterval)
	}
	require.Len(t, got.snapshot(), 9)
	require.Zero(t, c.Stats().MessagesRequeued, "RDY never exceeded max-in-flight")
}
