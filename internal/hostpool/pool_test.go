package hostpool

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var errFailed = errors.New("failed")

// fakeClock is a settable time source.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestPool(t *testing.T, mode Mode, hosts ...string) (*Pool, *fakeClock) {
	t.Helper()
	p, err := New(hosts, mode)
	require.NoError(t, err)
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	p.now = clock.now
	return p, clock
}

// picks gets n choices, marking each with mark(host).
func picks(p *Pool, n int, mark func(host string) error) []string {
	var out []string
	for range n {
		r := p.Get()
		out = append(out, r.Host)
		r.Mark(mark(r.Host))
	}
	return out
}

func succeed(string) error { return nil }

func TestNewRejectsNoHosts(t *testing.T) {
	_, err := New(nil, HostPool)
	require.Error(t, err)
}

func TestParseModeKnowsTheThreeModes(t *testing.T) {
	for s, want := range map[string]Mode{"round-robin": RoundRobin, "hostpool": HostPool, "epsilon-greedy": EpsilonGreedy} {
		got, ok := ParseMode(s)
		require.True(t, ok, s)
		require.Equal(t, want, got, s)
	}
	_, ok := ParseMode("multicast")
	require.False(t, ok)
}

func TestRoundRobinCyclesAndIgnoresFailures(t *testing.T) {
	p, _ := newTestPool(t, RoundRobin, "a", "b", "c")
	got := picks(p, 6, func(string) error { return errFailed })
	require.Equal(t, []string{"a", "b", "c", "a", "b", "c"}, got)
}

func TestHostPoolSkipsAFailedHostUntilItsRetryIsDue(t *testing.T) {
	p, clock := newTestPool(t, HostPool, "a", "b")
	failB := func(h string) error {
		if h == "b" {
			return errFailed
		}
		return nil
	}
	require.Equal(t, []string{"a", "b", "a", "a", "a"}, picks(p, 5, failB))

	clock.advance(initialRetryDelay)
	// One trial of b is due; it fails again and b waits twice as long.
	require.Equal(t, []string{"b", "a", "a"}, picks(p, 3, failB))
	clock.advance(initialRetryDelay)
	require.Equal(t, []string{"a"}, picks(p, 1, failB))
	clock.advance(initialRetryDelay)
	require.Equal(t, []string{"b"}, picks(p, 1, failB))
}

func TestHostPoolReturnsARecoveredHostToTheRotation(t *testing.T) {
	p, clock := newTestPool(t, HostPool, "a", "b")
	bDown := true
	mark := func(h string) error {
		if h == "b" && bDown {
			return errFailed
		}
		return nil
	}
	picks(p, 2, mark)
	bDown = false
	clock.advance(initialRetryDelay)
	// The trial of b succeeds, so b is back in every rotation, not only
	// at its next retry time.
	require.Equal(t, []string{"a", "b", "a", "b", "a", "b"}, picks(p, 6, mark))
}

func TestHostPoolRevivesEveryHostWhenAllAreDead(t *testing.T) {
	p, _ := newTestPool(t, HostPool, "a", "b")
	fail := func(string) error { return errFailed }
	require.Equal(t, []string{"a", "b", "a", "b"}, picks(p, 4, fail))
}

func TestEpsilonGreedyPrefersTheFastestHost(t *testing.T) {
	p, clock := newTestPool(t, EpsilonGreedy, "slow", "fast")
	p.float = func() float64 { return 0.99 } // never explore
	for _, h := range []struct {
		addr string
		took time.Duration
	}{{"slow", 50 * time.Millisecond}, {"fast", 5 * time.Millisecond}} {
		r := p.Get()
		require.Equal(t, h.addr, r.Host, "an unmeasured host is tried first")
		clock.advance(h.took)
		r.Mark(nil)
	}
	require.Equal(t, []string{"fast", "fast", "fast"}, picks(p, 3, succeed))
}

func TestEpsilonGreedyExploresAtRandom(t *testing.T) {
	p, _ := newTestPool(t, EpsilonGreedy, "a", "b", "c")
	p.float = func() float64 { return 0 } // always explore
	p.intn = func(n int) int { return n - 1 }
	require.Equal(t, "c", p.Get().Host)
}

func TestEpsilonGreedyAvoidsAFailedHost(t *testing.T) {
	p, _ := newTestPool(t, EpsilonGreedy, "a", "b")
	p.float = func() float64 { return 0.99 }
	r := p.Get()
	require.Equal(t, "a", r.Host)
	r.Mark(errFailed)
	require.Equal(t, []string{"b", "b"}, picks(p, 2, succeed))
}
