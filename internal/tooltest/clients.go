package tooltest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/nsqclient"
	"github.com/nsqgo/nsq/internal/testnet"
)

// Publish publishes each body to topic on the nsqd at tcpAddr.
func Publish(t testing.TB, tcpAddr, topic string, bodies ...string) {
	t.Helper()
	p, err := nsqclient.NewProducer(tcpAddr, nsqclient.NewOptions())
	require.NoError(t, err)
	defer p.Stop()
	for _, b := range bodies {
		require.NoError(t, p.Publish(topic, []byte(b)))
	}
}

// Collector consumes a topic/channel and records every body, finishing
// each message.
type Collector struct {
	mu      sync.Mutex
	bodies  []string
	changed chan struct{}
}

// Consume starts a consumer of topic/channel on the nsqd at tcpAddr,
// stopped when the test ends.
func Consume(t testing.TB, tcpAddr, topic, channel string) *Collector {
	t.Helper()
	opts := nsqclient.NewOptions()
	opts.MaxInFlight = 100
	c, err := nsqclient.NewConsumer(topic, channel, opts)
	require.NoError(t, err)
	col := &Collector{changed: make(chan struct{})}
	c.AddHandler(nsqclient.HandlerFunc(func(m *nsqclient.Message) error {
		col.mu.Lock()
		col.bodies = append(col.bodies, string(m.Body))
		close(col.changed)
		col.changed = make(chan struct{})
		col.mu.Unlock()
		return nil
	}))
	require.NoError(t, c.ConnectToNSQD(tcpAddr))
	t.Cleanup(func() {
		c.Stop()
		select {
		case <-c.Done():
		case <-time.After(WaitTimeout):
			t.Error("consumer did not stop in time")
		}
	})
	return col
}

// Bodies is what has been received so far.
func (c *Collector) Bodies() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.bodies)
}

// WaitFor waits until n bodies have arrived and returns them.
func (c *Collector) WaitFor(t testing.TB, n int) []string {
	t.Helper()
	deadline := time.After(WaitTimeout)
	for {
		c.mu.Lock()
		got, changed := slices.Clone(c.bodies), c.changed
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("got %d of %d messages: %q", len(got), n, got)
		}
	}
}

// Eventually polls cond every 10ms until it holds, failing after
// WaitTimeout; for daemon state that has no event to wait on.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, WaitTimeout, 10*time.Millisecond, what)
}

// ClosedPort is a loopback address that refuses connections for the whole
// test (testnet.RefusedAddr: the port stays held, so no other test's daemon
// can take it meanwhile).
func ClosedPort(t testing.TB) string { return testnet.RefusedAddr(t) }

// FreePort is a loopback address free at the time of the call, for a server
// the test starts later on it (a child process, or a daemon that must come
// up after its clients): testnet.FreeAddr, below the ports the kernel hands
// the other tests' sockets where it can. A test that only needs a refusing
// address uses ClosedPort.
func FreePort(t testing.TB) string {
	t.Helper()
	return testnet.FreeAddr(t)
}
