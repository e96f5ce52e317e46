package nsqd

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"time"
)

// validateStatsdOptions refuses settings that upstream accepts but cannot
// run with: a non-positive interval panics its ticker, and a non-positive
// packet size silently becomes bufio's 4096 bytes.
func validateStatsdOptions(opts *Options) error {
	if opts.StatsdAddress == "" {
		return nil
	}
	if opts.StatsdInterval <= 0 {
		return errors.New("--statsd-interval must be > 0")
	}
	if opts.StatsdUDPPacketSize <= 0 {
		return errors.New("--statsd-udp-packet-size must be > 0")
	}
	return nil
}

// expandStatsdPrefix is upstream's start-up expansion of --statsd-prefix:
// "%s" becomes the host key, "<broadcast address>_<HTTP port>" with '.'
// and ':' turned into '_', and a trailing '.' is added if missing. An
// empty prefix stays empty.
func expandStatsdPrefix(prefix, broadcastAddress string, httpPort int) string {
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

// statsdHTTPPort is the port in the host key: --broadcast-http-port, else
// the bound HTTP port (upstream parses --http-address, which gives 0 for
// an ephemeral port), else 0 when HTTP is disabled.
func (n *NSQD) statsdHTTPPort() int {
	if n.opts.BroadcastHTTPPort != 0 {
		return n.opts.BroadcastHTTPPort
	}
	if addr := n.RealHTTPAddr(); addr != nil {
		return addr.Port
	}
	return 0
}

// statsdSpread is how long a push spreads its datagrams over, so that a
// large daemon does not burst them into a statsd's receive buffer.
// Upstream uses the interval less a second, which is negative, and
// panics, for intervals of a second or less; those spread over half.
func statsdSpread(interval time.Duration) time.Duration {
	if interval > 2*time.Second {
		return interval - time.Second
	}
	return interval / 2
}

// statsdLoop pushes the metrics every --statsd-interval until Exit. Main
// starts it (only with --statsd-address set) and Exit waits for it.
func (n *NSQD) statsdLoop() {
	ticker := time.NewTicker(n.opts.StatsdInterval)
	defer ticker.Stop()
	var last statsdCounters
	for {
		select {
		case <-n.exitCh:
			n.logf(infoLevel, "STATSD: closing")
			return
		case <-ticker.C:
			last = n.statsdPush(last)
		}
	}
}

// statsdPush sends one round of metrics and returns the counters the next
// round diffs against. As upstream, a fresh socket is dialled each time,
// so a statsd whose name moves to a new address is followed; and when it
// cannot be dialled the counters are kept, so the next push carries the
// missed growth.
func (n *NSQD) statsdPush(last statsdCounters) statsdCounters {
	addr := n.opts.StatsdAddress
	conn, err := net.DialTimeout("udp", addr, time.Second)
	if err != nil {
		n.logf(errorLevel, "STATSD: failed to create UDP socket to statsd(%s) - %s", addr, err)
		return last
	}
	defer conn.Close()
	n.logf(debugLevel, "STATSD: pushing stats to %s", addr)

	metrics := statsdMetrics{
		prefix:           n.statsdPrefix,
		excludeEphemeral: n.opts.StatsdExcludeEphemeral,
		packer:           newStatsdPacker(n.opts.StatsdUDPPacketSize),
	}
	var mem *MemStats
	if n.opts.StatsdMemStats {
		ms := readMemStats()
		mem = &ms
	}
	next := metrics.push(n.GetStats("", "", false), mem, last)
	packets := metrics.packer.finish()
	if dropped := metrics.packer.dropped; dropped > 0 {
		n.logf(warnLevel, "STATSD: dropped %d metric(s) longer than --statsd-udp-packet-size=%d",
			dropped, n.opts.StatsdUDPPacketSize)
	}
	if err := n.statsdSend(conn, packets, statsdSpread(n.opts.StatsdInterval)); err != nil {
		n.logf(warnLevel, "STATSD: sending to %s - %s", addr, err)
	}
	return next
}

// statsdSend writes the datagrams evenly over spread. Once the daemon is
// exiting it stops waiting but still sends the rest, as upstream does, so
// that the last push is not cut short. The first write error is returned
// (a refused datagram fails the next write on a connected socket).
func (n *NSQD) statsdSend(conn net.Conn, packets [][]byte, spread time.Duration) error {
	var firstErr error
	if len(packets) == 0 {
		return nil
	}
	step := spread / time.Duration(len(packets))
	var timer *time.Timer
	waiting := step > 0
	for i, p := range packets {
		if _, err := conn.Write(p); err != nil && firstErr == nil {
			firstErr = err
		}
		if !waiting || i == len(packets)-1 {
			continue
		}
		if timer == nil {
			timer = time.NewTimer(step)
			defer timer.Stop()
		} else {
			timer.Reset(step)
		}
		select {
		case <-timer.C:
		case <-n.exitCh:
			waiting = false
		}
	}
	return firstErr
}
