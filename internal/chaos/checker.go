package chaos

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// Bounds are the promises the checker holds the daemon to.
type Bounds struct {
	// SyncTimeout is nsqd's --sync-timeout: FIN progress is persisted at
	// least this often, so a crash may deliver again only messages FIN'd
	// within about this long before it (README, "Durability").
	SyncTimeout time.Duration
	// MsgTimeout is nsqd's --msg-timeout: a FIN sent after it may lose the
	// race with the timeout's requeue.
	MsgTimeout time.Duration
	// Slack covers scheduling: the periodic sync runs late on a loaded
	// machine, a FIN is written before the daemon reads it.
	Slack time.Duration
}

// Report is the checker's verdict.
type Report struct {
	Channels        []string // the channels checked, each on its own
	Published       int      // messages answered OK
	Refused         int      // messages answered E_*
	Unknown         int      // messages without an answer
	Deliveries      int
	Distinct        int // OK'd messages delivered at least once (on some channel)
	Lost            []string
	LostToDamage    []string
	Unexpected      []string // never published, garbled, or refused and still delivered
	Early           []string // DPUB delivered before its time
	Duplicates      int      // deliveries after a FIN of the same message on the same channel
	DupOutside      []string // duplicates no fault explains
	MaxDupFINAge    time.Duration
	DupPastSync     int // duplicates explained only with the slack: acknowledged more than SyncTimeout before the crash
	Redeliveries    int // after REQ, a timeout, or a crash with the message in flight
	RefusedAndKept  int // refused publishes that were delivered (in Unexpected too)
	UnknownAndKept  int // publishes without an answer that were delivered
	FaultCounts     map[string]int
	DamagedMessages int
	// PerChannel breaks the counts down by channel.
	PerChannel map[string]*ChannelCounts
}

// ChannelCounts are one channel's share of a report.
type ChannelCounts struct {
	Deliveries, Lost, LostToDamage, Unexpected, Early, Duplicates, DupOutside int
}

// OK is the pass criterion: nothing lost outside damaged records, nothing
// unexpected, nothing early, every duplicate explained by a fault.
func (r Report) OK() bool {
	return len(r.Lost) == 0 && len(r.Unexpected) == 0 && len(r.Early) == 0 && len(r.DupOutside) == 0
}

// checkedChannels is the set of channels every acknowledged publish must be
// finished on: the history's own list, else the channels deliveries name,
// else the one unnamed channel.
func checkedChannels(h *History) []string {
	if len(h.Channels) > 0 {
		return slices.Clone(h.Channels)
	}
	set := map[string]bool{}
	for _, d := range h.Deliveries {
		set[d.Channel] = true
	}
	if len(set) == 0 {
		return []string{""}
	}
	return slices.Sorted(maps.Keys(set))
}

// Check compares what was published with what was delivered. Every rule
// applies to each channel on its own: a topic hands every message to all
// its channels, each keeps (and finishes, and replays) its own copy.
//
//   - lost: answered OK, and no delivery of it was FIN'd on some channel
//     (after the final drain every message must have been finished once on
//     every channel); lost to damage when the nemesis damaged a record
//     holding it;
//   - unexpected: a body that no publisher sent, a body that differs from
//     the one sent under its id, or a message whose publish was refused;
//   - early: a DPUB delivered before its send time plus its delay (the
//     daemon stamps its time after the send, so no tolerance is needed);
//   - duplicate: a delivery on a channel after a FIN of the same message
//     was sent on that channel. It is within bound when a fault explains
//     it: a kill -9 or SIGTERM within SyncTimeout+Slack after an
//     acknowledgement of a copy of the message on that same channel (its
//     FIN, a REQ, a timeout, or an internal hand-off: the topic's to the
//     channel right after the publish, the deferred store's to the
//     channel's queue when a DPUB or delayed REQ is due), a SIGSTOP around
//     it, a full disk between it and the crash (the metadata could not be
//     written), or a FIN sent after the message's timeout. An
//     acknowledgement on another channel explains nothing: that channel's
//     progress is its own.
func Check(h *History, b Bounds) Report {
	h.mu.Lock()
	defer h.mu.Unlock()
	channels := checkedChannels(h)
	// on names the channel in a finding when there is more than one.
	on := func(ch string) string {
		if len(channels) < 2 {
			return ""
		}
		return " on " + ch
	}
	r := Report{FaultCounts: map[string]int{}, DamagedMessages: len(h.Damaged), Channels: channels,
		PerChannel: map[string]*ChannelCounts{}}
	for _, ch := range channels {
		r.PerChannel[ch] = &ChannelCounts{}
	}
	counts := func(ch string) *ChannelCounts {
		c := r.PerChannel[ch]
		if c == nil {
			c = &ChannelCounts{}
			r.PerChannel[ch] = c
		}
		return c
	}
	for _, f := range h.Faults {
		r.FaultCounts[f.Kind]++
	}
	pubs := make(map[string]Publish, len(h.Publishes))
	for _, p := range h.Publishes {
		pubs[p.ID] = p
		switch p.Outcome {
		case OutcomeOK:
			r.Published++
		case OutcomeRefused:
			r.Refused++
		default:
			r.Unknown++
		}
	}
	deliveries := slices.Clone(h.Deliveries)
	sort.SliceStable(deliveries, func(i, j int) bool { return deliveries[i].At.Before(deliveries[j].At) })
	r.Deliveries = len(deliveries)

	type state struct {
		delivered bool
		finished  bool
		fins      [][2]time.Time // each FIN sent, and when its delivery arrived
		// acks: when the daemon was told (FIN, REQ) or decided (timeout)
		// that a copy of the message was done with; a crash soon after
		// may bring that copy back.
		acks []time.Time
		last Delivery
	}
	type key struct{ channel, id string }
	seen := map[key]*state{}
	delivered := map[string]bool{}
	keptRefused, keptUnknown := map[key]bool{}, map[string]bool{}
	for _, d := range deliveries {
		cc := counts(d.Channel)
		cc.Deliveries++
		if d.ID == "" || !d.Intact {
			r.Unexpected = append(r.Unexpected, fmt.Sprintf("garbled body %s at %s%s", d.Body, d.At.Format(time.StampMilli), on(d.Channel)))
			cc.Unexpected++
			continue
		}
		p, ok := pubs[d.ID]
		if !ok {
			r.Unexpected = append(r.Unexpected, fmt.Sprintf("%s%s: never published", d.ID, on(d.Channel)))
			cc.Unexpected++
			continue
		}
		k := key{d.Channel, d.ID}
		switch p.Outcome {
		case OutcomeRefused:
			if !keptRefused[k] {
				keptRefused[k] = true
				r.Unexpected = append(r.Unexpected, fmt.Sprintf("%s%s: %s refused with an error, delivered anyway", d.ID, on(d.Channel), p.Op))
				cc.Unexpected++
			}
		case OutcomeUnknown:
			keptUnknown[d.ID] = true
		}
		if p.Op == "DPUB" && d.At.Before(p.Sent.Add(p.Delay)) {
			r.Early = append(r.Early, fmt.Sprintf("%s%s: DPUB %s delivered %s after its send", d.ID, on(d.Channel), p.Delay, d.At.Sub(p.Sent).Round(time.Millisecond)))
			cc.Early++
		}
		delivered[d.ID] = true
		s := seen[k]
		if s == nil {
			s = &state{}
			seen[k] = s
		}
		switch {
		case s.finished:
			r.Duplicates++
			cc.Duplicates++
			// One crash may bring back several copies of a message (its
			// record and a requeued copy), in any order: any FIN of it
			// that the crash explains explains them all.
			why, found := time.Duration(0), false
			lateFIN := false
			for _, f := range s.fins {
				if f[0].Sub(f[1]) >= b.MsgTimeout-b.Slack {
					lateFIN = true // a FIN that raced the message's own timeout
				}
			}
			// Internal hand-offs count too: the topic hands each message
			// to its channels as a new record there and acknowledges its
			// own right after the publish, and a DPUB's record moves from
			// the channel's deferred store to its queue when due; a crash
			// soon after either may replay it. The youngest explaining
			// acknowledgement is the one the bound is measured by.
			handoffs := []time.Time{p.Sent}
			if p.Op == "DPUB" {
				handoffs = append(handoffs, p.Sent.Add(p.Delay))
			}
			for _, a := range append(handoffs, s.acks...) {
				if age, ok := explained(h.Faults, b, a, d.At); ok && (!found || age < why) {
					why, found = age, true
				}
			}
			if lateFIN && !found {
				found = true
			}
			if found {
				r.MaxDupFINAge = max(r.MaxDupFINAge, why)
				if why > b.SyncTimeout {
					r.DupPastSync++
				}
			} else {
				cc.DupOutside++
				fin := s.fins[len(s.fins)-1][0]
				r.DupOutside = append(r.DupOutside, fmt.Sprintf("%s%s: FIN'd at %s, delivered again at %s (nsqd id %s attempt %d to consumer %d; before: id %s attempt %d to consumer %d, %s) with no fault to explain it",
					d.ID, on(d.Channel), fin.Format(time.StampMilli), d.At.Format(time.StampMilli), d.NSQID, d.Attempts, d.Consumer,
					s.last.NSQID, s.last.Attempts, s.last.Consumer, s.last.Action))
			}
		case s.delivered:
			r.Redeliveries++
		}
		s.delivered = true
		s.last = d
		switch d.Action {
		case ActionFin:
			s.finished = true
			s.fins = append(s.fins, [2]time.Time{d.ActedAt, d.At})
			s.acks = append(s.acks, d.ActedAt)
		case ActionReq:
			s.acks = append(s.acks, d.ActedAt)
		case ActionReqDelay:
			// Held in the channel's deferred store, then handed back to
			// its queue when due: two hand-offs.
			s.acks = append(s.acks, d.ActedAt, d.ActedAt.Add(d.ReqDelay))
		default:
			s.acks = append(s.acks, d.At.Add(b.MsgTimeout))
		}
	}
	r.RefusedAndKept, r.UnknownAndKept = len(keptRefused), len(keptUnknown)
	for _, p := range h.Publishes {
		if p.Outcome != OutcomeOK {
			continue
		}
		if delivered[p.ID] {
			r.Distinct++
		}
		for _, ch := range channels {
			s := seen[key{ch, p.ID}]
			if s != nil && s.finished {
				continue
			}
			why := "never delivered"
			if s != nil {
				why = "delivered, never finished"
			}
			if h.Damaged[p.ID] {
				r.LostToDamage = append(r.LostToDamage, p.ID+on(ch))
				counts(ch).LostToDamage++
			} else {
				r.Lost = append(r.Lost, fmt.Sprintf("%s%s: %s OK at %s, %s", p.ID, on(ch), p.Op, p.Sent.Format(time.StampMilli), why))
				counts(ch).Lost++
			}
		}
	}
	return r
}

// explained reports whether a fault accounts for a copy of a message that
// was acknowledged (FIN, REQ, timeout) at ack coming back at again, and how
// long before the explaining crash the acknowledgement was: a kill -9 or
// SIGTERM at most SyncTimeout+Slack after it (a full disk in between
// stretches that: the metadata could not be written), or a SIGSTOP around
// it (the daemon read the FIN only after its timeouts fired).
func explained(faults []Fault, b Bounds, ack, again time.Time) (time.Duration, bool) {
	for _, f := range faults {
		switch f.Kind {
		case FaultKill9, FaultSIGTERM, FaultFlip:
			// An acknowledgement written while the daemon was going down
			// (after the signal, before the connection broke) is lost
			// with it too.
			if ack.Before(f.End) && f.Start.Before(again) {
				age := max(f.Start.Sub(ack), 0)
				if age <= b.SyncTimeout+b.Slack || diskFullBetween(faults, ack, f.Start) {
					return age, true
				}
			}
		case FaultSIGSTOP:
			if !ack.Before(f.Start.Add(-b.Slack)) && !ack.After(f.End.Add(b.Slack)) && f.Start.Before(again) {
				return 0, true
			}
		}
	}
	return 0, false
}

func diskFullBetween(faults []Fault, from, to time.Time) bool {
	for _, f := range faults {
		if f.Kind == "diskfull" && f.Start.Before(to) && f.End.After(from.Add(-time.Second)) {
			return true
		}
	}
	return false
}

// Table renders the report as a Markdown table row set, with the run's
// parameters first.
func (r Report) Table(title string, elapsed time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", title)
	var faults []string
	for _, k := range slices.Sorted(maps.Keys(r.FaultCounts)) {
		faults = append(faults, fmt.Sprintf("%s %d", k, r.FaultCounts[k]))
	}
	rows := [][2]string{
		{"faults", strings.Join(faults, ", ")},
		{"published OK (messages)", fmt.Sprint(r.Published)},
		{"refused (E_*)", fmt.Sprint(r.Refused)},
		{"no answer (connection lost)", fmt.Sprintf("%d (%d of them delivered)", r.Unknown, r.UnknownAndKept)},
		{"deliveries", fmt.Sprint(r.Deliveries)},
		{"redeliveries (REQ, timeout, in flight at a crash)", fmt.Sprint(r.Redeliveries)},
		{"**lost**", fmt.Sprint(len(r.Lost))},
		{"lost to damaged records", fmt.Sprintf("%d (of %d messages in damaged records)", len(r.LostToDamage), r.DamagedMessages)},
		{"**unexpected**", fmt.Sprint(len(r.Unexpected))},
		{"**early** (DPUB before its time)", fmt.Sprint(len(r.Early))},
		{"duplicates (delivered after a FIN)", fmt.Sprint(r.Duplicates)},
		{"**duplicates outside the bound**", fmt.Sprint(len(r.DupOutside))},
		{"oldest acknowledgement replayed by a crash", r.MaxDupFINAge.Round(time.Millisecond).String()},
		{"duplicates acknowledged more than --sync-timeout before the crash", fmt.Sprint(r.DupPastSync)},
		{"elapsed", elapsed.Round(time.Second).String()},
		{"verdict", map[bool]string{true: "PASS", false: "FAIL"}[r.OK()]},
	}
	if len(r.Channels) > 1 {
		var per []string
		for _, ch := range r.Channels {
			c := r.PerChannel[ch]
			per = append(per, fmt.Sprintf("%s: %d deliveries, %d lost, %d unexpected, %d early, %d duplicates (%d outside)",
				ch, c.Deliveries, c.Lost, c.Unexpected, c.Early, c.Duplicates, c.DupOutside))
		}
		rows = slices.Insert(rows, 1, [2]string{"channels", fmt.Sprintf("%d", len(r.Channels))},
			[2]string{"per channel", strings.Join(per, "; ")})
	}
	b.WriteString("| | |\n|---|---|\n")
	for _, row := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", row[0], row[1])
	}
	for _, list := range []struct {
		name  string
		items []string
	}{{"lost", r.Lost}, {"unexpected", r.Unexpected}, {"early", r.Early}, {"duplicates outside the bound", r.DupOutside}} {
		if len(list.items) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s (first %d of %d):\n", list.name, min(10, len(list.items)), len(list.items))
		for _, s := range list.items[:min(10, len(list.items))] {
			fmt.Fprintf(&b, "  %s\n", s)
		}
	}
	return b.String()
}
