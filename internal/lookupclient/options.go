package lookupclient

import (
	"time"

	"github.com/nsqgo/nsq/internal/clock"
)

// Identity is what nsqd tells each lookupd in IDENTIFY.
type Identity struct {
	BroadcastAddress string
	Hostname         string
	Version          string
	TCPPort          int
	HTTPPort         int
	TopologyZone     string // nsqd's --topology-zone (upstream master)
	TopologyRegion   string
}

// Options configures a Client. Zero durations and sizes take the defaults
// noted, which are upstream nsqd's.
type Options struct {
	Addresses []string // lookupd TCP addresses
	Identity  Identity

	PingInterval   time.Duration // default 15s
	DialTimeout    time.Duration // default 1s
	CommandTimeout time.Duration // per write and per reply wait; default 1s

	// Clock drives the PING interval and the reconnect backoff (nsqd
	// passes its own, so a test can advance them); nil is the wall clock.
	// Dial and per-command timeouts bound network I/O and stay on the
	// wall clock: the write deadline is the socket's own, and a reply
	// wait on a fake clock would time out whenever a test advanced past
	// a PING or a backoff while the lookupd's "OK" was still in flight.
	Clock clock.Clock

	HTTPClientConnectTimeout time.Duration // default 2s
	HTTPClientTimeout        time.Duration // whole /channels request; default 5s

	// MaxResponseSize bounds a lookupd reply (TCP and HTTP); nsqd passes
	// its --max-body-size. Default 5 MiB.
	MaxResponseSize int64

	Logf func(format string, args ...any) // nil discards
	// Warnf logs failures to reach or query a lookupd, which are retried;
	// nil uses Logf.
	Warnf func(format string, args ...any)
}

// MinReconnectBackoff is how long a peer waits, on Options.Clock, before
// reconnecting after a session that got through its registration (a
// lookupd restart, say); each failed attempt after that doubles the wait,
// up to maxBackoff. Exported so that a test which restarts a lookupd can
// advance its fake clock by exactly this much.
const MinReconnectBackoff = 100 * time.Millisecond

// maxBackoff: at most one attempt per PING interval while a lookupd stays
// down.
const maxBackoff = 15 * time.Second

func (o Options) withDefaults() Options {
	if o.PingInterval <= 0 {
		o.PingInterval = 15 * time.Second
	}
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = time.Second
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = time.Second
	}
	if o.HTTPClientConnectTimeout <= 0 {
		o.HTTPClientConnectTimeout = 2 * time.Second
	}
	if o.HTTPClientTimeout <= 0 {
		o.HTTPClientTimeout = 5 * time.Second
	}
	if o.MaxResponseSize <= 0 {
		o.MaxResponseSize = 5 * 1024 * 1024
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Warnf == nil {
		o.Warnf = o.Logf
	}
	return o
}
