package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// sample is one delivered message's timeline, in ns since the epoch, all
// read from the one wall clock this machine has: when the tool wrote the
// PUB, the timestamp nsqd gave the message when it accepted the PUB (the
// message frame's first field, stamped on receipt by upstream and ours
// alike), and when the tool read the message frame.
type sample struct {
	sent, stamped, received int64
}

// total is the publish-to-delivery latency the tool reports.
func (s sample) total() time.Duration { return time.Duration(s.received - s.sent) }

// in is the time from the tool's write of the PUB to nsqd's timestamp:
// the PUB waiting in the socket for the daemon's reader.
func (s sample) in() time.Duration { return time.Duration(s.stamped - s.sent) }

// out is the time from nsqd's timestamp to the tool's read of the frame:
// queueing and delivery in the daemon, and the tool's consumer getting to
// the frame.
func (s sample) out() time.Duration { return time.Duration(s.received - s.stamped) }

// stall is a stretch in which the tool itself did not run when it should
// have: a probe sleep that overran by length, from start (ns since the
// epoch).
type stall struct {
	start  int64
	length time.Duration
}

// end is when the stall ended, ns since the epoch.
func (st stall) end() int64 { return st.start + int64(st.length) }

// percentile returns the p-quantile of sorted (nearest rank, as the
// report has always used), 0 for none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(int(p*float64(len(sorted))), len(sorted)-1)]
}

// sortedBy returns f of every sample, sorted.
func sortedBy(samples []sample, f func(sample) time.Duration) []time.Duration {
	d := make([]time.Duration, len(samples))
	for i, s := range samples {
		d[i] = f(s)
	}
	slices.Sort(d)
	return d
}

// spikeSummary says how many messages took at least threshold end to end,
// how many of them were delivered while or just after the tool itself
// stalled (a stall overlapping [sent, received]: the tool was not running
// to write or to read, so the spike is not the daemon's alone), and which
// part of the slow ones' latency was the daemon's inbound side.
type spikeSummary struct {
	threshold    time.Duration
	slow         int           // messages with total >= threshold
	overlapStall int           // of them, those whose flight overlaps a tool stall
	worstIn      time.Duration // the largest in() among the slow ones
	worstOut     time.Duration // the largest out() among the slow ones
}

// spikes summarises the slow messages against the tool's stalls, which
// are in start order.
func spikes(samples []sample, stalls []stall, threshold time.Duration) spikeSummary {
	sum := spikeSummary{threshold: threshold}
	for _, s := range samples {
		if s.total() < threshold {
			continue
		}
		sum.slow++
		sum.worstIn = max(sum.worstIn, s.in())
		sum.worstOut = max(sum.worstOut, s.out())
		// The first stall ending after the message was sent overlaps its
		// flight if it began before the message arrived.
		i, _ := slices.BinarySearchFunc(stalls, s.sent, func(st stall, t int64) int {
			if st.end() <= t {
				return -1
			}
			return 1
		})
		if i < len(stalls) && stalls[i].start < s.received {
			sum.overlapStall++
		}
	}
	return sum
}

// window is one stretch of a timeline: the messages sent in it and the
// worst of them, and how long the tool stalled in it.
type window struct {
	start        int64 // ns since the epoch
	messages     int
	worst        sample // the message with the largest total latency
	toolStall    time.Duration
	longestStall time.Duration
}

// timeline groups samples by send time into windows of width, keeping
// those whose worst latency reached threshold, in time order, with the
// tool's stalls that began in each. samples are in delivery order, which
// is close to send order; the grouping does not depend on it.
func timeline(samples []sample, stalls []stall, width, threshold time.Duration) []window {
	byStart := map[int64]*window{}
	for _, s := range samples {
		w := s.sent - s.sent%int64(width)
		win := byStart[w]
		if win == nil {
			win = &window{start: w}
			byStart[w] = win
		}
		win.messages++
		if s.total() > win.worst.total() || win.messages == 1 {
			win.worst = s
		}
	}
	for _, st := range stalls {
		if win := byStart[st.start-st.start%int64(width)]; win != nil {
			win.toolStall += st.length
			win.longestStall = max(win.longestStall, st.length)
		}
	}
	var out []window
	for _, win := range byStart {
		if win.worst.total() >= threshold {
			out = append(out, *win)
		}
	}
	slices.SortFunc(out, func(a, b window) int { return int(a.start - b.start) })
	return out
}

// formatWindow prints a timeline line: wall time (UTC, to the
// millisecond, to set beside a gctrace or a profile), the worst message
// split into its parts, and the tool's own stall in the window.
func formatWindow(w window) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  msgs %5d  worst %8.1fms (in %8.1fms, out %8.1fms)  tool stalled %7.1fms (longest %6.1fms)",
		time.Unix(0, w.start).UTC().Format("15:04:05.000"), w.messages,
		ms(w.worst.total()), ms(w.worst.in()), ms(w.worst.out()), ms(w.toolStall), ms(w.longestStall))
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
