package statsd

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/stretchr/testify/require"
)

// udpServer is a statsd on 127.0.0.1 that hands over its datagrams.
type udpServer struct{ conn *net.UDPConn }

func listenUDP(t *testing.T) *udpServer {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &udpServer{conn: conn}
}

func (s *udpServer) addr() string { return s.conn.LocalAddr().String() }

func (s *udpServer) datagram(t *testing.T) string {
	t.Helper()
	buf := make([]byte, 64<<10)
	require.NoError(t, s.conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	n, err := s.conn.Read(buf)
	require.NoError(t, err)
	return string(buf[:n])
}

func TestExpandPrefix(t *testing.T) {
	for _, tc := range []struct {
		prefix, host string
		port         int
		want         string
	}{
		{"nsq.%s", "host1", 4151, "nsq.host1_4151."},
		{"nsq.%s", "host1.example.com", 4151, "nsq.host1_example_com_4151."},
		{"nsq.%s", "::1", 4151, "nsq.[__1]_4151."},
		{"%s.nsq.", "10.0.0.1", 80, "10_0_0_1_80.nsq."},
		{"stats", "h", 1, "stats."},
		{"a.%s.b.%s", "h", 1, "a.h_1.b.h_1."},
		{"", "h", 1, ""},
	} {
		require.Equal(t, tc.want, ExpandPrefix(tc.prefix, tc.host, tc.port), "%+v", tc)
	}
}

func TestValidateRefusesUnusableSettings(t *testing.T) {
	require.NoError(t, Validate("", 0, 0), "nothing pushed, nothing checked")
	require.NoError(t, Validate("127.0.0.1:8125", time.Minute, 508))
	require.EqualError(t, Validate("127.0.0.1:8125", 0, 508), "--statsd-interval must be > 0")
	require.EqualError(t, Validate("127.0.0.1:8125", time.Minute, 0), "--statsd-udp-packet-size must be > 0")
}

func TestSpreadLeavesTimeToGatherTheNextPush(t *testing.T) {
	require.Equal(t, 59*time.Second, Spread(time.Minute))
	require.Equal(t, 25*time.Millisecond, Spread(50*time.Millisecond))
	require.Equal(t, time.Second, Spread(2*time.Second))
}

// Exit during a long spread stops the waiting but still sends the rest.
func TestSendFinishesQuicklyOnceExiting(t *testing.T) {
	server := listenUDP(t)
	exit := make(chan struct{})
	close(exit)
	conn, err := net.Dial("udp", server.addr())
	require.NoError(t, err)
	defer conn.Close()
	done := make(chan error, 1)
	go func() {
		done <- send(conn, [][]byte{[]byte("a:1|c\n"), []byte("b:2|c\n"), []byte("c:3|c\n")}, time.Hour, clock.Real(), exit)
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("send kept waiting after exit")
	}
	for _, want := range []string{"a:1|c\n", "b:2|c\n", "c:3|c\n"} {
		require.Equal(t, want, server.datagram(t))
	}
}

// awaitPending waits until count timers are armed on fake.
func awaitPending(t *testing.T, fake *clock.Fake, count int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		armed := fake.Armed()
		if fake.Pending() >= count {
			return
		}
		select {
		case <-armed:
		case <-deadline:
			t.Fatalf("%d timers armed, want %d", fake.Pending(), count)
		}
	}
}

// The pushes and the spread of their datagrams run on the clock given: a
// push starts when the interval has passed on it, and a push's second
// datagram waits for its share of the spread.
func TestRunPushesOnTheClockAndSpreadsTheDatagrams(t *testing.T) {
	server := listenUDP(t)
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	var mu sync.Mutex
	var logs []string
	snapshot := Snapshot{Topics: []Topic{{Name: "a"}, {Name: "b"}}}
	cfg := Config{
		Address: server.addr(), Interval: time.Minute, PacketSize: 110, Prefix: "p.", // one topic per datagram
		Snapshot: func() Snapshot { return snapshot },
		Logf: func(_ logging.Level, format string, _ ...any) {
			mu.Lock()
			logs = append(logs, format)
			mu.Unlock()
		},
		Clock: fake,
	}
	exit := make(chan struct{})
	armed := fake.Armed() // taken before Run can arm its ticker
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(cfg, exit)
	}()
	<-armed
	fake.Advance(time.Minute)
	first := server.datagram(t)
	require.True(t, strings.HasPrefix(first, "p.topic.a.message_count:0|c\n"), "%q", first)
	awaitPending(t, fake, 2) // the ticker and the spread's timer
	fake.Advance(Spread(time.Minute)/2 - time.Nanosecond)
	require.Equal(t, 2, fake.Pending(), "the second datagram waits for its share of the spread")
	fake.Advance(time.Nanosecond)
	second := server.datagram(t)
	require.True(t, strings.HasPrefix(second, "p.topic.b.message_count:0|c\n"), "%q", second)
	close(exit)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after exit")
	}
	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, logs, "STATSD: closing")
}
