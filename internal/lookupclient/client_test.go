package lookupclient

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/testnet"
	"github.com/stretchr/testify/require"
)

const identifyLine = `IDENTIFY {"broadcast_address":"127.0.0.1","hostname":"nsqd-host","http_port":4151,"tcp_port":4150,"version":"1.3.0"}`

func TestWireSequenceMatchesUpstreamNsqd(t *testing.T) {
	// The first IDENTIFY is answered only once the registrations below are
	// made, so they are all part of the initial registration.
	ready := make(chan struct{})
	var once sync.Once
	f := startFake(t, func(line string) string {
		if strings.HasPrefix(line, "IDENTIFY") {
			once.Do(func() { <-ready })
		}
		return ""
	})
	clk := clock.NewFake(time.Now())
	c := newTestClient(t, Options{Addresses: []string{f.addr()}, Clock: clk})
	// Known before connecting: sent as the initial registration, channels
	// instead of their topic, topics without channels on their own.
	c.Register("a", "")
	c.Register("a", "ca")
	c.Register("b", "")
	c.Register("e#ephemeral", "")
	c.Register("e#ephemeral", "x#ephemeral")
	close(ready)
	f.expect("CONNECT", identifyLine)
	f.expect("REGISTER a ca", "REGISTER b", "REGISTER e#ephemeral x#ephemeral")
	// Every later change is forwarded as it happens.
	c.Register("z", "")
	c.Register("z", "z1")
	c.Register("z", "z2")
	c.Unregister("a", "ca")
	c.Unregister("z", "")
	f.expect("REGISTER z", "REGISTER z z1", "REGISTER z z2", "UNREGISTER a ca",
		"UNREGISTER z", "UNREGISTER z z1", "UNREGISTER z z2")
	// The channels of an unregistered topic are forgotten with it, so the
	// per-channel unregistrations nsqd may also make are not repeated.
	c.Unregister("z", "z1")
	c.Unregister("never", "")
	c.Unregister("b", "nochannel")
	c.Register("b", "")
	f.expect("REGISTER b")

	// A lookupd restart: after the backoff, reconnect, IDENTIFY and the
	// full set again.
	f.dropConnections()
	awaitEarliestDeadline(t, clk, clk.Now().Add(MinReconnectBackoff))
	clk.Advance(MinReconnectBackoff)
	f.expect("CONNECT", identifyLine, "REGISTER a", "REGISTER b", "REGISTER e#ephemeral x#ephemeral")

	c.Close()
	f.expectNothingMoreOnceClosed() // no UNREGISTER on shutdown
}

func TestPingCadence(t *testing.T) {
	f := startFake(t, nil)
	clk := clock.NewFake(time.Now())
	start := clk.Now()
	newTestClient(t, Options{Addresses: []string{f.addr()}, Clock: clk})
	f.expect("CONNECT", identifyLine)
	timeout := time.After(testTimeout)
	for i := 1; i <= 3; i++ {
		// The ticker, armed before the first connection, is the only timer:
		// a PING every 15 s (upstream's interval) of the client's clock.
		due := start.Add(time.Duration(i) * 15 * time.Second)
		next, ok := clk.NextDeadline()
		require.True(t, ok)
		require.Equal(t, due, next, "PING %d", i)
		clk.AdvanceTo(due)
		select {
		case line := <-f.lines:
			require.Equal(t, "PING", line)
		case <-timeout:
			t.Fatalf("no PING %d", i)
		}
	}
}

func TestRejectedIdentifyIsRetriedWithBackoff(t *testing.T) {
	var mu sync.Mutex
	attempts := 0
	f := startFake(t, func(line string) string {
		if strings.HasPrefix(line, "IDENTIFY") {
			mu.Lock()
			defer mu.Unlock()
			attempts++
			if attempts <= 2 {
				return "E_BAD_BODY IDENTIFY missing fields"
			}
		}
		return ""
	})
	clk := clock.NewFake(time.Now())
	c := newTestClient(t, Options{Addresses: []string{f.addr()}, Clock: clk})
	c.Register("t", "")
	// Each rejection arms the reconnect timer, the earliest one (the PING
	// ticker is 15 s out): MinReconnectBackoff, then double that.
	for _, backoff := range []time.Duration{MinReconnectBackoff, 2 * MinReconnectBackoff} {
		f.expect("CONNECT", identifyLine)
		due := clk.Now().Add(backoff)
		awaitEarliestDeadline(t, clk, due)
		clk.AdvanceTo(due)
	}
	f.expect("CONNECT", identifyLine, "REGISTER t")
}

// awaitEarliestDeadline waits, on the clock's Armed event, until its
// earliest timer fires at due; the real-time bound only turns a missing
// timer into a failure.
func awaitEarliestDeadline(t *testing.T, clk *clock.Fake, due time.Time) {
	t.Helper()
	if !clk.AwaitArmed(testTimeout, clock.EarliestIs(due)) {
		next, _ := clk.NextDeadline()
		t.Fatalf("earliest timer at %s, want %s", next, due)
	}
}

func TestErrorReplyToRegisterReconnects(t *testing.T) {
	var mu sync.Mutex
	failed := false
	f := startFake(t, func(line string) string {
		mu.Lock()
		defer mu.Unlock()
		if line == "REGISTER t" && !failed {
			failed = true
			return "E_BAD_TOPIC REGISTER topic name 't' is not valid"
		}
		return ""
	})
	clk := clock.NewFake(time.Now())
	c := newTestClient(t, Options{Addresses: []string{f.addr()}, Clock: clk})
	f.expect("CONNECT", identifyLine)
	c.Register("t", "")
	f.expect("REGISTER t")
	// The session that got through its registration ends; the next one
	// starts after the shortest backoff.
	awaitEarliestDeadline(t, clk, clk.Now().Add(MinReconnectBackoff))
	clk.Advance(MinReconnectBackoff)
	f.expect("CONNECT", identifyLine, "REGISTER t")
}

func TestInvalidNamesAreNotSent(t *testing.T) {
	f := startFake(t, nil)
	c := newTestClient(t, Options{Addresses: []string{f.addr()}})
	f.expect("CONNECT", identifyLine)
	c.Register("bad name", "")
	c.Register("t", "bad*channel")
	c.Register("ok", "")
	f.expect("REGISTER ok")
}

// neverBlockBound is how long TestRegisterNeverBlocksWhileLookupdsAreDown
// waits for its calls: far below the hour a blocked call would take, far
// above what they take under -race on a loaded machine.
const neverBlockBound = time.Minute

func TestRegisterNeverBlocksWhileLookupdsAreDown(t *testing.T) {
	down := testnet.RefusedAddr(t)
	// A lookupd that accepts and reads IDENTIFY but never answers it.
	stuck, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer stuck.Close()

	refused := make(chan string, 16)
	clk := clock.NewFake(time.Now())
	// Timeouts of an hour: a Register that waited on either lookupd would
	// not return within the test, so the calls returning at all is the
	// proof, however slow the machine (no speed is measured here).
	c := newTestClient(t, Options{Addresses: []string{down, stuck.Addr().String()}, Clock: clk,
		DialTimeout: time.Hour, CommandTimeout: time.Hour,
		Warnf: func(format string, args ...any) {
			select {
			case refused <- fmt.Sprintf(format, args...):
			default:
			}
		}})

	// Both peers are where a Register could get stuck behind them: one
	// refused and waiting out its backoff (on a clock that does not move),
	// the other waiting for the IDENTIFY reply.
	select {
	case w := <-refused:
		require.Contains(t, w, "LOOKUPD("+down+")")
	case <-time.After(testTimeout):
		t.Fatal("the refused lookupd was not reported")
	}
	require.NoError(t, stuck.(*net.TCPListener).SetDeadline(time.Now().Add(testTimeout)))
	conn, err := stuck.Accept()
	require.NoError(t, err)
	defer conn.Close()
	hello, err := appendHello(nil, testIdentity(4150))
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(testTimeout)))
	_, err = io.ReadFull(conn, make([]byte, len(hello)))
	require.NoError(t, err, "IDENTIFY sent")

	returned := make(chan struct{})
	go func() {
		defer close(returned)
		for i := range 1000 {
			c.Register(fmt.Sprintf("t%d", i), "c")
			if i%2 == 0 {
				c.Unregister(fmt.Sprintf("t%d", i), "")
			}
		}
	}()
	select {
	case <-returned:
	case <-time.After(neverBlockBound):
		t.Fatalf("1500 Register/Unregister calls did not return within %s while no lookupd answers", neverBlockBound)
	}
	require.Zero(t, c.Registered())
	require.Empty(t, c.LookupChannels(context.Background(), "t1"), "no lookupd is connected")
}

func TestRegistrationsAppearInRealLookupd(t *testing.T) {
	l := startLookupd(t, "127.0.0.1:0")
	c := newTestClient(t, Options{Addresses: []string{l.RealTCPAddr().String()}})
	c.Register("t1", "")
	c.Register("t2", "c1")
	c.Register("t2", "c2#ephemeral")
	l.log.await("registrations", registeredLine("t1", ""), registeredLine("t2", "c1"), registeredLine("t2", "c2#ephemeral"))
	producers, channels := lookup(t, l, "t2")
	require.Equal(t, []string{"127.0.0.1:4150"}, producers)
	require.Equal(t, []string{"c1", "c2#ephemeral"}, channels)
	producers, channels = lookup(t, l, "t1")
	require.Equal(t, []string{"127.0.0.1:4150"}, producers)
	require.Empty(t, channels)
	require.Equal(t, map[string][]string{"127.0.0.1:4150": {"t1", "t2"}}, nodeTopics(t, l))

	var ch struct {
		Channels []string `json:"channels"`
	}
	getJSON(t, l, "/channels?topic=t2", &ch)
	require.Equal(t, []string{"c1", "c2#ephemeral"}, ch.Channels)

	// Unregistering the ephemeral channel drops its key; unregistering the
	// topic takes the node off the topic (the keys stay, as upstream).
	c.Unregister("t2", "c2#ephemeral")
	l.log.await("ephemeral channel gone", unregisteredLine("t2", "c2#ephemeral"))
	_, channels = lookup(t, l, "t2")
	require.Equal(t, []string{"c1"}, channels)
	// "UNREGISTER t2" takes the node off t2 and its channels at once; the
	// "UNREGISTER t2 c1" that follows changes nothing more.
	c.Unregister("t2", "")
	l.log.await("producer gone", unregisteredLine("t2", ""))
	producers, _ = lookup(t, l, "t2")
	require.Equal(t, []string{}, producers)
	require.Equal(t, map[string][]string{"127.0.0.1:4150": {"t1"}}, nodeTopics(t, l))
}

func TestStartsBeforeLookupdAndRegistersOnceItIsUp(t *testing.T) {
	l := startLookupd(t, "127.0.0.1:0")
	addr := l.RealTCPAddr().String()
	l.stop()

	clk := clock.NewFake(time.Now())
	c := newTestClient(t, Options{Addresses: []string{addr}, Clock: clk})
	c.Register("down1", "dc")
	c.Register("down2", "")
	// The first attempt is refused; the next waits for the backoff, which
	// ends only once the lookupd is up.
	awaitEarliestDeadline(t, clk, clk.Now().Add(MinReconnectBackoff))
	l2 := startLookupd(t, addr)
	clk.Advance(MinReconnectBackoff)
	l2.log.await("registration after lookupd came up", registeredLine("down1", "dc"), registeredLine("down2", ""))
	p1, _ := lookup(t, l2, "down1")
	p2, _ := lookup(t, l2, "down2")
	require.Equal(t, []string{"127.0.0.1:4150"}, p1)
	require.Equal(t, []string{"127.0.0.1:4150"}, p2)
}

// topicAdded matches every line a lookupd logs when it adds a node to a
// topic.
const topicAdded = ") REGISTER category:topic key:"

func TestLookupdRestartIsFollowedByFullReregistration(t *testing.T) {
	l1 := startLookupd(t, "127.0.0.1:0")
	addr := l1.RealTCPAddr().String()
	clk := clock.NewFake(time.Now())
	c := newTestClient(t, Options{Addresses: []string{addr}, Clock: clk})
	const topics = 300 // more than one pipelined batch
	for i := range topics {
		c.Register(fmt.Sprintf("t%d", i), "")
	}
	c.Register("t0", "c0")
	l1.log.awaitCount("registrations on the first lookupd", topicAdded, topics)
	require.Len(t, nodeTopics(t, l1)["127.0.0.1:4150"], topics)

	l1.stop()
	// The client notices the closed connection and backs off; the
	// restarted lookupd is up before the backoff ends.
	awaitEarliestDeadline(t, clk, clk.Now().Add(MinReconnectBackoff))
	l2 := startLookupd(t, addr)
	clk.Advance(MinReconnectBackoff)
	l2.log.awaitCount("registrations on the restarted lookupd", topicAdded, topics)
	l2.log.await("channel on the restarted lookupd", registeredLine("t0", "c0"))
	require.Len(t, nodeTopics(t, l2)["127.0.0.1:4150"], topics)
	_, channels := lookup(t, l2, "t0")
	require.Equal(t, []string{"c0"}, channels)

	// LookupChannels uses the HTTP port the new lookupd announced.
	postOK(t, l2, "/channel/create?topic=t1&channel=pre")
	require.Equal(t, []string{"pre"}, c.LookupChannels(context.Background(), "t1"))
}

func TestSetAddressesAddsAndRemovesPeers(t *testing.T) {
	a := startLookupd(t, "127.0.0.1:0")
	b := startLookupd(t, "127.0.0.1:0")
	addrA, addrB := a.RealTCPAddr().String(), b.RealTCPAddr().String()
	c := newTestClient(t, Options{Addresses: []string{addrA}})
	c.Register("t", "c")
	a.log.await("registration on a", registeredLine("t", "c"))
	require.Equal(t, []string{addrA}, c.Addresses())

	c.SetAddresses([]string{addrA, " ", addrB, addrA})
	require.Equal(t, []string{addrA, addrB}, c.Addresses())
	b.log.await("registration on b", registeredLine("t", "c"))
	p, _ := lookup(t, b, "t")
	require.Len(t, p, 1)

	c.SetAddresses([]string{addrB})
	require.Equal(t, []string{addrB}, c.Addresses())
	a.log.await("a to drop the removed client", droppedLine)
	require.Empty(t, nodeTopics(t, a))
	c.Register("u", "")
	b.log.await("new registration on b", registeredLine("u", ""))
	p, _ = lookup(t, b, "u")
	require.Len(t, p, 1)
	p, _ = lookup(t, a, "u")
	require.Nil(t, p, "nothing more reaches a removed lookupd")

	c.SetAddresses(nil)
	require.Empty(t, c.Addresses())
	b.log.await("b to drop the removed client", droppedLine)
	require.Empty(t, nodeTopics(t, b))
}

func TestLookupChannelsUnionsEveryLookupd(t *testing.T) {
	a := startLookupd(t, "127.0.0.1:0")
	b := startLookupd(t, "127.0.0.1:0")
	// This one answers IDENTIFY with an HTTP port nothing listens on.
	broken := startFake(t, nil)
	postOK(t, a, "/channel/create?topic=t&channel=c1")
	postOK(t, a, "/channel/create?topic=t&channel=shared")
	postOK(t, b, "/channel/create?topic=t&channel=shared")
	postOK(t, b, "/channel/create?topic=t&channel=e%23ephemeral")
	postOK(t, b, "/channel/create?topic=other&channel=x")

	var logMu sync.Mutex
	var logs []string
	c := newTestClient(t, Options{
		Addresses:                []string{a.RealTCPAddr().String(), b.RealTCPAddr().String(), broken.addr()},
		HTTPClientConnectTimeout: time.Second,
		Logf: func(format string, args ...any) {
			logMu.Lock()
			logs = append(logs, fmt.Sprintf(format, args...))
			logMu.Unlock()
			t.Logf(format, args...)
		},
	})
	// A peer marks itself connected before it sends its registration, so a
	// registration arriving at all three means all three are connected.
	c.Register("ready", "")
	a.log.await("a connected", registeredLine("ready", ""))
	b.log.await("b connected", registeredLine("ready", ""))
	broken.expect("CONNECT", identifyLine, "REGISTER ready")
	require.Equal(t, []string{"c1", "e#ephemeral", "shared"}, c.LookupChannels(context.Background(), "t"))
	require.Empty(t, c.LookupChannels(context.Background(), "unknown"))
	logMu.Lock()
	require.Contains(t, strings.Join(logs, "\n"), "LOOKUPD(127.0.0.1:1): failed to query channels of topic t")
	logMu.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.Empty(t, c.LookupChannels(ctx, "t"), "a cancelled context fails every query")
}

func TestLookupChannelsWithoutLookupdsLogs(t *testing.T) {
	var logs []string
	var mu sync.Mutex
	c := newTestClient(t, Options{Addresses: []string{"127.0.0.1:1"}, Logf: func(format string, args ...any) {
		mu.Lock()
		logs = append(logs, fmt.Sprintf(format, args...))
		mu.Unlock()
	}})
	require.Nil(t, c.LookupChannels(context.Background(), "t"))
	mu.Lock()
	require.Contains(t, logs, "no available nsqlookupd to query for channels to pre-create for topic t")
	mu.Unlock()

	quiet := newTestClient(t, Options{})
	require.Nil(t, quiet.LookupChannels(context.Background(), "t"))
}

func TestCloseIsPromptAndIdempotent(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer silent.Close()
	f := startFake(t, nil)
	c := New(Options{Addresses: []string{silent.Addr().String(), f.addr()}, Identity: testIdentity(4150), CommandTimeout: time.Minute})
	f.expect("CONNECT", identifyLine)
	start := time.Now()
	c.Close()
	require.Less(t, time.Since(start), 2*time.Second, "Close interrupts a pending IDENTIFY")
	c.Close()
	c.Register("t", "")
	c.SetAddresses([]string{"127.0.0.1:1"})
	require.Equal(t, []string{silent.Addr().String(), f.addr()}, c.Addresses(), "nothing changes after Close")
	f.expectNothingMoreOnceClosed()
}
