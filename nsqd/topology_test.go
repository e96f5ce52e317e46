package nsqd

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// topologyDaemon is upstream's test node: region "region", zone "zone",
// the experiment on.
func topologyDaemon(t *testing.T, configure func(*Options)) *NSQD {
	return startDaemon(t, func(o *Options) {
		o.EnableExperiments = []string{experimentTopologyAware}
		o.TopologyRegion = "region"
		o.TopologyZone = "zone"
		if configure != nil {
			configure(o)
		}
	})
}

// localityConsumer subscribes to t/c declaring zone and region (empty:
// not sent) and sets RDY rdy; its messages are reported on got, tagged
// with name, by a reader goroutine that ends with the connection.
func localityConsumer(t *testing.T, n *NSQD, name, zone, region string, rdy int, got chan<- string) map[string]any {
	t.Helper()
	c := dialV2(t, n)
	fields := map[string]any{"feature_negotiation": true}
	if zone != "" {
		fields["topology_zone"] = zone
	}
	if region != "" {
		fields["topology_region"] = region
	}
	reply := c.identify(fields)
	c.subscribe("t", "c")
	c.send(fmt.Sprintf("RDY %d", rdy))
	go func() {
		for {
			frameType, _, err := c.readFrameErr(time.Minute)
			if err != nil {
				return
			}
			if frameType == protocol.FrameTypeMessage {
				got <- name
			}
		}
	}()
	return reply
}

// awaitIdle waits until count consumers of t/c wait for messages with
// credit: the state in which a message's placement is decided.
func awaitIdle(t *testing.T, n *NSQD, count int) *Channel {
	t.Helper()
	ch := awaitSubscribers(t, n, "t", "c", count)
	waitFor(t, fmt.Sprintf("%d idle consumers", count), func() bool {
		ch.mu.Lock()
		defer ch.mu.Unlock()
		idle := 0
		for _, cl := range ch.clients {
			if cl.waiting && cl.credit() > 0 {
				idle++
			}
		}
		return idle == count
	})
	return ch
}

func receive(t *testing.T, got <-chan string) string {
	t.Helper()
	select {
	case name := <-got:
		return name
	case <-time.After(10 * time.Second):
		t.Fatal("no message delivered within 10s")
		return ""
	}
}

// Upstream's own case: two consumers in nsqd's zone and two in another,
// each RDY 10; of 21 messages the 20 the same-zone consumers have credit
// for go to them, the 21st to the other zone, which was never held back.
func TestTopologyAwareDeliveryPrefersSameZone(t *testing.T) {
	n := topologyDaemon(t, nil)
	got := make(chan string, 32)
	reply := localityConsumer(t, n, "zone-a", "zone", "", 10, got)
	require.Equal(t, "zone", reply["topology_zone"], "IDENTIFY answers nsqd's own zone")
	require.Equal(t, "region", reply["topology_region"])
	localityConsumer(t, n, "zone-b", "zone", "", 10, got)
	localityConsumer(t, n, "zone2-a", "zone2", "", 10, got)
	localityConsumer(t, n, "zone2-b", "zone2", "", 10, got)
	awaitIdle(t, n, 4)

	producer := dialV2(t, n)
	byConsumer := map[string]int{}
	var last string
	for i := range 21 {
		producer.pub("t", fmt.Sprintf("m%d", i))
		// Each message is placed before the next is published; the
		// consumer that got it is idle again by the time it reads it.
		last = receive(t, got)
		byConsumer[last]++
	}
	require.Equal(t, 20, byConsumer["zone-a"]+byConsumer["zone-b"], "%v", byConsumer)
	require.Equal(t, 1, byConsumer["zone2-a"]+byConsumer["zone2-b"], "%v", byConsumer)
	require.Contains(t, []string{"zone2-a", "zone2-b"}, last, "only the message the zone had no credit for left it")

	stats := channelStats(t, getStats(t, n, ""), "t", "c")
	require.Equal(t, uint64(20), stats.ZoneLocalMsgCount)
	require.Equal(t, uint64(0), stats.RegionLocalMsgCount)
	require.Equal(t, uint64(1), stats.GlobalMsgCount)
	zones := map[string]int{}
	for _, cl := range stats.Clients {
		zones[cl.TopologyZone]++
	}
	require.Equal(t, map[string]int{"zone": 2, "zone2": 2}, zones)
}

// The same through disk: with --mem-queue-size=0 every message is read back
// from the channel's disk queue, and the preference still holds (upstream
// applies it only to messages put in memory).
func TestTopologyAwareDeliveryFromDisk(t *testing.T) {
	n := topologyDaemon(t, func(o *Options) { o.MemQueueSize = 0 })
	got := make(chan string, 32)
	localityConsumer(t, n, "zone-a", "zone", "", 10, got)
	localityConsumer(t, n, "zone-b", "zone", "", 10, got)
	localityConsumer(t, n, "zone2-a", "zone2", "", 10, got)
	localityConsumer(t, n, "zone2-b", "zone2", "", 10, got)
	ch := awaitIdle(t, n, 4)

	producer := dialV2(t, n)
	producer.mpub("t", numbered("m", 21)...) // all 21 at once
	byZone := map[string]int{}
	for range 21 {
		name := receive(t, got)
		byZone[name[:len(name)-2]]++
	}
	require.Equal(t, map[string]int{"zone": 20, "zone2": 1}, byZone)
	backlog, _ := ch.queue.DiskStats()
	require.Positive(t, backlog.WritePos, "the messages went through the disk queue")
	stats := channelStats(t, getStats(t, n, ""), "t", "c")
	require.Equal(t, uint64(20), stats.ZoneLocalMsgCount)
	require.Equal(t, uint64(1), stats.GlobalMsgCount)
}

// A region-local consumer (another zone of nsqd's region) comes before one
// from elsewhere.
func TestTopologyAwareDeliveryPrefersSameRegion(t *testing.T) {
	n := topologyDaemon(t, nil)
	got := make(chan string, 16)
	localityConsumer(t, n, "region", "zone9", "region", 5, got)
	localityConsumer(t, n, "global", "zone9", "region9", 5, got)
	awaitIdle(t, n, 2)
	producer := dialV2(t, n)
	var order []string
	for i := range 6 {
		producer.pub("t", fmt.Sprintf("m%d", i))
		order = append(order, receive(t, got))
	}
	require.Equal(t, []string{"region", "region", "region", "region", "region", "global"}, order)
	stats := channelStats(t, getStats(t, n, ""), "t", "c")
	require.Equal(t, uint64(5), stats.RegionLocalMsgCount)
	require.Equal(t, uint64(1), stats.GlobalMsgCount)
	require.Zero(t, stats.ZoneLocalMsgCount)
}

// A preferred consumer that stops being ready (RDY 0) no longer keeps
// messages from the others.
func TestTopologyAwareDeliveryDoesNotWaitForAStalledLocalConsumer(t *testing.T) {
	n := topologyDaemon(t, func(o *Options) { o.MemQueueSize = 0 })
	got := make(chan string, 16)
	local := dialV2(t, n)
	local.identify(map[string]any{"topology_zone": "zone"})
	local.subscribe("t", "c")
	local.send("RDY 5")
	localityConsumer(t, n, "far", "zone2", "", 5, got)
	awaitIdle(t, n, 2)
	local.send("RDY 0")
	producer := dialV2(t, n)
	producer.pub("t", "m")
	require.Equal(t, "far", receive(t, got))
}

// With the experiment off the values are still reported (/info, IDENTIFY),
// nothing is counted and /stats keeps 1.3's shape.
func TestTopologyReportedButInactiveWithoutTheExperiment(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.TopologyZone = "zone"; o.TopologyRegion = "region" })
	status, body := httpGet(t, n, "/info")
	require.Equal(t, http.StatusOK, status)
	var info map[string]any
	require.NoError(t, json.Unmarshal(body, &info))
	require.Equal(t, "zone", info["topology_zone"])
	require.Equal(t, "region", info["topology_region"])

	c := dialV2(t, n)
	c.identify(map[string]any{"topology_zone": "zone"})
	c.subscribe("t", "c")
	c.send("RDY 1")
	publish(t, n, "t", "m")
	c.fin(c.readMessage().ID)
	stats := getStats(t, n, "")
	channel := channelStats(t, stats, "t", "c")
	require.Zero(t, channel.ZoneLocalMsgCount+channel.RegionLocalMsgCount+channel.GlobalMsgCount)
	_, raw := httpGet(t, n, "/stats?format=json")
	require.NotContains(t, string(raw), "zone_local_msg_count")
}

// A less local consumer may have gone to sleep leaving a message to an idle
// local one; if that one then stops being ready (RDY 0) instead of taking
// it, the sleepers are woken to look again rather than left waiting for
// the next arrival.
func TestTopologyStalledLocalConsumerWakesTheOthers(t *testing.T) {
	n := topologyDaemon(t, nil)
	got := make(chan string, 4)
	local := dialV2(t, n)
	local.identify(map[string]any{"topology_zone": "zone"})
	local.subscribe("t", "c")
	local.send("RDY 5")
	localityConsumer(t, n, "far", "zone2", "", 5, got)
	ch := awaitIdle(t, n, 2)
	ch.mu.Lock()
	sleepers := ch.readyWait
	ch.mu.Unlock()
	require.NotNil(t, sleepers)
	local.send("RDY 0")
	select {
	case <-sleepers:
	case <-time.After(10 * time.Second):
		t.Fatal("RDY 0 of an idle local consumer did not wake the channel's waiters")
	}
}

// nsqd tells its lookupds its topology; they keep it with the producer and
// report it in /lookup, /nodes and /debug, as upstream master.
func TestTopologyReachesLookupd(t *testing.T) {
	l := startClusterLookupd(t, "127.0.0.1:0", "127.0.0.1:0", nil)
	n := startDaemon(t, func(o *Options) {
		o.NSQLookupdTCPAddresses = []string{l.RealTCPAddr().String()}
		o.TopologyZone = "eu-1a"
		o.TopologyRegion = "eu"
	})
	_, err := n.GetTopic("t")
	require.NoError(t, err)
	var lookup struct {
		Producers []map[string]any `json:"producers"`
	}
	waitFor(t, "topic registered", func() bool {
		return lookupdGetJSON(t, l, "/lookup?topic=t", &lookup) == http.StatusOK && len(lookup.Producers) == 1
	})
	require.Equal(t, "eu-1a", lookup.Producers[0]["topology_zone"])
	require.Equal(t, "eu", lookup.Producers[0]["topology_region"])
	var nodes struct {
		Producers []map[string]any `json:"producers"`
	}
	require.Equal(t, http.StatusOK, lookupdGetJSON(t, l, "/nodes", &nodes))
	require.Equal(t, "eu-1a", nodes.Producers[0]["topology_zone"])
	var debug map[string][]map[string]any
	require.Equal(t, http.StatusOK, lookupdGetJSON(t, l, "/debug", &debug))
	require.Equal(t, "eu", debug["topic:t:"][0]["topology_region"])
}

// With the experiment on, /metrics carries the locality counters.
func TestTopologyCountersInMetrics(t *testing.T) {
	n := topologyDaemon(t, nil)
	got := make(chan string, 4)
	localityConsumer(t, n, "zone", "zone", "", 5, got)
	awaitIdle(t, n, 1)
	publish(t, n, "t", "a", "b")
	receive(t, got)
	receive(t, got)
	families := scrape(t, n)
	require.Equal(t, float64(2), metricValue(t, families, "nsq_channel_zone_local_messages_total", "channel=c", "topic=t"))
	require.Equal(t, float64(0), metricValue(t, families, "nsq_channel_global_messages_total", "channel=c", "topic=t"))
}

// Deferred messages coming due get the preference too: 21 DPUBs come due
// while the channel is paused (so that all of them are ready together, as
// the MPUB of the disk case), then the channel resumes.
func TestTopologyAwareDeliveryOfDeferredMessages(t *testing.T) {
	n := topologyDaemon(t, nil)
	got := make(chan string, 32)
	localityConsumer(t, n, "zone-a", "zone", "", 10, got)
	localityConsumer(t, n, "zone-b", "zone", "", 10, got)
	localityConsumer(t, n, "zone2-a", "zone2", "", 10, got)
	localityConsumer(t, n, "zone2-b", "zone2", "", 10, got)
	ch := awaitIdle(t, n, 4)
	ch.Pause()
	producer := dialV2(t, n)
	for i := range 21 {
		producer.send("DPUB t 50", []byte(fmt.Sprintf("m%d", i)))
		producer.expectResponse("OK")
	}
	waitForStats(t, n, "all due", func(s statsResponse) bool {
		c := channelStats(t, s, "t", "c")
		return c.DeferredCount == 0 && c.Depth == 21
	})
	ch.Unpause()
	byZone := map[string]int{}
	for range 21 {
		name := receive(t, got)
		byZone[name[:len(name)-2]]++
	}
	require.Equal(t, map[string]int{"zone": 20, "zone2": 1}, byZone)
}
