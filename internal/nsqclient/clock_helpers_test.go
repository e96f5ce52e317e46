package nsqclient

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/nsqd"
)

// startClockedNSQD runs an nsqd whose time comes from a fake clock
// (internal/clock) that moves only when the test advances it: its
// heartbeats and message timeouts fire inside Advance, so a test moves
// time to them instead of waiting for them. The client keeps the wall
// clock; it answers what arrives.
func startClockedNSQD(t testing.TB) (*testNSQD, *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(time.Now())
	n := startNSQD(t, "127.0.0.1:0", nil, func(o *nsqd.Options) { o.Clock = fake })
	return n, fake
}

// useFakeClock gives the clients made with opts a fake clock (their RDY
// redistribution, backoff pauses, lookupd polls, reconnection waits and
// StopTimeout), which the test advances; nsqd keeps its own clock.
func useFakeClock(opts *Options) *clock.Fake {
	fake := clock.NewFake(time.Now())
	opts.Clock = fake
	return fake
}

// awaitPending waits until at least n timers are armed on the fake clock:
// a test awaits the timer that code running elsewhere is about to arm
// (a reconnection wait, say) before advancing past its deadline.
func awaitPending(t testing.TB, fake *clock.Fake, n int) {
	t.Helper()
	if !fake.AwaitArmed(waitTimeout, clock.AtLeastPending(n)) {
		t.Fatalf("%d timers armed, want %d", fake.Pending(), n)
	}
}

// awaitDeadline waits until the fake clock's earliest timer is armed to
// fire at exactly at (nsqd's pump re-arms its heartbeat ticker in its own
// goroutine after IDENTIFY, for instance), on the clock's Armed event.
func awaitDeadline(t testing.TB, fake *clock.Fake, at time.Time) {
	t.Helper()
	if !fake.AwaitArmed(waitTimeout, clock.EarliestIs(at)) {
		next, ok := fake.NextDeadline()
		t.Fatalf("earliest timer not armed for %s (next: %s, %v)", at.Format(time.RFC3339Nano), next.Format(time.RFC3339Nano), ok)
	}
}

// awaitArmedAt waits until some timer of the fake clock is armed to fire
// at exactly at (nsqd's idle limit, re-armed when it reads a command, for
// instance), on the clock's Armed event.
func awaitArmedAt(t testing.TB, fake *clock.Fake, at time.Time) {
	t.Helper()
	if !fake.AwaitArmed(waitTimeout, clock.SomeArmedAt(at)) {
		t.Fatalf("no timer armed for %s", at.Format(time.RFC3339Nano))
	}
}

// nopProxy is a loopback TCP proxy in front of an nsqd that counts the
// NOP commands its clients send: a client answers each heartbeat with a
// NOP, and nsqd keeps no count of them, so this is where a test sees the
// answer arrive; nsqd then re-arms its idle limit (two heartbeat
// intervals from the read of a command, on its clock: nsqd/timeouts.go)
// when it reads the NOP (awaitArmedAt).
type nopProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu       sync.Mutex
	accepted int
	nops     int
	changed  chan struct{} // closed and replaced at every NOP
	conns    []net.Conn
}

var nopCommand = []byte("NOP\n")

func startNOPProxy(t testing.TB, target string) *nopProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &nopProxy{ln: ln, target: target, changed: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *nopProxy) addr() string { return p.ln.Addr().String() }

func (p *nopProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed by close
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.accepted++
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(server, client, true)
		go p.pipe(client, server, false)
	}
}

// pipe copies from src to dst until either ends, counting NOPs on the
// client-to-nsqd side. Bodies in these tests never contain "NOP\n"; the
// last bytes of each read are kept so a NOP split across reads counts.
func (p *nopProxy) pipe(dst, src net.Conn, count bool) {
	defer p.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 64<<10)
	var tail []byte
	for {
		nr, err := src.Read(buf)
		if nr > 0 {
			if count {
				seen := append(tail, buf[:nr]...)
				if found := bytes.Count(seen, nopCommand); found > 0 {
					p.mu.Lock()
					p.nops += found
					close(p.changed)
					p.changed = make(chan struct{})
					p.mu.Unlock()
				}
				// Keep what could start a NOP but not one already counted.
				if i := bytes.LastIndex(seen, nopCommand); i >= 0 {
					seen = seen[i+len(nopCommand):]
				}
				tail = append([]byte(nil), seen[max(0, len(seen)-len(nopCommand)+1):]...)
			}
			if _, werr := dst.Write(buf[:nr]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or closed: the other side goes with it
		}
	}
}

// awaitNOPs waits until the proxy has passed at least want NOPs.
func (p *nopProxy) awaitNOPs(t testing.TB, want int) {
	t.Helper()
	bound := time.NewTimer(waitTimeout)
	defer bound.Stop()
	for {
		p.mu.Lock()
		got, changed := p.nops, p.changed
		p.mu.Unlock()
		if got >= want {
			return
		}
		select {
		case <-changed:
		case <-bound.C:
			t.Fatalf("%d NOPs passed, want %d: the client did not answer a heartbeat", got, want)
		}
	}
}

// connections is how many connections the proxy has accepted.
func (p *nopProxy) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

func (p *nopProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
