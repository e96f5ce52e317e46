package hostpool

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Mode is a selection policy.
type Mode int

const (
	RoundRobin Mode = iota
	HostPool
	EpsilonGreedy
)

// ParseMode maps a --mode value to a Mode; ok is false for any other
// value, whose meaning differs per tool.
func ParseMode(s string) (mode Mode, ok bool) {
	switch s {
	case "round-robin":
		return RoundRobin, true
	case "hostpool":
		return HostPool, true
	case "epsilon-greedy":
		return EpsilonGreedy, true
	}
	return RoundRobin, false
}

// go-hostpool's retry schedule for dead hosts.
const (
	initialRetryDelay = 30 * time.Second
	maxRetryDelay     = 15 * time.Minute
)

// Pool is a set of destinations and their health.
type Pool struct {
	mode  Mode
	now   func() time.Time
	float func() float64 // uniform in [0,1), for epsilon-greedy
	intn  func(n int) int

	mu    sync.Mutex
	hosts []*host
	next  int // round-robin position
}

type host struct {
	addr       string
	dead       bool
	retryAt    time.Time
	retryDelay time.Duration
	latency    latency
}

// New returns a pool over hosts (at least one) using mode.
func New(hosts []string, mode Mode) (*Pool, error) {
	if len(hosts) == 0 {
		return nil, fmt.Errorf("hostpool: no hosts")
	}
	p := &Pool{mode: mode, now: time.Now, float: rand.Float64, intn: rand.IntN}
	for _, h := range hosts {
		p.hosts = append(p.hosts, &host{addr: h})
	}
	return p, nil
}

// Response is one choice of destination; Mark reports how the request
// to it went.
type Response struct {
	Host  string
	pool  *Pool
	h     *host
	start time.Time
}

// Get chooses the destination for the next request.
func (p *Pool) Get() Response {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	var h *host
	switch p.mode {
	case HostPool:
		h = p.nextHealthyLocked(now)
	case EpsilonGreedy:
		h = p.greedyLocked(now)
	default:
		h = p.hosts[p.next%len(p.hosts)]
		p.next = (p.next + 1) % len(p.hosts)
	}
	return Response{Host: h.addr, pool: p, h: h, start: now}
}

// Mark records the outcome of the request: nil for success. Round-robin
// pools ignore it.
func (r Response) Mark(err error) {
	p := r.pool
	if p == nil || p.mode == RoundRobin {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if err != nil {
		if !r.h.dead {
			r.h.dead = true
			r.h.retryDelay = initialRetryDelay
			r.h.retryAt = now.Add(r.h.retryDelay)
		}
		return
	}
	r.h.dead = false
	if p.mode == EpsilonGreedy {
		r.h.latency.add(now.Sub(r.start))
	}
}

// nextHealthyLocked is go-hostpool's round robin over live hosts: a dead
// host whose retry time has come is handed out once and its next retry
// pushed back; if every host is dead and none is due, all are revived.
func (p *Pool) nextHealthyLocked(now time.Time) *host {
	n := len(p.hosts)
	for i := range n {
		idx := (p.next + i) % n
		h := p.hosts[idx]
		if !h.dead || p.retryDueLocked(h, now) {
			p.next = (idx + 1) % n
			return h
		}
	}
	p.reviveAllLocked()
	p.next = 1 % n
	return p.hosts[0]
}

// retryDueLocked reports whether dead host h may be tried now, and if so
// schedules its next trial.
func (p *Pool) retryDueLocked(h *host, now time.Time) bool {
	if now.Before(h.retryAt) {
		return false
	}
	h.retryDelay = min(h.retryDelay*2, maxRetryDelay)
	h.retryAt = now.Add(h.retryDelay)
	return true
}

func (p *Pool) reviveAllLocked() {
	for _, h := range p.hosts {
		h.dead = false
	}
}
