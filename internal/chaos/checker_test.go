package chaos

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	t0     = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	bounds = Bounds{SyncTimeout: 2 * time.Second, MsgTimeout: 10 * time.Second, Slack: 500 * time.Millisecond}
)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func pub(id string, ms int) Publish { return Publish{ID: id, Op: "PUB", Sent: at(ms)} }

func deliver(id string, ms int, a Action) Delivery {
	_, intact := idOf(bodyFor(id))
	return Delivery{ID: id, Intact: intact, At: at(ms), Action: a, ActedAt: at(ms + 1)}
}

func TestBodiesCarryTheirID(t *testing.T) {
	for _, id := range []string{"c0-0", "c3-12345", "c12-7"} {
		got, intact := idOf(bodyFor(id))
		require.Equal(t, id, got)
		require.True(t, intact)
		b := bodyFor(id)
		b[len(b)-1] ^= 1
		got, intact = idOf(b)
		require.Equal(t, id, got)
		require.False(t, intact, "a changed byte is caught")
		require.Equal(t, []string{id}, idsIn(append([]byte("xx"), bodyFor(id)...)))
	}
	for _, b := range []string{"", "c1-2", "x1-2|abc", "c-1|", "c1-2-3|zz"} {
		_, intact := idOf([]byte(b))
		require.False(t, intact, "%q", b)
	}
}

func TestCheckerCleanHistoryPasses(t *testing.T) {
	h := &History{
		Publishes: []Publish{pub("c0-0", 0), pub("c0-1", 1), {ID: "c0-2", Op: "DPUB", Sent: at(2), Delay: time.Second}},
		Deliveries: []Delivery{
			deliver("c0-0", 10, ActionReq),
			deliver("c0-1", 11, ActionFin),
			deliver("c0-0", 20, ActionIgnore),
			deliver("c0-0", 20_030, ActionFin),
			deliver("c0-2", 1002, ActionFin),
		},
	}
	r := Check(h, bounds)
	require.True(t, r.OK(), "%+v", r)
	require.Equal(t, 3, r.Published)
	require.Equal(t, 2, r.Redeliveries)
	require.Zero(t, r.Duplicates)
}

func TestCheckerReportsLoss(t *testing.T) {
	h := &History{
		Publishes: []Publish{pub("c0-0", 0), pub("c0-1", 1), pub("c0-2", 2), pub("c0-3", 3),
			{ID: "c0-4", Op: "PUB", Sent: at(4), Outcome: OutcomeUnknown},
			{ID: "c0-5", Op: "PUB", Sent: at(5), Outcome: OutcomeRefused}},
		Deliveries: []Delivery{
			deliver("c0-0", 10, ActionFin),
			deliver("c0-1", 10, ActionReq), // requeued, never delivered again: lost
		},
		Damaged: map[string]bool{"c0-3": true},
	}
	r := Check(h, bounds)
	require.False(t, r.OK())
	require.Len(t, r.Lost, 2, "%v", r.Lost)
	require.Contains(t, r.Lost[0], "c0-1: PUB OK")
	require.Contains(t, r.Lost[0], "delivered, never finished")
	require.Contains(t, r.Lost[1], "c0-2: PUB OK")
	require.Contains(t, r.Lost[1], "never delivered")
	require.Equal(t, []string{"c0-3"}, r.LostToDamage, "damaged records are counted apart")
	require.Equal(t, 1, r.Unknown)
	require.Equal(t, 1, r.Refused)
}

func TestCheckerReportsUnexpectedDeliveries(t *testing.T) {
	garbled := deliver("c0-0", 12, ActionFin)
	garbled.Intact, garbled.Body = false, `"c0-0|xyz"`
	h := &History{
		Publishes: []Publish{pub("c0-0", 0), {ID: "c0-1", Op: "MPUB", Sent: at(1), Outcome: OutcomeRefused}},
		Deliveries: []Delivery{
			deliver("c0-0", 10, ActionFin),
			deliver("c9-9", 11, ActionFin), // never published
			garbled,
			{ID: "", Body: `"rogue"`, At: at(13), Action: ActionFin},
			deliver("c0-1", 14, ActionFin), // refused, yet delivered
		},
	}
	r := Check(h, bounds)
	require.False(t, r.OK())
	require.Len(t, r.Unexpected, 4, "%v", r.Unexpected)
	require.Contains(t, r.Unexpected[0], "c9-9: never published")
	require.Contains(t, r.Unexpected[1], "garbled")
	require.Contains(t, r.Unexpected[2], "rogue")
	require.Contains(t, r.Unexpected[3], "refused")
}

func TestCheckerReportsEarlyDPUB(t *testing.T) {
	h := &History{
		Publishes: []Publish{
			{ID: "c0-0", Op: "DPUB", Sent: at(0), Delay: 2 * time.Second},
			{ID: "c0-1", Op: "DPUB", Sent: at(0), Delay: 2 * time.Second},
		},
		Deliveries: []Delivery{deliver("c0-0", 1999, ActionFin), deliver("c0-1", 2000, ActionFin)},
	}
	r := Check(h, bounds)
	require.False(t, r.OK())
	require.Len(t, r.Early, 1)
	require.Contains(t, r.Early[0], "c0-0")
}

func TestCheckerBoundsDuplicates(t *testing.T) {
	// Published long before; FIN'd at 10_000; then a fault; delivered again.
	base := func(faults ...Fault) *History {
		return &History{
			Publishes:  []Publish{pub("c0-0", 0)},
			Deliveries: []Delivery{deliver("c0-0", 10_000, ActionFin), deliver("c0-0", 20_000, ActionFin)},
			Faults:     faults,
		}
	}
	for name, tc := range map[string]struct {
		faults []Fault
		within bool
	}{
		"no fault":                 {nil, false},
		"kill -9 within the bound": {[]Fault{{Kind: FaultKill9, Start: at(11_500), End: at(11_700)}}, true},
		"kill -9 too late":         {[]Fault{{Kind: FaultKill9, Start: at(13_000), End: at(13_200)}}, false},
		"kill -9 before the FIN":   {[]Fault{{Kind: FaultKill9, Start: at(5_000), End: at(5_200)}}, false},
		"kill -9 while FIN sent":   {[]Fault{{Kind: FaultKill9, Start: at(9_990), End: at(10_200)}}, true},
		"SIGTERM within the bound": {[]Fault{{Kind: FaultSIGTERM, Start: at(12_000), End: at(12_500)}}, true},
		"SIGSTOP around the FIN":   {[]Fault{{Kind: FaultSIGSTOP, Start: at(9_800), End: at(11_000)}}, true},
		"SIGSTOP long before":      {[]Fault{{Kind: FaultSIGSTOP, Start: at(1_000), End: at(2_000)}}, false},
		"disk full, then kill -9": {[]Fault{{Kind: FaultDiskFull, Start: at(9_000), End: at(15_000)},
			{Kind: FaultKill9, Start: at(16_000), End: at(16_200)}}, true},
	} {
		r := Check(base(tc.faults...), bounds)
		require.Equal(t, 1, r.Duplicates, name)
		require.Equal(t, tc.within, len(r.DupOutside) == 0, "%s: %v", name, r.DupOutside)
		require.Equal(t, tc.within, r.OK(), name)
	}

	// A crash right after the publish may replay the topic's hand-off: the
	// second copy arrives after the first was FIN'd, after the crash.
	h := &History{
		Publishes:  []Publish{pub("c0-0", 1_000)},
		Deliveries: []Delivery{deliver("c0-0", 5_000, ActionFin), deliver("c0-0", 5_200, ActionFin)},
		Faults:     []Fault{{Kind: FaultKill9, Start: at(2_000), End: at(2_300)}},
	}
	require.True(t, Check(h, bounds).OK())
	h.Publishes[0].Sent = at(-5_000)
	require.False(t, Check(h, bounds).OK(), "a publish long before the crash explains nothing")

	// A FIN sent after the message's timeout may lose the race with it.
	h = &History{
		Publishes: []Publish{pub("c0-0", 0)},
		Deliveries: []Delivery{{ID: "c0-0", Intact: true, At: at(10), Action: ActionFin, ActedAt: at(10_000)},
			deliver("c0-0", 10_001, ActionFin)},
	}
	require.True(t, Check(h, bounds).OK())
}

// A DPUB moves from the channel's deferred store to its queue when due: a
// crash soon after that may replay the move, whenever the copies are then
// delivered.
func TestCheckerAllowsAReplayedDeferredHandOff(t *testing.T) {
	h := &History{
		Publishes:  []Publish{{ID: "c0-0", Op: "DPUB", Sent: at(0), Delay: 5 * time.Second}},
		Deliveries: []Delivery{deliver("c0-0", 30_000, ActionFin), deliver("c0-0", 30_100, ActionFin)},
		Faults:     []Fault{{Kind: FaultKill9, Start: at(6_000), End: at(6_300)}},
	}
	require.True(t, Check(h, bounds).OK())
	h.Faults[0] = Fault{Kind: FaultKill9, Start: at(9_000), End: at(9_300)}
	require.False(t, Check(h, bounds).OK(), "a crash long after the hand-off explains nothing")

	// The same for a delayed REQ.
	req := deliver("c0-1", 1_000, ActionReqDelay)
	req.ReqDelay = 4 * time.Second
	h = &History{
		Publishes:  []Publish{pub("c0-1", 0)},
		Deliveries: []Delivery{req, deliver("c0-1", 30_000, ActionFin), deliver("c0-1", 30_100, ActionFin)},
		Faults:     []Fault{{Kind: FaultKill9, Start: at(6_000), End: at(6_300)}},
	}
	require.True(t, Check(h, bounds).OK())
}

func deliverOn(ch, id string, ms int, a Action) Delivery {
	d := deliver(id, ms, a)
	d.Channel = ch
	return d
}

// Every acknowledged publish must be finished on every channel: finished on
// two channels of three is lost on the third, and the loss is reported on
// the channel it happened on.
func TestCheckerPerChannelLoss(t *testing.T) {
	h := &History{
		Channels:  []string{"a", "b", "c"},
		Publishes: []Publish{pub("c0-0", 0), pub("c0-1", 1), pub("c0-2", 2)},
		Deliveries: []Delivery{
			deliverOn("a", "c0-0", 10, ActionFin), deliverOn("b", "c0-0", 11, ActionFin), deliverOn("c", "c0-0", 12, ActionFin),
			deliverOn("a", "c0-1", 10, ActionFin), deliverOn("b", "c0-1", 11, ActionFin), // never on c
			deliverOn("a", "c0-2", 10, ActionFin), deliverOn("b", "c0-2", 11, ActionReq), deliverOn("c", "c0-2", 12, ActionFin),
		},
	}
	r := Check(h, bounds)
	require.False(t, r.OK())
	require.Equal(t, 3, r.Published)
	require.Equal(t, 3, r.Distinct)
	require.Len(t, r.Lost, 2, "%v", r.Lost)
	require.Contains(t, r.Lost[0], "c0-1 on c: PUB OK")
	require.Contains(t, r.Lost[0], "never delivered")
	require.Contains(t, r.Lost[1], "c0-2 on b: PUB OK")
	require.Contains(t, r.Lost[1], "delivered, never finished")
	require.Equal(t, 0, r.PerChannel["a"].Lost)
	require.Equal(t, 1, r.PerChannel["b"].Lost)
	require.Equal(t, 1, r.PerChannel["c"].Lost)
	require.Contains(t, r.Table("t", time.Second), "| channels | 3 |")

	// Finished on every channel: nothing lost.
	h.Deliveries = append(h.Deliveries, deliverOn("c", "c0-1", 20, ActionFin), deliverOn("b", "c0-2", 21, ActionFin))
	r = Check(h, bounds)
	require.True(t, r.OK(), "%v", r.Lost)
	require.Equal(t, 1, r.Redeliveries)

	// A history without its channel list is checked on the channels its
	// deliveries name.
	h = &History{
		Publishes:  []Publish{pub("c0-0", 0)},
		Deliveries: []Delivery{deliverOn("a", "c0-0", 10, ActionFin), deliverOn("b", "c0-0", 11, ActionReq)},
	}
	r = Check(h, bounds)
	require.Equal(t, []string{"a", "b"}, r.Channels)
	require.Len(t, r.Lost, 1)
	require.Contains(t, r.Lost[0], "c0-0 on b:")

	// A damaged record's loss is counted apart on each channel it is lost on.
	h.Damaged = map[string]bool{"c0-0": true}
	r = Check(h, bounds)
	require.True(t, r.OK())
	require.Equal(t, []string{"c0-0 on b"}, r.LostToDamage)
}

// A duplicate on a channel is explained only by an acknowledgement on that
// channel: each channel persists its own progress, so a crash soon after a
// FIN on another channel says nothing about this one's replay.
func TestCheckerPerChannelDuplicates(t *testing.T) {
	crash := []Fault{{Kind: FaultKill9, Start: at(11_500), End: at(11_700)}}
	// FIN'd on a at 10_000, shortly before the crash; on b only after it.
	h := &History{
		Channels:  []string{"a", "b"},
		Publishes: []Publish{pub("c0-0", 0)},
		Deliveries: []Delivery{
			deliverOn("a", "c0-0", 10_000, ActionFin),
			deliverOn("b", "c0-0", 14_000, ActionFin),
			deliverOn("b", "c0-0", 20_000, ActionFin), // again on b: only a's FIN is near the crash
		},
		Faults: crash,
	}
	r := Check(h, bounds)
	require.False(t, r.OK())
	require.Equal(t, 1, r.Duplicates)
	require.Len(t, r.DupOutside, 1)
	require.Contains(t, r.DupOutside[0], "c0-0 on b:")
	require.Equal(t, 1, r.PerChannel["b"].DupOutside)
	require.Zero(t, r.PerChannel["a"].Duplicates)

	// The same copy again on a is explained by a's own FIN.
	h.Deliveries[2].Channel = "a"
	r = Check(h, bounds)
	require.True(t, r.OK(), "%v", r.DupOutside)
	require.Equal(t, 1, r.Duplicates)
	require.Equal(t, 1, r.PerChannel["a"].Duplicates)

	// A message FIN'd once on each channel is no duplicate at all, with no
	// fault anywhere.
	h = &History{
		Channels:   []string{"a", "b"},
		Publishes:  []Publish{pub("c0-0", 0)},
		Deliveries: []Delivery{deliverOn("a", "c0-0", 10, ActionFin), deliverOn("b", "c0-0", 20, ActionFin)},
	}
	r = Check(h, bounds)
	require.True(t, r.OK())
	require.Zero(t, r.Duplicates)
	require.Zero(t, r.Redeliveries)
}

// Unexpected and early deliveries are reported per channel.
func TestCheckerPerChannelUnexpectedAndEarly(t *testing.T) {
	h := &History{
		Channels: []string{"a", "b"},
		Publishes: []Publish{{ID: "c0-0", Op: "MPUB", Sent: at(0), Outcome: OutcomeRefused},
			{ID: "c0-1", Op: "DPUB", Sent: at(0), Delay: 2 * time.Second}},
		Deliveries: []Delivery{
			deliverOn("a", "c0-0", 10, ActionFin), deliverOn("b", "c0-0", 11, ActionFin), deliverOn("b", "c0-0", 12, ActionFin),
			deliverOn("a", "c0-1", 2_000, ActionFin), deliverOn("b", "c0-1", 1_999, ActionFin),
		},
	}
	r := Check(h, bounds)
	require.Len(t, r.Unexpected, 2, "one report per channel: %v", r.Unexpected)
	require.Contains(t, r.Unexpected[0], "c0-0 on a: MPUB refused")
	require.Contains(t, r.Unexpected[1], "c0-0 on b: MPUB refused")
	require.Len(t, r.Early, 1)
	require.Contains(t, r.Early[0], "c0-1 on b: DPUB")
	require.Equal(t, 1, r.PerChannel["b"].Early)
	require.Zero(t, r.PerChannel["a"].Early)
}
