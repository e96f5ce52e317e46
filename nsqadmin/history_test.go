package nsqadmin

import (
	"net/http"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest"
	"github.com/nsqgo/nsq/internal/tooltest/daemons"
	"github.com/nsqgo/nsq/nsqd"
)

var epoch = time.Unix(1_700_000_000, 0)

func at(seconds float64) time.Time { return epoch.Add(time.Duration(seconds * float64(time.Second))) }

func TestHistoryRatesAreMessagesPerSecondBetweenPolls(t *testing.T) {
	h := newHistory(10*time.Second, time.Hour, 10)
	key := seriesKey{topic: "t"}
	h.record(at(0), map[seriesKey]sample{key: {messageCount: 100, depth: 5}})
	h.record(at(10), map[seriesKey]sample{key: {messageCount: 150, depth: 7}})
	h.record(at(15), map[seriesKey]sample{key: {messageCount: 250}})
	h.record(at(25), map[seriesKey]sample{key: {messageCount: 20}}) // an nsqd restarted
	points, ok := h.points(key, 0)
	require.True(t, ok)
	require.Len(t, points, 4)
	require.Equal(t, []float64{0, 5, 20, 0}, []float64{points[0].Rate, points[1].Rate, points[2].Rate, points[3].Rate})
	require.EqualValues(t, 7, points[1].Depth)
	require.Equal(t, at(10).Unix(), points[1].TS)
}

func TestHistoryRingKeepsRetentionOldestFirst(t *testing.T) {
	h := newHistory(10*time.Second, time.Minute, 10) // 7 points
	key := seriesKey{topic: "t", channel: "c"}
	for i := range 20 {
		h.record(at(float64(10*i)), map[seriesKey]sample{key: {messageCount: int64(i)}})
	}
	points, _ := h.points(key, 0)
	require.Len(t, points, 7)
	for i, p := range points {
		require.EqualValues(t, 13+i, p.MessageCount, "oldest first")
	}
	since, _ := h.points(key, at(180).Unix())
	require.Len(t, since, 2)
	require.EqualValues(t, 18, since[0].MessageCount)
	require.Len(t, h.series[key].points, 7, "the ring never grows past retention")
}

func TestHistoryDropsSeriesUnseenForRetentionAndCapsSeries(t *testing.T) {
	h := newHistory(10*time.Second, time.Minute, 2)
	a, b, c := seriesKey{topic: "a"}, seriesKey{topic: "b"}, seriesKey{topic: "c"}
	refused := h.record(at(0), map[seriesKey]sample{a: {}, b: {}, c: {}})
	require.Equal(t, 1, refused)
	_, okA := h.points(a, 0)
	_, okC := h.points(c, 0)
	require.True(t, okA)
	require.False(t, okC, "the cap refuses the last in name order")

	h.record(at(30), map[seriesKey]sample{a: {}})
	h.record(at(70), map[seriesKey]sample{a: {}, c: {}})
	_, okB := h.points(b, 0)
	require.False(t, okB, "b was not seen for longer than the retention")
	_, okC = h.points(c, 0)
	require.True(t, okC, "its place went to c")
}

func TestSamplesSumNodesAndTopicsIncludeTheirChannels(t *testing.T) {
	node := func(addr string, depth, inFlight, count int64, p99 float64) *TopicStats {
		return &TopicStats{
			Node: addr, TopicName: "t", Depth: depth, MessageCount: count,
			E2eProcessingLatency: &LatencyAggregate{Percentiles: []map[string]float64{{"quantile": 0.99, "value": p99}}},
			Channels: []*ChannelStats{{ChannelName: "c", Depth: depth * 2, InFlightCount: inFlight, DeferredCount: 1, MessageCount: count,
				E2eProcessingLatency: &LatencyAggregate{Percentiles: []map[string]float64{{"quantile": 0.99, "value": p99 * 2}}}}},
		}
	}
	s := samplesOf([]*TopicStats{node("a", 1, 2, 10, 100), node("b", 3, 4, 20, 300)})
	require.Equal(t, sample{depth: 4, inFlight: 6, deferred: 2, messageCount: 30, e2eP99: 300}, s[seriesKey{topic: "t"}])
	require.Equal(t, sample{depth: 8, inFlight: 6, deferred: 2, messageCount: 30, e2eP99: 600}, s[seriesKey{topic: "t", channel: "c"}])
}

func TestHistoryEndpointFollowsTheCluster(t *testing.T) {
	c := startCluster(t, 2)
	c.createChannel(t, 0, "graphs", "g")
	c.createChannel(t, 1, "graphs", "g")
	c.publish(t, 0, "graphs", "1", "2", "3")
	c.publish(t, 1, "graphs", "4")
	c.awaitLookup(t, "graphs", 0, 1)
	c.awaitChannelDepth(t, 0, "graphs", "g", 3)
	c.awaitChannelDepth(t, 1, "graphs", "g", 1)
	admin := startAdmin(t, func(o *Options) {
		lookupdMode(c)(o)
		o.HistoryInterval = 20 * time.Millisecond
	})
	type answer struct {
		ResolutionSeconds float64        `json:"resolution_seconds"`
		Points            []HistoryPoint `json:"points"`
	}
	var got answer
	tooltest.Eventually(t, "two points of the topic", func() bool {
		return admin.get(t, "/api/history?topic=graphs", &got) == http.StatusOK && len(got.Points) >= 2
	})
	require.Equal(t, 0.02, got.ResolutionSeconds)
	last := got.Points[len(got.Points)-1]
	require.EqualValues(t, 4, last.MessageCount, "summed over both nodes")
	require.EqualValues(t, 0, last.Depth, "the channels took every message")
	require.LessOrEqual(t, got.Points[0].TS, last.TS)

	var ch answer
	require.Equal(t, http.StatusOK, admin.get(t, "/api/history?topic=graphs&channel=g", &ch))
	require.NotEmpty(t, ch.Points)
	require.EqualValues(t, 4, ch.Points[len(ch.Points)-1].Depth, "summed over both nodes")

	c.publish(t, 0, "graphs", "5", "6")
	tooltest.Eventually(t, "a point with the new messages and a rate", func() bool {
		var a answer
		admin.get(t, "/api/history?topic=graphs&since="+strconv.FormatInt(last.TS, 10), &a)
		for _, p := range a.Points {
			if p.MessageCount == 6 {
				return true
			}
		}
		return false
	})
	var all answer
	admin.get(t, "/api/history?topic=graphs", &all)
	var sawRate bool
	for _, p := range all.Points {
		sawRate = sawRate || p.Rate > 0
	}
	require.True(t, sawRate, "the two new messages show as a rate")

	status, m := admin.object(t, "/api/history?topic=nope")
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, "TOPIC_NOT_FOUND", m["message"])
	status, m = admin.object(t, "/api/history?topic=graphs&channel=nope")
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, "CHANNEL_NOT_FOUND", m["message"])
	status, m = admin.object(t, "/api/history")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "MISSING_ARG_TOPIC", m["message"])
	status, m = admin.object(t, "/api/history?topic=graphs&since=soon")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "INVALID_ARG_SINCE", m["message"])
}

func TestHistoryCarriesTheP99Latency(t *testing.T) {
	lookupd := tooltest.StartLookupd(t)
	n := daemons.StartNSQD(t, []string{lookupd.TCPAddr()}, func(o *nsqd.Options) {
		o.E2EProcessingLatencyPercentiles = []float64{0.99}
	})
	tooltest.Publish(t, n.TCPAddr(), "lat", "1", "2")
	tooltest.Consume(t, n.TCPAddr(), "lat", "c").WaitFor(t, 2)
	admin := startAdmin(t, func(o *Options) {
		o.NSQDHTTPAddresses = []string{n.HTTPAddr()}
		o.HistoryInterval = 20 * time.Millisecond
	})
	tooltest.Eventually(t, "a p99 latency in the channel's history", func() bool {
		var a struct {
			Points []HistoryPoint `json:"points"`
		}
		if admin.get(t, "/api/history?topic=lat&channel=c", &a) != http.StatusOK {
			return false
		}
		return len(a.Points) > 0 && a.Points[len(a.Points)-1].E2eP99 > 0
	})
}

// TestHistoryMemoryBoundIsTheDocumentedOne keeps README's figure (about
// 23 KB per full series at the defaults, 2000 series) true.
func TestHistoryMemoryBoundIsTheDocumentedOne(t *testing.T) {
	opts := NewOptions()
	h := newHistory(opts.HistoryInterval, opts.HistoryRetention, opts.HistoryMaxSeries)
	require.Equal(t, 361, h.capacity)
	perSeries := h.capacity * int(unsafe.Sizeof(HistoryPoint{}))
	require.LessOrEqual(t, perSeries, 23*1024+200)
	require.Equal(t, 2000, h.maxSeries)
}
