package hostpool

import "time"

// epsilon is the share of epsilon-greedy choices made at random.
const epsilon = 0.3

// latencyWeight is how much a new sample moves a host's mean: recent
// requests dominate, so a host that slows down loses traffic quickly.
const latencyWeight = 0.2

// latency is an exponentially weighted mean response time.
type latency struct {
	mean    time.Duration
	samples int
}

func (l *latency) add(d time.Duration) {
	if l.samples == 0 {
		l.mean = d
	} else {
		l.mean += time.Duration(latencyWeight * float64(d-l.mean))
	}
	l.samples++
}

// greedyLocked picks among the usable hosts (live, or dead with a retry
// due): a random one with probability epsilon, otherwise the fastest,
// where a host never measured counts as fastest so that each is tried.
func (p *Pool) greedyLocked(now time.Time) *host {
	var usable []*host
	for _, h := range p.hosts {
		if !h.dead || !now.Before(h.retryAt) {
			usable = append(usable, h)
		}
	}
	if len(usable) == 0 {
		p.reviveAllLocked()
		usable = p.hosts
	}
	var chosen *host
	if p.float() < epsilon {
		chosen = usable[p.intn(len(usable))]
	} else {
		for _, h := range usable {
			if chosen == nil || faster(h, chosen) {
				chosen = h
			}
		}
	}
	if chosen.dead {
		p.retryDueLocked(chosen, now)
	}
	return chosen
}

func faster(a, b *host) bool {
	if a.latency.samples == 0 || b.latency.samples == 0 {
		return a.latency.samples == 0 && b.latency.samples != 0
	}
	return a.latency.mean < b.latency.mean
}
