package nsqclient

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/lookupdhttp"
	"github.com/nsqgo/nsq/internal/tooltest/daemons"
	"github.com/nsqgo/nsq/nsqd"
)

// waitTimeout bounds every single wait in these tests.
const waitTimeout = 10 * time.Second

// testNSQD is an in-process nsqd that a test can stop early (Stop) and
// restart on the same addresses.
type testNSQD struct{ *daemons.NSQD }

// startNSQD runs an nsqd on loopback (tcpAddr "127.0.0.1:0" for a new
// port), registered with the given lookupds, and stops it at the end.
func startNSQD(t testing.TB, tcpAddr string, lookupds []string, configure func(*nsqd.Options)) *testNSQD {
	t.Helper()
	return &testNSQD{daemons.StartNSQD(t, lookupds, func(o *nsqd.Options) {
		o.TCPAddress = tcpAddr
		if configure != nil {
			configure(o)
		}
	})}
}

// readyCounts is the RDY nsqd has for each subscriber of topic/channel.
func (n *testNSQD) readyCounts(topic, channel string) []int64 {
	ch, ok := n.Channel(topic, channel)
	if !ok {
		return nil
	}
	var out []int64
	for _, c := range ch.Clients {
		out = append(out, c.ReadyCount)
	}
	return out
}

type testLookupd struct{ *daemons.Lookupd }

func startLookupd(t testing.TB) *testLookupd {
	t.Helper()
	return &testLookupd{daemons.StartLookupd(t, nil)}
}

// tombstone hides nsqd n from /lookup?topic= for the lookupd's tombstone
// lifetime, while n keeps running.
func (l *testLookupd) tombstone(t testing.TB, topic string, n *testNSQD) {
	node := fmt.Sprintf("127.0.0.1:%d", n.RealHTTPAddr().Port)
	resp, err := http.Post("http://"+l.HTTPAddr()+"/topic/tombstone?topic="+url.QueryEscape(topic)+"&node="+url.QueryEscape(node), "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// awaitProducers waits until the lookupd lists n producers of topic (nsqd
// registers a new topic with its lookupds in the background), so that a
// consumer's first query finds them all.
func (l *testLookupd) awaitProducers(t testing.TB, topic string, n int) {
	t.Helper()
	client := lookupdhttp.New(lookupdhttp.Options{})
	defer client.Close()
	eventually(t, fmt.Sprintf("%d producers of %s at the lookupd", n, topic), func() bool {
		nodes, err := client.Producers(context.Background(), l.HTTPAddr(), topic)
		return err == nil && len(nodes) == n
	})
}

// testOptions are client options with short timings for tests.
func testOptions(t testing.TB) *Options {
	o := NewOptions()
	o.Logger = logging.New(daemons.LogWriter(t), "[client] ", logging.Info)
	o.LookupdPollInterval = 50 * time.Millisecond
	o.DefaultRequeueDelay = 0
	o.BackoffMultiplier = 10 * time.Millisecond
	o.StopTimeout = 5 * time.Second
	return o
}

// newTestConsumer makes a consumer that is stopped, and waited for, when
// the test ends.
func newTestConsumer(t testing.TB, topic, channel string, opts *Options) *Consumer {
	t.Helper()
	c, err := NewConsumer(topic, channel, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		c.Stop()
		select {
		case <-c.Done():
		case <-time.After(waitTimeout):
			t.Error("consumer did not stop in time")
		}
	})
	return c
}

func newTestProducer(t testing.TB, addr string, opts *Options) *Producer {
	t.Helper()
	p, err := NewProducer(addr, opts)
	require.NoError(t, err)
	t.Cleanup(p.Stop)
	return p
}

// collector is a handler that records every body it is given.
type collector struct {
	mu     sync.Mutex
	bodies []string
	msgs   []*Message
	signal chan struct{}
}

func newCollector() *collector { return &collector{signal: make(chan struct{}, 1)} }

func (c *collector) HandleMessage(m *Message) error {
	c.mu.Lock()
	c.bodies = append(c.bodies, string(m.Body))
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
	select {
	case c.signal <- struct{}{}:
	default:
	}
	return nil
}

func (c *collector) snapshot() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.bodies)
}

// waitFor waits until the collector holds n bodies and returns them.
func (c *collector) waitFor(t testing.TB, n int) []string {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		if got := c.snapshot(); len(got) >= n {
			return got
		}
		select {
		case <-c.signal:
		case <-deadline:
			t.Fatalf("got %d of %d messages: %v", len(c.snapshot()), n, c.snapshot())
		}
	}
}

// eventually polls cond every 10ms until it holds or the wait times out.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, waitTimeout, 10*time.Millisecond, what)
}

func bodies(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "%s-%03d", prefix, i)
	}
	return out
}

func strs(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}
