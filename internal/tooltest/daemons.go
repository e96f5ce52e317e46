package tooltest

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/nsqd"
	"github.com/nsqgo/nsq/nsqlookupd"
)

// testLog sends a daemon's log to the test's log.
type testLog struct{ t testing.TB }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// NSQD is an in-process nsqd on loopback ports.
type NSQD struct{ *nsqd.NSQD }

// StartNSQD runs an nsqd on 127.0.0.1 with fresh ports and data dir,
// registered with the given lookupd TCP addresses, stopped when the test
// ends.
func StartNSQD(t testing.TB, lookupdTCP ...string) NSQD {
	t.Helper()
	opts := nsqd.NewOptions()
	opts.TCPAddress = "127.0.0.1:0"
	opts.HTTPAddress = "127.0.0.1:0"
	opts.BroadcastAddress = "127.0.0.1"
	opts.DataPath = t.TempDir()
	opts.Logger = testLog{t}
	opts.LogLevel = logging.Warn
	opts.NSQLookupdTCPAddresses = slices.Clone(lookupdTCP)
	n, err := nsqd.New(opts)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- n.Main() }()
	t.Cleanup(func() {
		n.Exit()
		select {
		case <-done:
		case <-time.After(WaitTimeout):
			t.Error("nsqd did not stop in time")
		}
	})
	return NSQD{n}
}

// TCPAddr is the nsqd's TCP address.
func (n NSQD) TCPAddr() string { return n.RealTCPAddr().String() }

// HTTPAddr is the nsqd's HTTP address.
func (n NSQD) HTTPAddr() string { return n.RealHTTPAddr().String() }

// Channel returns the nsqd's stats of topic/channel, or false when the
// channel does not exist.
func (n NSQD) Channel(topic, channel string) (nsqd.ChannelStats, bool) {
	stats := n.GetStats(topic, channel, true)
	if len(stats.Topics) == 0 || len(stats.Topics[0].Channels) == 0 {
		return nsqd.ChannelStats{}, false
	}
	return stats.Topics[0].Channels[0], true
}

// Lookupd is an in-process nsqlookupd on loopback ports.
type Lookupd struct{ *nsqlookupd.NSQLookupd }

// StartLookupd runs an nsqlookupd on 127.0.0.1, stopped when the test ends.
func StartLookupd(t testing.TB) Lookupd {
	t.Helper()
	opts := nsqlookupd.NewOptions()
	opts.TCPAddress = "127.0.0.1:0"
	opts.HTTPAddress = "127.0.0.1:0"
	opts.BroadcastAddress = "127.0.0.1"
	opts.Logger = testLog{t}
	opts.LogLevel = logging.Warn
	l, err := nsqlookupd.New(opts)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- l.Main() }()
	t.Cleanup(func() {
		l.Exit()
		select {
		case <-done:
		case <-time.After(WaitTimeout):
			t.Error("nsqlookupd did not stop in time")
		}
	})
	return Lookupd{l}
}

// TCPAddr is where nsqds register.
func (l Lookupd) TCPAddr() string { return l.RealTCPAddr().String() }

// HTTPAddr is where consumers look topics up.
func (l Lookupd) HTTPAddr() string { return l.RealHTTPAddr().String() }
