package statsd

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/logging"
)

// Validate refuses settings that upstream accepts but cannot run with: a
// non-positive interval panics its ticker, and a non-positive packet size
// silently becomes bufio's 4096 bytes. Without an address nothing is
// pushed and nothing is checked.
func Validate(address string, interval time.Duration, packetSize int) error {
	if address == "" {
		return nil
	}
	if interval <= 0 {
		return errors.New("--statsd-interval must be > 0")
	}
	if packetSize <= 0 {
		return errors.New("--statsd-udp-packet-size must be > 0")
	}
	return nil
}

// ExpandPrefix is upstream's start-up expansion of --statsd-prefix: "%s"
// becomes the host key, "<broadcast address>_<HTTP port>" with '.' and ':'
// turned into '_', and a trailing '.' is added if missing. An empty
// prefix stays empty.
func ExpandPrefix(prefix, broadcastAddress string, httpPort int) string {
	if prefix == "" {
		return ""
	}
	hostKey := net.JoinHostPort(broadcastAddress, strconv.Itoa(httpPort))
	hostKey = strings.NewReplacer(".", "_", ":", "_").Replace(hostKey)
	prefix = strings.ReplaceAll(prefix, "%s", hostKey)
	if !strings.HasSuffix(prefix, ".") {
		prefix += "."
	}
	return prefix
}

// Spread is how long a push spreads its datagrams over, so that a large
// daemon does not burst them into a statsd's receive buffer. Upstream
// uses the interval less a second, which is negative, and panics, for
// intervals of a second or less; those spread over half.
func Spread(interval time.Duration) time.Duration {
	if interval > 2*time.Second {
		return interval - time.Second
	}
	return interval / 2
}

// Config is one daemon's statsd pusher.
type Config struct {
	Address          string        // --statsd-address, host:port
	Interval         time.Duration // --statsd-interval
	PacketSize       int           // --statsd-udp-packet-size
	Prefix           string        // --statsd-prefix, expanded (ExpandPrefix)
	ExcludeEphemeral bool          // --statsd-exclude-ephemeral
	// Snapshot reads the figures of one push.
	Snapshot func() Snapshot
	Logf     func(level logging.Level, format string, args ...any)
	// Clock paces the pushes and the spread of their datagrams.
	Clock clock.Clock
}

// Run pushes the metrics every Interval until exit is closed. The caller
// owns the goroutine and waits for Run to return.
func Run(cfg Config, exit <-chan struct{}) {
	ticker := cfg.Clock.NewTicker(cfg.Interval)
	defer ticker.Stop()
	var last Counters
	for {
		select {
		case <-exit:
			cfg.Logf(logging.Info, "STATSD: closing")
			return
		case <-ticker.C():
			last = push(cfg, last, exit)
		}
	}
}

// push sends one round of metrics and returns the counters the next round
// diffs against. As upstream, a fresh socket is dialled each time, so a
// statsd whose name moves to a new address is followed; and when it
// cannot be dialled the counters are kept, so the next push carries the
// missed growth.
func push(cfg Config, last Counters, exit <-chan struct{}) Counters {
	conn, err := net.DialTimeout("udp", cfg.Address, time.Second)
	if err != nil {
		cfg.Logf(logging.Error, "STATSD: failed to create UDP socket to statsd(%s) - %s", cfg.Address, err)
		return last
	}
	defer conn.Close()
	cfg.Logf(logging.Debug, "STATSD: pushing stats to %s", cfg.Address)

	packets, dropped, next := Render(cfg.Snapshot(), cfg.Prefix, cfg.ExcludeEphemeral, cfg.PacketSize, last)
	if dropped > 0 {
		cfg.Logf(logging.Warn, "STATSD: dropped %d metric(s) longer than --statsd-udp-packet-size=%d",
			dropped, cfg.PacketSize)
	}
	if err := send(conn, packets, Spread(cfg.Interval), cfg.Clock, exit); err != nil {
		cfg.Logf(logging.Warn, "STATSD: sending to %s - %s", cfg.Address, err)
	}
	return next
}

// send writes the datagrams evenly over spread. Once exit is closed it
// stops waiting but still sends the rest, as upstream does, so that the
// last push is not cut short. The first write error is returned (a
// refused datagram fails the next write on a connected socket).
func send(conn net.Conn, packets [][]byte, spread time.Duration, clk clock.Clock, exit <-chan struct{}) error {
	var firstErr error
	if len(packets) == 0 {
		return nil
	}
	step := spread / time.Duration(len(packets))
	var timer clock.Timer
	waiting := step > 0
	for i, p := range packets {
		if _, err := conn.Write(p); err != nil && firstErr == nil {
			firstErr = err
		}
		if !waiting || i == len(packets)-1 {
			continue
		}
		if timer == nil {
			timer = clk.NewTimer(step)
			defer timer.Stop()
		} else {
			timer.Reset(step)
		}
		select {
		case <-timer.C():
		case <-exit:
			waiting = false
		}
	}
	return firstErr
}
