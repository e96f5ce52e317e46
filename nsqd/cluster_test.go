package nsqd

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	nsq "github.com/nsqio/go-nsq"
	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/lookupclient"
	"github.com/nsqgo/nsq/nsqlookupd"
)

// In-process cluster tests (issue 4): real nsqlookupds and real nsqds on
// loopback port 0, the nsqds registering through internal/lookupclient.
// Registration is asynchronous and offers no event to wait on, so the tests
// poll the lookupds' HTTP answers with waitFor's bounded deadline.

// awaitIdentified waits until every lookupd lists every nsqd in /nodes, so
// that a later "not listed" in /lookup means "does not hold the topic" and
// not "has not connected yet".
func awaitIdentified(t *testing.T, c *cluster) {
	t.Helper()
	want := tcpPorts(c.nsqds...)
	for _, l := range c.lookupds {
		awaitState(t, "every nsqd in /nodes", func() error {
			if got := nodePorts(lookupdNodes(t, l)); !slices.Equal(got, want) {
				return fmt.Errorf("/nodes ports %v, want %v", got, want)
			}
			return nil
		})
	}
}

func TestClusterLookupListsExactlyTheNodesHoldingTheTopic(t *testing.T) {
	c := startCluster(t, 2, 3, nil)
	awaitIdentified(t, c)
	n0, n1 := c.nsqds[0], c.nsqds[1]
	publish(t, n0, "t", "a")
	publish(t, n1, "t", "b")

	awaitLookup(t, c.lookupds, "t", []*NSQD{n0, n1}, nil)
	hostname, err := os.Hostname()
	require.NoError(t, err)
	for _, l := range c.lookupds {
		resp, found := lookupTopic(t, l, "t")
		require.True(t, found)
		byPort := map[int]lookupProducer{}
		for _, p := range resp.Producers {
			byPort[p.TCPPort] = p
		}
		for _, n := range []*NSQD{n0, n1} {
			p := byPort[n.RealTCPAddr().Port]
			require.Equal(t, "127.0.0.1", p.BroadcastAddress)
			require.Equal(t, n.RealHTTPAddr().Port, p.HTTPPort)
			require.Equal(t, "1.3.0", p.Version)
			require.Equal(t, hostname, p.Hostname)
			// The identity is the nsqd's own end of its lookupd connection.
			host, _, err := net.SplitHostPort(p.RemoteAddress)
			require.NoError(t, err, "remote_address %q", p.RemoteAddress)
			require.Equal(t, "127.0.0.1", host)
		}
	}
}

func TestClusterLookupListsChannelsRegisteredByEveryNode(t *testing.T) {
	c := startCluster(t, 2, 3, nil)
	n0, n1 := c.nsqds[0], c.nsqds[1]
	// A consumer's SUB creates c1 on n0; the API creates c2 on n1.
	dialV2(t, n0).subscribe("t", "c1")
	topic, err := n1.GetTopic("t")
	require.NoError(t, err)
	_, err = topic.GetChannel("c2")
	require.NoError(t, err)

	awaitLookup(t, c.lookupds, "t", []*NSQD{n0, n1}, []string{"c1", "c2"})
	for _, l := range c.lookupds {
		require.Equal(t, []string{"c1", "c2"}, lookupdChannels(t, l, "t"))
		require.Equal(t, []string{"t"}, lookupdTopics(t, l))
	}
}

func TestClusterDeletingTopicOnOneNodeRemovesOnlyThatNode(t *testing.T) {
	c := startCluster(t, 2, 3, nil)
	for _, n := range c.nsqds {
		publish(t, n, "t", "x")
	}
	awaitLookup(t, c.lookupds, "t", c.nsqds, nil)

	require.NoError(t, c.nsqds[1].DeleteExistingTopic("t"))

	// The topic key stays on the lookupds (200, not 404) with the others.
	awaitLookup(t, c.lookupds, "t", []*NSQD{c.nsqds[0], c.nsqds[2]}, nil)
	for _, l := range c.lookupds {
		require.Equal(t, []string{"t"}, lookupdTopics(t, l))
	}
}

// The nsqd UNREGISTERs the channel: the lookupds stop listing it on the
// channel, and, as upstream, keep the channel key and its topic producers.
func TestClusterDeletingChannelOnOneNodeUnregistersOnlyThatNode(t *testing.T) {
	c := startCluster(t, 2, 2, nil)
	n0, n1 := c.nsqds[0], c.nsqds[1]
	for _, n := range c.nsqds {
		topic, err := n.GetTopic("t")
		require.NoError(t, err)
		_, err = topic.GetChannel("c")
		require.NoError(t, err)
	}
	awaitChannelProducers(t, c.lookupds, "t", "c", c.nsqds)

	status, body := httpPost(t, n0, "/channel/delete?topic=t&channel=c", "")
	require.Equal(t, http.StatusOK, status, "body %s", body)

	awaitChannelProducers(t, c.lookupds, "t", "c", []*NSQD{n1})
	for _, l := range c.lookupds {
		require.NoError(t, lookupHas(t, l, "t", c.nsqds, []string{"c"}))
	}
}

// An ephemeral channel key goes with its last producer's UNREGISTER, so
// deleting it on the only nsqd holding it drops it from /channels.
func TestClusterDeletingLastEphemeralChannelRemovesItFromChannels(t *testing.T) {
	c := startCluster(t, 2, 1, nil)
	n := c.nsqds[0]
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	for _, name := range []string{"c", "e#ephemeral"} {
		_, err = topic.GetChannel(name)
		require.NoError(t, err)
	}
	awaitLookup(t, c.lookupds, "t", c.nsqds, []string{"c", "e#ephemeral"})

	status, body := httpPost(t, n, "/channel/delete?topic=t&channel=e%23ephemeral", "")
	require.Equal(t, http.StatusOK, status, "body %s", body)

	for _, l := range c.lookupds {
		awaitState(t, "/channels?topic=t without e#ephemeral", func() error {
			if got := lookupdChannels(t, l, "t"); !slices.Equal(got, []string{"c"}) {
				return fmt.Errorf("/channels?topic=t %v, want [c]", got)
			}
			return nil
		})
	}
}

// --broadcast-tcp-port and --broadcast-http-port are the ports the nsqd
// registers, so consumers connect to them rather than to the bound ones.
func TestClusterLookupdReportsBroadcastPorts(t *testing.T) {
	const tcpPort, httpPort = 14150, 14151
	l := startClusterLookupd(t, "127.0.0.1:0", "127.0.0.1:0", nil)
	n := startDaemon(t, func(o *Options) {
		o.NSQLookupdTCPAddresses = []string{l.RealTCPAddr().String()}
		o.BroadcastTCPPort = tcpPort
		o.BroadcastHTTPPort = httpPort
	})
	require.NotEqual(t, tcpPort, n.RealTCPAddr().Port)
	require.NotEqual(t, httpPort, n.RealHTTPAddr().Port)
	publish(t, n, "t", "x")

	var producers []lookupProducer
	awaitState(t, "the nsqd in /lookup?topic=t", func() error {
		resp, _ := lookupTopic(t, l, "t")
		if producers = resp.Producers; len(producers) != 1 {
			return fmt.Errorf("/lookup?topic=t producers %+v", producers)
		}
		return nil
	})
	require.Equal(t, tcpPort, producers[0].TCPPort)
	require.Equal(t, httpPort, producers[0].HTTPPort)
	nodes := lookupdNodes(t, l)
	require.Len(t, nodes, 1)
	require.Equal(t, tcpPort, nodes[0].TCPPort)
	require.Equal(t, httpPort, nodes[0].HTTPPort)
}

// tombstone posts /topic/tombstone for n's topic on l.
func tombstone(t *testing.T, l *testLookupd, topic string, n *NSQD) {
	t.Helper()
	q := url.Values{"topic": {topic}, "node": {tombstoneNodeName(n)}}
	status, body, _ := httpDo(t, http.MethodPost, l.url("/topic/tombstone?"+q.Encode()), nil)
	require.Equal(t, http.StatusOK, status, "body %s", body)
}

// Upstream: the tombstone hides the node from /lookup on that lookupd for
// --tombstone-lifetime; after it the node, still registered, is listed again.
// The lookupds read a fake clock (nsqlookupd's Options.Clock), which the
// test moves to either side of the lifetime's end instead of waiting for it.
func TestClusterTombstoneHidesNodeForItsLifetimeThenItReturns(t *testing.T) {
	const lifetime = 45 * time.Second
	fake := clock.NewFake(time.Now())
	c := startCluster(t, 2, 2, func(o *nsqlookupd.Options) {
		o.TombstoneLifetime = lifetime
		o.Clock = fake
	})
	n0, n1 := c.nsqds[0], c.nsqds[1]
	publish(t, n0, "t", "x")
	publish(t, n1, "t", "y")
	awaitLookup(t, c.lookupds, "t", c.nsqds, nil)
	l0, l1 := c.lookupds[0], c.lookupds[1]

	tombstonedAt := fake.Now()
	tombstone(t, l0, "t", n0)
	require.NoError(t, lookupHas(t, l0, "t", []*NSQD{n1}, nil))
	// Tombstones are per lookupd: the other one still lists both.
	require.NoError(t, lookupHas(t, l1, "t", c.nsqds, nil))

	fake.AdvanceTo(tombstonedAt.Add(lifetime - time.Nanosecond))
	require.NoError(t, lookupHas(t, l0, "t", []*NSQD{n1}, nil), "still hidden just before the lifetime ends")
	fake.Advance(time.Nanosecond)
	require.NoError(t, lookupHas(t, l0, "t", c.nsqds, nil), "listed again once the lifetime has passed")
}

func TestClusterTombstonedNodeStaysInNodesFlaggedForThatTopic(t *testing.T) {
	c := startCluster(t, 2, 2, func(o *nsqlookupd.Options) { o.TombstoneLifetime = time.Minute })
	n0 := c.nsqds[0]
	publish(t, n0, "t", "x")
	publish(t, n0, "u", "y")
	awaitLookup(t, c.lookupds, "t", []*NSQD{n0}, nil)
	awaitLookup(t, c.lookupds, "u", []*NSQD{n0}, nil)
	awaitIdentified(t, c)

	tombstone(t, c.lookupds[0], "t", n0)

	nodes := lookupdNodes(t, c.lookupds[0])
	require.Equal(t, tcpPorts(c.nsqds...), nodePorts(nodes), "a tombstone filters nothing from /nodes")
	i := slices.IndexFunc(nodes, func(node nodeInfo) bool { return node.TCPPort == n0.RealTCPAddr().Port })
	require.Len(t, nodes[i].Tombstones, len(nodes[i].Topics))
	flags := map[string]bool{}
	for j, topic := range nodes[i].Topics {
		flags[topic] = nodes[i].Tombstones[j]
	}
	require.Equal(t, map[string]bool{"t": true, "u": false}, flags)
}

// Each nsqd reads its own fake clock, so the test ends the lookup client's
// reconnect backoff by advancing the clock once the restarted lookupd is up,
// instead of waiting for it in real time.
func TestClusterRestartedLookupdGetsEveryRegistrationAgain(t *testing.T) {
	c := &cluster{}
	for range 2 {
		c.lookupds = append(c.lookupds, startClusterLookupd(t, "127.0.0.1:0", "127.0.0.1:0", nil))
	}
	clocks := make([]*clock.Fake, 3)
	for i := range clocks {
		clocks[i] = clock.NewFake(time.Now())
		c.nsqds = append(c.nsqds, startDaemon(t, func(o *Options) {
			o.NSQLookupdTCPAddresses = c.lookupdTCPAddrs()
			o.Clock = clocks[i]
		}))
	}
	n0, n1, n2 := c.nsqds[0], c.nsqds[1], c.nsqds[2]
	for _, reg := range []struct {
		n       *NSQD
		topic   string
		channel string
	}{
		{n0, "ta", "c1"}, {n1, "ta", "c2"}, {n1, "tb", ""}, {n2, "tc", "c3"},
	} {
		topic, err := reg.n.GetTopic(reg.topic)
		require.NoError(t, err)
		if reg.channel != "" {
			_, err = topic.GetChannel(reg.channel)
			require.NoError(t, err)
		}
	}
	want := func(lookupds []*testLookupd) {
		t.Helper()
		awaitLookup(t, lookupds, "ta", []*NSQD{n0, n1}, []string{"c1", "c2"})
		awaitLookup(t, lookupds, "tb", []*NSQD{n1}, nil)
		awaitLookup(t, lookupds, "tc", []*NSQD{n2}, []string{"c3"})
	}
	want(c.lookupds)

	restarted := c.lookupds[0].restart(nil)
	for _, clk := range clocks {
		// The nsqd saw the connection close and backs off (the earliest of
		// its timers: the PING tickers are 15 s out); the lookupd is
		// already listening again when the backoff ends.
		awaitDeadline(t, clk, clk.Now().Add(lookupclient.MinReconnectBackoff))
		clk.Advance(lookupclient.MinReconnectBackoff)
	}

	want([]*testLookupd{restarted})
	require.Equal(t, []string{"ta", "tb", "tc"}, lookupdTopics(t, restarted))
	require.Equal(t, []string{"c1", "c2"}, lookupdChannels(t, restarted, "ta"))
	require.Equal(t, tcpPorts(c.nsqds...), nodePorts(lookupdNodes(t, restarted)))
}

// A real nsqd PINGs on lookupclient's own 15 s ticker, which the test does
// not control: the registrants here are raw V1 connections, one silent and
// one the test PINGs. The lookupd reads a fake clock (nsqlookupd's
// Options.Clock) that the test moves to either side of the timeout.
func TestClusterSilentProducerDropsOutAfterInactiveTimeout(t *testing.T) {
	const timeout = 30 * time.Second
	fake := clock.NewFake(time.Now())
	c := startCluster(t, 1, 0, func(o *nsqlookupd.Options) {
		o.InactiveProducerTimeout = timeout
		o.Clock = fake
	})
	l := c.lookupds[0]
	identifiedAt := fake.Now()
	silent := dialFakeProducer(t, l, 1001, 2001)
	silent.command("REGISTER t")
	pinging := dialFakeProducer(t, l, 1002, 2002)
	pinging.command("REGISTER t")
	resp, found := lookupTopic(t, l, "t")
	require.True(t, found)
	require.Equal(t, []int{1001, 1002}, producerPorts(resp.Producers))

	fake.Advance(timeout / 2)
	pinging.command("PING")
	fake.AdvanceTo(identifiedAt.Add(timeout))
	resp, _ = lookupTopic(t, l, "t")
	require.Equal(t, []int{1001, 1002}, producerPorts(resp.Producers), "both listed at exactly the timeout")

	fake.Advance(time.Nanosecond)
	resp, found = lookupTopic(t, l, "t")
	require.True(t, found)
	require.Equal(t, []int{1002}, producerPorts(resp.Producers), "the silent producer drops out, the pinging one stays")
	require.Equal(t, []int{1002}, nodePorts(lookupdNodes(t, l)))
}

func TestClusterInactiveProducerReappearsAfterPing(t *testing.T) {
	const timeout = 30 * time.Second
	fake := clock.NewFake(time.Now())
	c := startCluster(t, 1, 0, func(o *nsqlookupd.Options) {
		o.InactiveProducerTimeout = timeout
		o.Clock = fake
	})
	l := c.lookupds[0]
	p := dialFakeProducer(t, l, 1001, 2001)
	p.command("REGISTER t")
	fake.Advance(timeout + time.Nanosecond)
	resp, found := lookupTopic(t, l, "t")
	require.True(t, found)
	require.Empty(t, resp.Producers, "inactive after the timeout")
	require.Empty(t, lookupdNodes(t, l))

	p.command("PING")

	resp, found = lookupTopic(t, l, "t")
	require.True(t, found)
	require.Equal(t, []int{1001}, producerPorts(resp.Producers))
	require.Equal(t, []int{1001}, nodePorts(lookupdNodes(t, l)))
}

// putLookupdAddresses sets n's lookupds through PUT /config and requires
// the 200 answer echoing them.
func putLookupdAddresses(t *testing.T, n *NSQD, addrs []string) {
	t.Helper()
	body := `["` + strings.Join(addrs, `","`) + `"]`
	status, reply, _ := httpDo(t, http.MethodPut, httpURL(n, "/config/nsqlookupd_tcp_addresses"), strings.NewReader(body))
	require.Equal(t, http.StatusOK, status, "body %s", reply)
	require.JSONEq(t, body, string(reply))
}

func TestClusterConfigPutLookupdAddressesConnectsAddedLookupd(t *testing.T) {
	c := startCluster(t, 2, 1, nil)
	n := c.nsqds[0]
	dialV2(t, n).subscribe("t", "c")
	awaitLookup(t, c.lookupds, "t", c.nsqds, []string{"c"})
	added := startClusterLookupd(t, "127.0.0.1:0", "127.0.0.1:0", nil)

	putLookupdAddresses(t, n, append(c.lookupdTCPAddrs(), added.RealTCPAddr().String()))

	awaitLookup(t, []*testLookupd{added}, "t", c.nsqds, []string{"c"})
}

func TestClusterConfigPutLookupdAddressesDisconnectsRemovedLookupd(t *testing.T) {
	c := startCluster(t, 2, 1, nil)
	n := c.nsqds[0]
	publish(t, n, "t", "x")
	awaitLookup(t, c.lookupds, "t", c.nsqds, nil)
	kept, removed := c.lookupds[0], c.lookupds[1]

	putLookupdAddresses(t, n, []string{kept.RealTCPAddr().String()})

	// A lookupd drops a producer as soon as its connection closes.
	awaitState(t, "the nsqd to leave the removed lookupd's /nodes", func() error {
		if nodes := lookupdNodes(t, removed); len(nodes) != 0 {
			return fmt.Errorf("/nodes %+v", nodes)
		}
		return nil
	})
	require.NoError(t, lookupHas(t, kept, "t", c.nsqds, nil))
}

func TestClusterNSQDServesProducersAndConsumersWhileEveryLookupdIsDown(t *testing.T) {
	c := startCluster(t, 2, 3, nil)
	awaitIdentified(t, c)
	for _, l := range c.lookupds {
		l.stop()
	}

	for i, n := range c.nsqds {
		// A new topic makes nsqd look for channels to pre-create on the
		// lookupds, which must not get in the way.
		consumer := dialV2(t, n)
		consumer.subscribe("down", "c")
		consumer.send("RDY 1")
		body := fmt.Sprintf("while-down-%d", i)
		publish(t, n, "down", body)
		msg := consumer.readMessage()
		require.Equal(t, body, string(msg.Body))
		consumer.fin(msg.ID)
	}
}

func TestClusterNewTopicPreCreatesChannelsLookupdKnows(t *testing.T) {
	c := startCluster(t, 2, 2, nil)
	a, b := c.nsqds[0], c.nsqds[1]
	dialV2(t, a).subscribe("t", "c")
	awaitLookup(t, c.lookupds, "t", []*NSQD{a}, []string{"c"})
	// b asks only lookupds it is connected to; once they show its
	// registration of another topic, it is.
	_, err := b.GetTopic("warmup")
	require.NoError(t, err)
	awaitLookup(t, c.lookupds, "warmup", []*NSQD{b}, nil)

	publish(t, b, "t", "first")

	// Created before the message was queued, so the message is in it.
	require.EqualValues(t, 1, existingChannel(t, b, "t", "c").Depth())
	consumer := dialV2(t, b)
	consumer.subscribe("t", "c")
	consumer.send("RDY 1")
	require.Equal(t, "first", string(consumer.readMessage().Body))
}

func TestClusterNewTopicDoesNotPreCreateEphemeralChannels(t *testing.T) {
	c := startCluster(t, 2, 2, nil)
	a, b := c.nsqds[0], c.nsqds[1]
	// Consumers keep both channels on a (an ephemeral channel goes away
	// with its last consumer).
	dialV2(t, a).subscribe("t", "c")
	dialV2(t, a).subscribe("t", "e#ephemeral")
	awaitLookup(t, c.lookupds, "t", []*NSQD{a}, []string{"c", "e#ephemeral"})
	_, err := b.GetTopic("warmup")
	require.NoError(t, err)
	awaitLookup(t, c.lookupds, "warmup", []*NSQD{b}, nil)

	publish(t, b, "t", "first")

	topic, err := b.GetExistingTopic("t")
	require.NoError(t, err)
	var names []string
	for _, ch := range topic.Channels() {
		names = append(names, ch.Name())
	}
	require.Equal(t, []string{"c"}, names)
}

// The real go-nsq consumer finds all three nsqds through our lookupds'
// /lookup and gets every message. The channel exists on every node before
// anything is published, so every message waits for the consumer there
// whenever it connects: the result does not depend on timing.
func TestClusterGoNSQConsumerViaLookupdReceivesEveryMessage(t *testing.T) {
	c := startCluster(t, 2, 3, nil)
	for _, n := range c.nsqds {
		topic, err := n.GetTopic("t")
		require.NoError(t, err)
		_, err = topic.GetChannel("c")
		require.NoError(t, err)
	}
	const count = 30
	want := numbered("body-", count)
	for i, body := range want {
		publish(t, c.nsqds[i%len(c.nsqds)], "t", body)
	}
	awaitLookup(t, c.lookupds, "t", c.nsqds, []string{"c"})

	cfg := nsq.NewConfig()
	cfg.LookupdPollInterval = 100 * time.Millisecond
	// Enough RDY for every connection at once, so none waits for go-nsq
	// to redistribute it.
	cfg.MaxInFlight = 16
	consumer, err := nsq.NewConsumer("t", "c", cfg)
	require.NoError(t, err)
	consumer.SetLogger(newGuardedLogger(t), nsq.LogLevelInfo)
	// Buffered beyond what can arrive, so the handler never blocks; a
	// duplicate would take the place of a missing body below.
	received := make(chan string, 4*count)
	consumer.AddHandler(nsq.HandlerFunc(func(m *nsq.Message) error {
		select {
		case received <- string(m.Body):
		default:
		}
		return nil
	}))
	t.Cleanup(func() {
		consumer.Stop()
		select {
		case <-consumer.StopChan:
		case <-time.After(clusterTimeout):
			t.Error("go-nsq consumer did not stop in time")
		}
	})
	require.NoError(t, consumer.ConnectToNSQLookupds(c.lookupdHTTPAddrs()))

	var got []string
	deadline := time.After(clusterTimeout)
	for len(got) < count {
		select {
		case body := <-received:
			got = append(got, body)
		case <-deadline:
			t.Fatalf("received %d of %d messages: %v", len(got), count, got)
		}
	}
	require.ElementsMatch(t, want, got)
	require.Equal(t, len(c.nsqds), consumer.Stats().Connections, "connected to every nsqd")
}
