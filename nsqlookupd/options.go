package nsqlookupd

import (
	"io"
	"os"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/version"
)

// Version is what IDENTIFY replies and /info report; nsqds and tools parse it
// as semver, so it names the upstream release we are compatible with.
const Version = version.Version

// Options holds every setting of the daemon. NewOptions gives upstream's
// defaults; apps/nsqlookupd only parses flags and the config file into it.
type Options struct {
	LogLevel  logging.Level
	LogPrefix string
	LogFormat logging.Format // text (upstream's) or json lines
	Logger    io.Writer      // where logs go; os.Stderr when nil
	// Clock is where the registry's time comes from (internal/clock):
	// producers' last PING, tombstones and the inactivity and tombstone
	// windows. The wall clock when nil; tests give a clock.Fake and advance
	// it. It has no flag.
	Clock clock.Clock

	TCPAddress       string
	HTTPAddress      string
	BroadcastAddress string // reported to nsqds in the IDENTIFY reply

	// InactiveProducerTimeout hides a producer from /lookup and /nodes when
	// it has not PINGed (or IDENTIFYed) for longer than this.
	InactiveProducerTimeout time.Duration
	// TombstoneLifetime is how long /topic/tombstone hides a producer of a
	// topic from /lookup.
	TombstoneLifetime time.Duration
}

// NewOptions returns upstream nsqlookupd 1.3's defaults.
func NewOptions() *Options {
	hostname, err := os.Hostname()
	if err != nil {
		hostname = "localhost"
	}
	return &Options{
		LogLevel:  logging.Info,
		LogPrefix: "[nsqlookupd] ",
		Logger:    os.Stderr,

		TCPAddress:       "0.0.0.0:4160",
		HTTPAddress:      "0.0.0.0:4161",
		BroadcastAddress: hostname,

		InactiveProducerTimeout: 300 * time.Second,
		TombstoneLifetime:       45 * time.Second,
	}
}
