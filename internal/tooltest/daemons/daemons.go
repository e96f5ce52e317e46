package daemons

import (
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/nsqd"
	"github.com/nsqgo/nsq/nsqlookupd"
)

// StopTimeout bounds the wait for a daemon to stop.
const StopTimeout = 10 * time.Second

// LogWriter returns a writer that sends each write to t's log, as the
// daemons here log.
func LogWriter(t testing.TB) io.Writer { return testLog{t} }

type testLog struct{ t testing.TB }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// daemon is what NSQD and Lookupd share: Main running in a goroutine, and
// a Stop that runs Exit once and waits for Main's result.
type daemon struct {
	t    testing.TB
	name string
	exit func()
	done chan error
	once sync.Once
}

func (d *daemon) run(main func() error) {
	d.done = make(chan error, 1)
	go func() { d.done <- main() }()
	d.t.Cleanup(d.Stop)
}

// Stop exits the daemon and waits for it to return without an error. It
// runs when the test ends; a test may call it earlier, and then again.
func (d *daemon) Stop() {
	d.once.Do(func() {
		d.exit()
		select {
		case err := <-d.done:
			require.NoError(d.t, err)
		case <-time.After(StopTimeout):
			d.t.Errorf("%s did not stop in time", d.name)
		}
	})
}

// NSQD is an in-process nsqd.
type NSQD struct {
	*nsqd.NSQD
	daemon
}

// StartNSQD runs an nsqd on 127.0.0.1 with fresh ports and data dir,
// registered with the given lookupd TCP addresses and logging warnings to
// the test's log; configure, unless nil, changes those options first. The
// nsqd is stopped when the test ends.
func StartNSQD(t testing.TB, lookupdTCP []string, configure func(*nsqd.Options)) *NSQD {
	t.Helper()
	opts := nsqd.NewOptions()
	opts.TCPAddress = "127.0.0.1:0"
	opts.HTTPAddress = "127.0.0.1:0"
	// Served only when a test configures TLS, and then on a free port too:
	// the default 0.0.0.0:4152 is taken by whichever test got there first.
	opts.HTTPSAddress = "127.0.0.1:0"
	opts.BroadcastAddress = "127.0.0.1"
	opts.DataPath = t.TempDir()
	opts.Logger = testLog{t}
	opts.LogLevel = logging.Warn
	opts.NSQLookupdTCPAddresses = slices.Clone(lookupdTCP)
	if configure != nil {
		configure(opts)
	}
	n, err := nsqd.New(opts)
	require.NoError(t, err)
	d := &NSQD{NSQD: n, daemon: daemon{t: t, name: "nsqd", exit: n.Exit}}
	d.run(n.Main)
	return d
}

// TCPAddr is the nsqd's TCP address.
func (n *NSQD) TCPAddr() string { return n.RealTCPAddr().String() }

// HTTPAddr is the nsqd's HTTP address.
func (n *NSQD) HTTPAddr() string { return n.RealHTTPAddr().String() }

// Channel returns the nsqd's stats of topic/channel, or false when the
// channel does not exist (yet).
func (n *NSQD) Channel(topic, channel string) (nsqd.ChannelStats, bool) {
	stats := n.GetStats(topic, channel, true)
	if len(stats.Topics) == 0 || len(stats.Topics[0].Channels) == 0 {
		return nsqd.ChannelStats{}, false
	}
	return stats.Topics[0].Channels[0], true
}

// Lookupd is an in-process nsqlookupd.
type Lookupd struct {
	*nsqlookupd.NSQLookupd
	daemon
}

// StartLookupd runs an nsqlookupd on 127.0.0.1 with fresh ports, logging
// warnings to the test's log; configure, unless nil, changes those
// options first. The nsqlookupd is stopped when the test ends.
func StartLookupd(t testing.TB, configure func(*nsqlookupd.Options)) *Lookupd {
	t.Helper()
	opts := nsqlookupd.NewOptions()
	opts.TCPAddress = "127.0.0.1:0"
	opts.HTTPAddress = "127.0.0.1:0"
	opts.BroadcastAddress = "127.0.0.1"
	opts.Logger = testLog{t}
	opts.LogLevel = logging.Warn
	if configure != nil {
		configure(opts)
	}
	l, err := nsqlookupd.New(opts)
	require.NoError(t, err)
	d := &Lookupd{NSQLookupd: l, daemon: daemon{t: t, name: "nsqlookupd", exit: l.Exit}}
	d.run(l.Main)
	return d
}

// TCPAddr is where nsqds register.
func (l *Lookupd) TCPAddr() string { return l.RealTCPAddr().String() }

// HTTPAddr is where consumers look topics up.
func (l *Lookupd) HTTPAddr() string { return l.RealHTTPAddr().String() }
