package nsqlookupd

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestIdentifyRepliesWithLookupdInfo(t *testing.T) {
	l := startLookupd(t, nil)
	c := dialV1(t, l)
	c.send(identifyCommand(nsqdIdentity("10.0.0.1", 4150, 4151)))
	hostname, err := os.Hostname()
	require.NoError(t, err)
	want := fmt.Sprintf(`{"broadcast_address":"127.0.0.1","hostname":%q,"http_port":%d,"tcp_port":%d,"version":"1.3.0"}`,
		hostname, l.RealHTTPAddr().Port, l.RealTCPAddr().Port)
	require.Equal(t, want, c.read())
}

func TestPingBeforeIdentifyIsAnsweredOK(t *testing.T) {
	l := startLookupd(t, nil)
	c := dialV1(t, l)
	require.Equal(t, "OK", c.cmd("PING"))
	require.Equal(t, "OK", c.cmd("  PING \r"), "the line is trimmed")
}

func TestObservedNsqdSequence(t *testing.T) {
	l := startLookupd(t, nil)
	c := dialV1(t, l)
	c.identify("127.0.0.1", 4150, 4151)
	for _, line := range []string{"REGISTER ft1", "REGISTER ft1 fc1", "UNREGISTER ft1 fc1", "UNREGISTER ft1", "PING"} {
		require.Equal(t, "OK", c.cmd(line), line)
	}
	res := httpGet(t, l, "/lookup?topic=ft1")
	require.Equal(t, 200, res.status)
	require.JSONEq(t, `{"channels":["fc1"],"producers":[]}`, res.body)
}

func TestRegisterMakesTheNodeAProducer(t *testing.T) {
	l := startLookupd(t, nil)
	c := dialV1(t, l)
	c.identify("127.0.0.1", 4150, 4151)
	require.Equal(t, "OK", c.cmd("REGISTER t c"))
	require.Equal(t, "OK", c.cmd("REGISTER t c"), "re-registering is idempotent")

	remote := c.conn.LocalAddr().String()
	res := httpGet(t, l, "/lookup?topic=t")
	require.Equal(t, 200, res.status)
	require.Equal(t, `{"channels":["c"],"producers":[{"remote_address":"`+remote+
		`","hostname":"host-127.0.0.1","broadcast_address":"127.0.0.1","tcp_port":4150,"http_port":4151,"version":"1.3.0"}]}`,
		res.body)
	require.Equal(t, `{"channels":["c"]}`, httpGet(t, l, "/channels?topic=t").body)
	require.Equal(t, `{"topics":["t"]}`, httpGet(t, l, "/topics").body)
}

func TestProtocolErrorsAreFatal(t *testing.T) {
	body := nsqdIdentity("127.0.0.1", 4150, 4151)
	long := strings.Repeat("a", 65)
	cases := []struct {
		name     string
		identify bool
		send     string
		want     string
	}{
		{"unknown command", false, "NOPE x\n", "E_INVALID invalid command NOPE"},
		{"empty line", false, "\n", "E_INVALID invalid command "},
		{"lower case", false, "ping\n", "E_INVALID invalid command ping"},
		{"register before identify", false, "REGISTER t\n", "E_INVALID client must IDENTIFY"},
		{"unregister before identify", false, "UNREGISTER t c\n", "E_INVALID client must IDENTIFY"},
		{"identify twice", true, identifyCommand(body), "E_INVALID cannot IDENTIFY again"},
		{"identify short size", false, "IDENTIFY\n\x00\x00", "E_BAD_BODY IDENTIFY failed to read body size"},
		{"identify short body", false, "IDENTIFY\n\x00\x00\x00\x10{}", "E_BAD_BODY IDENTIFY failed to read body"},
		{"identify negative size", false, "IDENTIFY\n\xff\xff\xff\xff", "E_BAD_BODY IDENTIFY failed to read body"},
		{"identify bad json", false, identifyCommand("{nope"), "E_BAD_BODY IDENTIFY failed to decode JSON body"},
		{"identify empty body", false, identifyCommand(""), "E_BAD_BODY IDENTIFY failed to decode JSON body"},
		{"identify wrong type", false, identifyCommand(`{"tcp_port":"x"}`), "E_BAD_BODY IDENTIFY failed to decode JSON body"},
		{"identify missing fields", false, identifyCommand(`{"broadcast_address":"a","tcp_port":1,"http_port":2}`),
			"E_BAD_BODY IDENTIFY missing fields"},
		{"identify null", false, identifyCommand(`null`), "E_BAD_BODY IDENTIFY missing fields"},
		{"register no topic", true, "REGISTER\n", "E_INVALID REGISTER insufficient number of params"},
		{"unregister no topic", true, "UNREGISTER \n", "E_INVALID UNREGISTER insufficient number of params"},
		{"bad topic", true, "REGISTER a*b\n", "E_BAD_TOPIC REGISTER topic name 'a*b' is not valid"},
		{"long topic", true, "REGISTER " + long + "\n", "E_BAD_TOPIC REGISTER topic name '" + long + "' is not valid"},
		{"empty topic", true, "REGISTER  c\n", "E_BAD_TOPIC REGISTER topic name '' is not valid"},
		{"bad channel", true, "REGISTER t c!\n", "E_BAD_CHANNEL REGISTER channel name 'c!' is not valid"},
		{"unregister bad channel", true, "UNREGISTER t #ephemeral\n", "E_BAD_CHANNEL UNREGISTER channel name '#ephemeral' is not valid"},
	}
	l := startLookupd(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialV1(t, l)
			if tc.identify {
				c.identify("127.0.0.1", 4150, 4151)
			}
			c.send(tc.send)
			if strings.Contains(tc.name, "short") {
				// The body is incomplete until the client gives up.
				c.conn.(*net.TCPConn).CloseWrite()
			}
			require.Equal(t, tc.want, c.read())
			c.expectClosed()
		})
	}
}

func TestBadMagicIsRejected(t *testing.T) {
	l := startLookupd(t, nil)
	conn, err := net.DialTimeout("tcp", l.RealTCPAddr().String(), testTimeout)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(testTimeout)))
	_, err = conn.Write([]byte("  V2"))
	require.NoError(t, err)
	c := &v1Client{t: t, conn: conn, r: bufio.NewReader(conn)}
	require.Equal(t, "E_BAD_PROTOCOL", c.read())
	c.expectClosed()
}

func TestOverlongLineClosesTheConnection(t *testing.T) {
	l := startLookupd(t, nil)
	c := dialV1(t, l)
	c.send(strings.Repeat("x", maxLineLength+1))
	c.expectClosed()
}

func TestPipelinedCommandsAreAllAnswered(t *testing.T) {
	l := startLookupd(t, nil)
	c := dialV1(t, l)
	var batch strings.Builder
	batch.WriteString(identifyCommand(nsqdIdentity("127.0.0.1", 4150, 4151)))
	for i := range 500 {
		fmt.Fprintf(&batch, "REGISTER t%d c\nPING\n", i)
	}
	c.send(batch.String())
	require.Contains(t, c.read(), `"version":"1.3.0"`)
	for range 1000 {
		require.Equal(t, "OK", c.read())
	}
	require.Len(t, lookupProducers(t, l, "t499"), 1)
}

func TestDisconnectRemovesTheProducerButKeepsKeys(t *testing.T) {
	l, logs := startWatchedLookupd(t, nil)
	c := dialV1(t, l)
	c.identify("127.0.0.1", 4150, 4151)
	require.Equal(t, "OK", c.cmd("REGISTER e#ephemeral x#ephemeral"))
	require.Equal(t, []string{"127.0.0.1:4150"}, lookupProducers(t, l, "e%23ephemeral"))

	c.conn.Close()
	logs.awaitLines("the producer to be removed", closedLine(c))
	require.JSONEq(t, `{"channels":["x#ephemeral"],"producers":[]}`, httpGet(t, l, "/lookup?topic=e%23ephemeral").body)
	require.Equal(t, `{"producers":[]}`, httpGet(t, l, "/nodes").body)
	require.Equal(t, `{}`, httpGet(t, l, "/debug").body)
}

func TestUnregisterDropsOnlyEphemeralKeys(t *testing.T) {
	l := startLookupd(t, nil)
	c := dialV1(t, l)
	c.identify("127.0.0.1", 4150, 4151)
	for _, line := range []string{"REGISTER t c", "REGISTER t e#ephemeral", "REGISTER e#ephemeral c"} {
		require.Equal(t, "OK", c.cmd(line))
	}
	require.Equal(t, "OK", c.cmd("UNREGISTER t c"))
	require.Equal(t, "OK", c.cmd("UNREGISTER t e#ephemeral"))
	require.Equal(t, `{"channels":["c"]}`, httpGet(t, l, "/channels?topic=t").body,
		"a non-ephemeral channel key stays with no producers")

	// A topic unregistration takes the node off the topic's channels too.
	require.Equal(t, "OK", c.cmd("UNREGISTER e#ephemeral"))
	require.Equal(t, 404, httpGet(t, l, "/lookup?topic=e%23ephemeral").status, "the ephemeral topic key is gone")
	require.Equal(t, `{"channels":["c"]}`, httpGet(t, l, "/channels?topic=e%23ephemeral").body,
		"its non-ephemeral channel key stays, as upstream")
	require.Equal(t, `{"topics":["t"]}`, httpGet(t, l, "/topics").body)
}

// UNREGISTER of a topic takes the node off every channel of that topic too
// (upstream logs those as unexpected), and leaves other nodes alone.
func TestUnregisterTopicRemovesTheNodeFromItsChannels(t *testing.T) {
	l := startLookupd(t, nil)
	gone := dialV1(t, l)
	gone.identify("10.0.0.1", 4150, 4151)
	stays := dialV1(t, l)
	stays.identify("10.0.0.2", 4150, 4151)
	for _, line := range []string{"REGISTER t c1", "REGISTER t c2", "REGISTER t x#ephemeral", "REGISTER other c1"} {
		require.Equal(t, "OK", gone.cmd(line), line)
	}
	require.Equal(t, "OK", stays.cmd("REGISTER t c1"))

	require.Equal(t, "OK", gone.cmd("UNREGISTER t"))

	var dump map[string][]struct {
		BroadcastAddress string `json:"broadcast_address"`
	}
	res := httpGet(t, l, "/debug")
	require.Equal(t, 200, res.status)
	require.NoError(t, json.Unmarshal([]byte(res.body), &dump))
	producers := map[string][]string{}
	for key, entries := range dump {
		for _, e := range entries {
			producers[key] = append(producers[key], e.BroadcastAddress)
		}
	}
	require.Equal(t, []string{"10.0.0.2"}, producers["topic:t:"])
	require.Equal(t, []string{"10.0.0.2"}, producers["channel:t:c1"])
	require.NotContains(t, producers, "channel:t:c2", "no producer is left on c2")
	require.NotContains(t, producers, "channel:t:x#ephemeral", "no producer is left on x#ephemeral")
	require.Equal(t, []string{"10.0.0.1"}, producers["channel:other:c1"], "another topic's channels are untouched")
	require.Equal(t, `{"channels":["c1","c2","x#ephemeral"]}`, httpGet(t, l, "/channels?topic=t").body,
		"channel keys stay, even an ephemeral one, as upstream")
}

// The inactivity window is read from the daemon's clock: a producer whose
// last IDENTIFY or PING is exactly the timeout ago still counts, one
// nanosecond later it is hidden from /lookup and /nodes (upstream drops it
// only when the time since is greater than the timeout), and a PING brings
// it back. The registry arms no timers; each reply comes after the command's
// time is recorded, so moving the clock between round trips is all the
// test needs.
func TestInactiveProducerIsHiddenUntilItPings(t *testing.T) {
	const timeout = 30 * time.Second
	l, fake := startClockedLookupd(t, func(o *Options) { o.InactiveProducerTimeout = timeout })
	identified := fake.Now()
	quiet := dialV1(t, l)
	quiet.identify("10.0.0.1", 4150, 4151)
	require.Equal(t, "OK", quiet.cmd("REGISTER t"))
	busy := dialV1(t, l)
	busy.identify("10.0.0.2", 4150, 4151)
	require.Equal(t, "OK", busy.cmd("REGISTER t"))
	require.ElementsMatch(t, []string{"10.0.0.1:4150", "10.0.0.2:4150"}, lookupProducers(t, l, "t"))
	require.Equal(t, []int64{identified.UnixNano()}, debugLastUpdates(t, l, "10.0.0.1"), "IDENTIFY stamps the clock's time")

	fake.Advance(timeout / 2)
	require.Equal(t, "OK", busy.cmd("PING"))
	fake.AdvanceTo(identified.Add(timeout))
	require.Len(t, lookupProducers(t, l, "t"), 2, "exactly the timeout since IDENTIFY is still active")

	fake.Advance(time.Nanosecond)
	require.Equal(t, []string{"10.0.0.2:4150"}, lookupProducers(t, l, "t"))
	nodes := httpGet(t, l, "/nodes").body
	require.NotContains(t, nodes, "10.0.0.1")
	require.Contains(t, nodes, "10.0.0.2")

	require.Equal(t, "OK", quiet.cmd("PING"))
	require.Equal(t, []int64{fake.Now().UnixNano()}, debugLastUpdates(t, l, "10.0.0.1"), "PING stamps the clock's time")
	require.Len(t, lookupProducers(t, l, "t"), 2, "a PING makes it visible again")

	fake.Advance(timeout + time.Nanosecond)
	require.Empty(t, lookupProducers(t, l, "t"), "neither has pinged for longer than the timeout")
	require.Equal(t, `{"producers":[]}`, httpGet(t, l, "/nodes").body)
	require.Equal(t, []string{"t"}, topicNames(t, l), "an inactive producer's topic key stays")
}

// A tombstone hides one topic of one node from /lookup for exactly the
// tombstone lifetime on the daemon's clock (upstream: tombstoned while the
// time since is less than the lifetime), shows in /nodes and /metrics for
// as long, and re-registering does not clear it.
func TestTombstoneHidesTheNodeForItsLifetime(t *testing.T) {
	const lifetime = 45 * time.Second
	l, fake := startClockedLookupd(t, func(o *Options) { o.TombstoneLifetime = lifetime })
	a := dialV1(t, l)
	a.identify("10.0.0.1", 4150, 4151)
	require.Equal(t, "OK", a.cmd("REGISTER t"))
	require.Equal(t, "OK", a.cmd("REGISTER u"))
	b := dialV1(t, l)
	b.identify("10.0.0.2", 4150, 4151)
	require.Equal(t, "OK", b.cmd("REGISTER t"))

	require.Equal(t, 200, httpPost(t, l, "/topic/tombstone?topic=t&node=10.0.0.1:4150").status, "wrong port: no match")
	require.Len(t, lookupProducers(t, l, "t"), 2)

	fake.Advance(time.Second)
	tombstoned := fake.Now()
	require.Equal(t, 200, httpPost(t, l, "/topic/tombstone?topic=t&node=10.0.0.1:4151").status)
	require.Equal(t, []string{"10.0.0.2:4150"}, lookupProducers(t, l, "t"))
	require.Equal(t, []string{"10.0.0.1:4150"}, lookupProducers(t, l, "u"), "only that topic is affected")
	require.Equal(t, "OK", a.cmd("REGISTER t"), "re-registering does not clear the tombstone")
	require.Equal(t, []int64{tombstoned.UnixNano()}, debugTombstonedAt(t, l, "topic:t:", "10.0.0.1"), "stamped with the clock's time")

	fake.AdvanceTo(tombstoned.Add(lifetime - time.Nanosecond))
	require.Equal(t, []string{"10.0.0.2:4150"}, lookupProducers(t, l, "t"), "still tombstoned just before the lifetime ends")
	require.Contains(t, httpGet(t, l, "/nodes").body, `"tombstones":[true,false],"topics":["t","u"]`)
	require.Equal(t, float64(1), gaugeValue(t, scrapeLookupd(t, l), "nsq_lookupd_tombstones"))

	fake.Advance(time.Nanosecond)
	require.Len(t, lookupProducers(t, l, "t"), 2, "the tombstone expires at exactly its lifetime")
	require.Contains(t, httpGet(t, l, "/nodes").body, `"tombstones":[false,false],"topics":["t","u"]`)
	require.Equal(t, float64(0), gaugeValue(t, scrapeLookupd(t, l), "nsq_lookupd_tombstones"))
}

// TestConcurrentProducers: registrants and HTTP readers at once, as a
// cluster's nsqds and its tools are; every registration lands and every
// disconnect is cleaned up. Each round trip has its own deadline, not the
// whole conversation: under -race on a loaded machine the 600 round trips
// take longer than any one bound, but none of them waits long. (With 1800
// and four readers, under -race beside another whole test run and two CPU
// hogs, a reader's request once waited out its 5 s bound.) The readers
// reuse their connections, so that they do not run the loopback out of
// ports, and go on while the disconnects are cleaned up.
func TestConcurrentProducers(t *testing.T) {
	l, logs := startWatchedLookupd(t, nil)
	const producers, topics = 20, 10
	var wg sync.WaitGroup
	clients := make([]*v1Client, producers)
	for i := range producers {
		clients[i] = dialV1(t, l)
	}
	readerClient := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 4},
		Timeout:   testTimeout,
	}
	defer readerClient.CloseIdleConnections()
	stopReaders := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stopReaders:
					return
				default:
				}
				for _, path := range []string{"/nodes", "/lookup?topic=t1", "/topics", "/debug", "/channels?topic=t2"} {
					resp, err := readerClient.Get(l.url(path))
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 && resp.StatusCode != 404 {
						t.Errorf("%s: %d", path, resp.StatusCode)
					}
				}
			}
		})
	}
	roundTrip := func(c *v1Client, raw string) (string, error) {
		if err := c.conn.SetDeadline(time.Now().Add(testTimeout)); err != nil {
			return "", err
		}
		if _, err := c.conn.Write([]byte(raw)); err != nil {
			return "", err
		}
		return readV1Response(c.r)
	}
	for i, c := range clients {
		wg.Go(func() {
			if _, err := roundTrip(c, identifyCommand(nsqdIdentity(fmt.Sprintf("10.0.1.%d", i), 4150, 4151))); err != nil {
				t.Error(err)
				return
			}
			for j := range topics {
				for _, line := range []string{fmt.Sprintf("REGISTER t%d c%d", j, i%3), "PING", fmt.Sprintf("UNREGISTER t%d c%d", j, i%3)} {
					if resp, err := roundTrip(c, line+"\n"); err != nil || resp != "OK" {
						t.Errorf("%s: %q %v", line, resp, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	require.Len(t, lookupProducers(t, l, "t7"), producers)
	closed := make([]string, 0, producers)
	for _, c := range clients {
		c.conn.Close()
		closed = append(closed, closedLine(c))
	}
	logs.awaitLines("every producer to be removed", closed...)
	require.Equal(t, `{"producers":[]}`, httpGet(t, l, "/nodes").body)
	close(stopReaders)
	readers.Wait()
	require.Empty(t, lookupProducers(t, l, "t7"))
}

func TestExitClosesRegistrantConnections(t *testing.T) {
	opts := NewOptions()
	opts.TCPAddress, opts.HTTPAddress, opts.Logger = "127.0.0.1:0", "127.0.0.1:0", testLog{t}
	l, err := New(opts)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- l.Main() }()
	c := dialV1(t, l)
	c.identify("127.0.0.1", 4150, 4151)
	l.Exit()
	c.expectClosed()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(testTimeout):
		t.Fatal("Main did not return")
	}
	l.Exit() // idempotent
}

func TestExitBeforeMain(t *testing.T) {
	opts := NewOptions()
	opts.TCPAddress, opts.HTTPAddress, opts.Logger = "127.0.0.1:0", "127.0.0.1:0", testLog{t}
	l, err := New(opts)
	require.NoError(t, err)
	l.Exit()
	require.NoError(t, l.Main())
}

func TestNewReportsListenErrors(t *testing.T) {
	l := startLookupd(t, nil)
	opts := NewOptions()
	opts.TCPAddress, opts.HTTPAddress = l.RealTCPAddr().String(), "127.0.0.1:0"
	_, err := New(opts)
	require.ErrorContains(t, err, "listen ("+l.RealTCPAddr().String()+") failed")
	opts.TCPAddress, opts.HTTPAddress = "127.0.0.1:0", l.RealHTTPAddr().String()
	_, err = New(opts)
	require.ErrorContains(t, err, "listen ("+l.RealHTTPAddr().String()+") failed")
}
