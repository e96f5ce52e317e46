package nsqd

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/stretchr/testify/require"
)

// statsdServer is a UDP listener standing in for statsd.
type statsdServer struct {
	t    *testing.T
	conn net.PacketConn
}

func listenStatsd(t *testing.T) *statsdServer {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &statsdServer{t: t, conn: conn}
}

func (s *statsdServer) addr() string { return s.conn.LocalAddr().String() }

// datagram reads the next datagram, failing the test after 10s.
func (s *statsdServer) datagram() []byte {
	s.t.Helper()
	buf := make([]byte, 64<<10)
	require.NoError(s.t, s.conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	size, _, err := s.conn.ReadFrom(buf)
	require.NoError(s.t, err, "no statsd datagram within 10s")
	return buf[:size]
}

// readLines hands every received line (without its newline) to each until
// it returns true, failing the test after 30s: pushes keep coming, so the
// per-datagram deadline alone would let a line that never arrives keep
// the test reading until the binary's timeout.
func (s *statsdServer) readLines(each func(line string) bool) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if time.Now().After(deadline) {
			s.t.Fatal("the awaited statsd lines did not arrive within 30s")
		}
		packet := string(s.datagram())
		require.True(s.t, strings.HasSuffix(packet, "\n"), "datagram %q ends mid-line", packet)
		for _, line := range strings.Split(strings.TrimSuffix(packet, "\n"), "\n") {
			if each(line) {
				return
			}
		}
	}
}

// startStatsdDaemon runs a daemon pushing to server every 50ms.
func startStatsdDaemon(t *testing.T, server *statsdServer, configure func(*Options)) *NSQD {
	return startDaemon(t, func(o *Options) {
		o.StatsdAddress = server.addr()
		o.StatsdInterval = 50 * time.Millisecond
		o.StatsdMemStats = false
		if configure != nil {
			configure(o)
		}
	})
}

// startFakeClockStatsdDaemon runs a daemon pushing to server every interval
// of a fake clock, which starts at start; each push is one datagram (a
// packet size large enough for them all).
func startFakeClockStatsdDaemon(t *testing.T, server *statsdServer, interval time.Duration) (n *NSQD, fake *clock.Fake, start time.Time) {
	fake = clock.NewFake(time.Now())
	start = fake.Now()
	n = startStatsdDaemon(t, server, func(o *Options) {
		o.Clock = fake
		o.StatsdInterval = interval
		o.StatsdUDPPacketSize = 60000
	})
	return n, fake, start
}

// A counter is sent as its growth since the previous push: after N
// publishes the next push sends exactly N, the following one 0, and M
// more publishes make the next push send exactly M.
//
// The pushes run on a fake clock, one datagram each (a packet size large
// enough for them all), read before the clock moves on: on the real clock
// at a 50ms interval, a stall of the test let the pushes overflow the
// socket's receive buffer, and a dropped datagram with a nonzero delta
// left a sum that never reached its total, so the test read pushes until
// the binary's timeout. Here a push that never comes fails the read after
// 10s.
func TestStatsdCountersArriveAsDeltasOverUDP(t *testing.T) {
	const interval = 10 * time.Second
	server := listenStatsd(t)
	n, fake, start := startFakeClockStatsdDaemon(t, server, interval)
	name := n.statsdPrefix + "topic.t.message_count:"
	pushes := 0
	// nextPush moves the clock to the next push and returns the topic's
	// message_count in it.
	nextPush := func() int64 {
		t.Helper()
		pushes++
		due := start.Add(time.Duration(pushes) * interval)
		awaitArmedAt(t, fake, due)
		fake.AdvanceTo(due)
		packet := string(server.datagram())
		for _, line := range strings.Split(strings.TrimSuffix(packet, "\n"), "\n") {
			value, ok := strings.CutPrefix(line, name)
			if !ok {
				continue
			}
			require.True(t, strings.HasSuffix(value, "|c"), "a counter: %s", line)
			v, err := strconv.ParseInt(strings.TrimSuffix(value, "|c"), 10, 64)
			require.NoError(t, err, line)
			return v
		}
		t.Fatalf("push %d has no %s line: %q", pushes, name, packet)
		return 0
	}
	publish(t, n, "t", numbered("m", 5)...)
	require.EqualValues(t, 5, nextPush(), "the first push after 5 publishes")
	require.EqualValues(t, 0, nextPush(), "a push without publishes")
	publish(t, n, "t", numbered("n", 3)...)
	require.EqualValues(t, 3, nextPush(), "the push after 3 more publishes")
	require.EqualValues(t, 0, nextPush(), "a push without publishes")
}

// The pushes follow --statsd-interval, on the daemon's clock: its ticker
// is armed for every interval, and each tick sends one push (one datagram
// here, large enough for them all, so no spreading timer runs between
// datagrams), which ends with the last channel's clients gauge.
func TestStatsdPushesEveryStatsdInterval(t *testing.T) {
	const interval = 10 * time.Second
	server := listenStatsd(t)
	n, fake, start := startFakeClockStatsdDaemon(t, server, interval)
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	_, err = topic.GetChannel("c")
	require.NoError(t, err)
	last := n.statsdPrefix + "topic.t.channel.c.clients:"
	for i := 1; i <= 3; i++ {
		due := start.Add(time.Duration(i) * interval)
		awaitArmedAt(t, fake, due)
		fake.AdvanceTo(due)
		lines := strings.Split(strings.TrimSuffix(string(server.datagram()), "\n"), "\n")
		require.True(t, strings.HasPrefix(lines[len(lines)-1], last), "push %d is one datagram: %q", i, lines)
	}
}

var statsdLine = regexp.MustCompile(`^([^:]+):(-?\d+)\|([cg])$`)

// Every datagram fits --statsd-udp-packet-size, holds whole lines, and
// the lines carry upstream's names and types with the expanded prefix.
func TestStatsdDatagramsFitThePacketSizeAndCarryUpstreamMetrics(t *testing.T) {
	const size = 120
	server := listenStatsd(t)
	n := startStatsdDaemon(t, server, func(o *Options) { o.StatsdUDPPacketSize = size })
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	_, err = topic.GetChannel("c")
	require.NoError(t, err)
	for i := range 10 {
		_, err := n.GetTopic(fmt.Sprintf("other%d", i))
		require.NoError(t, err)
	}
	prefix := fmt.Sprintf("nsq.127_0_0_1_%d.", n.RealHTTPAddr().Port)
	want := map[string]string{
		"topic.t.message_count": "c", "topic.t.message_bytes": "c",
		"topic.t.depth": "g", "topic.t.backend_depth": "g",
		"topic.t.channel.c.message_count": "c", "topic.t.channel.c.requeue_count": "c",
		"topic.t.channel.c.timeout_count": "c", "topic.t.channel.c.depth": "g",
		"topic.t.channel.c.backend_depth": "g", "topic.t.channel.c.in_flight_count": "g",
		"topic.t.channel.c.deferred_count": "g", "topic.t.channel.c.clients": "g",
	}
	seen := map[string]string{}
	datagrams := 0
	for len(seen) < len(want) || datagrams < 20 {
		packet := string(server.datagram())
		datagrams++
		require.LessOrEqual(t, len(packet), size, "datagram %q", packet)
		require.True(t, strings.HasSuffix(packet, "\n"), "datagram %q ends mid-line", packet)
		for _, line := range strings.Split(strings.TrimSuffix(packet, "\n"), "\n") {
			m := statsdLine.FindStringSubmatch(line)
			require.NotNil(t, m, "line %q", line)
			name, ok := strings.CutPrefix(m[1], prefix)
			require.True(t, ok, "line %q lacks prefix %q", line, prefix)
			if _, wanted := want[name]; wanted {
				seen[name] = m[3]
			}
		}
	}
	require.Equal(t, want, seen)
}

func TestStatsdMemStatsAreSentWhenEnabled(t *testing.T) {
	server := listenStatsd(t)
	n := startStatsdDaemon(t, server, func(o *Options) { o.StatsdMemStats = true })
	prefix := n.statsdPrefix
	heapLine := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `mem\.heap_objects:\d+\|g$`)
	runsLine := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `mem\.gc_runs:\d+\|c$`)
	var heap, runs bool
	server.readLines(func(line string) bool {
		heap = heap || heapLine.MatchString(line)
		runs = runs || runsLine.MatchString(line)
		return heap && runs
	})
}

// With mem stats off, several whole pushes (each ends with the last
// channel's clients gauge) carry no mem.* line.
func TestStatsdMemStatsAreNotSentWhenDisabled(t *testing.T) {
	server := listenStatsd(t)
	n := startStatsdDaemon(t, server, nil)
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	_, err = topic.GetChannel("c")
	require.NoError(t, err)
	pushes := 0
	server.readLines(func(line string) bool {
		require.NotContains(t, line, ".mem.")
		if strings.HasPrefix(line, n.statsdPrefix+"topic.t.channel.c.clients:") {
			pushes++
		}
		return pushes >= 3
	})
}

func TestStatsdExcludeEphemeralOverUDP(t *testing.T) {
	server := listenStatsd(t)
	n := startStatsdDaemon(t, server, func(o *Options) { o.StatsdExcludeEphemeral = true })
	for _, tc := range []struct{ topic, channel string }{{"e#ephemeral", "c"}, {"t", "c#ephemeral"}, {"t", "z"}} {
		topic, err := n.GetTopic(tc.topic)
		require.NoError(t, err)
		_, err = topic.GetChannel(tc.channel)
		require.NoError(t, err)
	}
	pushes := 0
	server.readLines(func(line string) bool {
		require.NotContains(t, line, "#ephemeral")
		if strings.HasPrefix(line, n.statsdPrefix+"topic.t.channel.z.clients:") {
			pushes++
		}
		return pushes >= 2
	})
}

// logLines forwards each log line to a channel, so a test can await one.
type logLines chan string

func (l logLines) Write(p []byte) (int, error) {
	select {
	case l <- string(p):
	default: // a test that stopped reading must not block the daemon
	}
	return len(p), nil
}

// No statsd listening: the refused datagrams are logged and the loop goes
// on pushing (a second failure is logged later), and Exit still stops it
// (startDaemon's cleanup bounds that).
func TestStatsdWithNobodyListeningLogsAndKeepsPushing(t *testing.T) {
	server := listenStatsd(t)
	addr := server.addr()
	server.conn.Close()
	logs := make(logLines, 1000)
	startDaemon(t, func(o *Options) {
		o.Logger = logs
		o.StatsdAddress = addr
		o.StatsdInterval = 20 * time.Millisecond
		o.StatsdUDPPacketSize = 100 // several datagrams per push, so a later one is refused
	})
	failures := 0
	timeout := time.After(10 * time.Second)
	for failures < 2 {
		select {
		case line := <-logs:
			if strings.Contains(line, "STATSD: sending to "+addr) {
				failures++
			}
		case <-timeout:
			t.Fatalf("%d send failures logged within 10s, want 2", failures)
		}
	}
}

func TestStatsdConfigValues(t *testing.T) {
	n := startDaemon(t, func(o *Options) {
		o.BroadcastAddress = "host1.example"
		o.BroadcastHTTPPort = 4151
		o.StatsdAddress = "127.0.0.1:1"
		o.StatsdInterval = time.Hour
		o.StatsdUDPPacketSize = 1400
		o.StatsdExcludeEphemeral = true
	})
	for _, tc := range []struct{ opt, body string }{
		{"statsd_prefix", "nsq.host1_example_4151."},
		{"statsd_address", "127.0.0.1:1"},
		{"statsd_interval", "3600000000000"},
		{"statsd_mem_stats", "true"},
		{"statsd_udp_packet_size", "1400"},
		{"statsd_exclude_ephemeral", "true"},
	} {
		status, body := httpGet(t, n, "/config/"+tc.opt)
		requireOK(t, tc.body, status, body)
	}
}

// Without --broadcast-http-port the host key uses the bound HTTP port,
// so an ephemeral port (0) is expanded to the real one.
func TestStatsdPrefixUsesTheBoundHTTPPort(t *testing.T) {
	n := startDaemon(t, nil)
	status, body := httpGet(t, n, "/config/statsd_prefix")
	requireOK(t, fmt.Sprintf("nsq.127_0_0_1_%d.", n.RealHTTPAddr().Port), status, body)
}

func TestNewRejectsUnusableStatsdSettings(t *testing.T) {
	for _, tc := range []struct {
		configure func(*Options)
		err       string
	}{
		{func(o *Options) { o.StatsdInterval = 0 }, "--statsd-interval must be > 0"},
		{func(o *Options) { o.StatsdUDPPacketSize = 0 }, "--statsd-udp-packet-size must be > 0"},
	} {
		opts := NewOptions()
		opts.TCPAddress, opts.HTTPAddress = "127.0.0.1:0", "127.0.0.1:0"
		opts.DataPath = t.TempDir()
		opts.StatsdAddress = "127.0.0.1:1"
		tc.configure(opts)
		_, err := New(opts)
		require.EqualError(t, err, tc.err)
	}
}
