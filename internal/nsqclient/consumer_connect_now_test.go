package nsqclient

import (
	"github.com/nsqgo/nsq/internal/testnet"
	"testing"

	"github.com/stretchr/testify/require"
)

// closedAddr is a loopback address that refuses connections for the whole
// test (a port merely closed again could be taken by another test's daemon).
func closedAddr(t *testing.T) string { return testnet.RefusedAddr(t) }

func TestConnectToNSQDNowReturnsTheDialFailureAndDoesNotRetry(t *testing.T) {
	addr := closedAddr(t)
	c := newTestConsumer(t, "t", "c", testOptions(t))
	c.AddHandler(newCollector())
	err := c.ConnectToNSQDNow(addr)
	require.Error(t, err)
	require.Regexp(t, `^dial tcp `+addr+`: connect: connection refused$`, err.Error(), "the address is named once")
	c.mu.Lock()
	defer c.mu.Unlock()
	require.Empty(t, c.targets, "the failed address is not retried")
}

func TestConnectToNSQDNowReportsTheFailureAmongLiveNSQDs(t *testing.T) {
	n := startNSQD(t, "127.0.0.1:0", nil, nil)
	c := newTestConsumer(t, "t", "c", testOptions(t))
	c.AddHandler(newCollector())
	require.ErrorContains(t, c.ConnectToNSQDNow(n.TCPAddr(), closedAddr(t)), "connection refused")
	require.ErrorIs(t, c.ConnectToNSQDNow("127.0.0.1:1", "127.0.0.1:1"), ErrAlreadyConnected)
}

func TestConnectToNSQDNowReturnsOnceSubscribed(t *testing.T) {
	n := startNSQD(t, "127.0.0.1:0", nil, nil)
	p := newTestProducer(t, n.TCPAddr(), testOptions(t))
	require.NoError(t, p.Publish("now", []byte("hello")))
	c := newTestConsumer(t, "now", "ch", testOptions(t))
	got := newCollector()
	c.AddHandler(got)
	require.NoError(t, c.ConnectToNSQDNow(n.TCPAddr()))
	ch, ok := n.Channel("now", "ch")
	require.True(t, ok, "subscribed before it returned")
	require.Len(t, ch.Clients, 1)
	require.Equal(t, []string{"hello"}, got.waitFor(t, 1))
}
