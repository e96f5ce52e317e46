package nsqd

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nsqgo/nsq/nsqd/metrics/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// scrape fetches /metrics and parses it with the client library's parser.
func scrape(t testing.TB, n *NSQD) map[string]*dto.MetricFamily {
	t.Helper()
	status, body, header := httpDo(t, http.MethodGet, httpURL(n, "/metrics"), nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.Contains(t, header.Get("Content-Type"), "text/plain")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	require.NoError(t, err, "%s", body)
	return families
}

// series finds the sample of family name whose labels are exactly labels
// ("k=v" pairs); nil when there is none.
func series(families map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	family, ok := families[name]
	if !ok {
		return nil
	}
	for _, m := range family.GetMetric() {
		var got []string
		for _, l := range m.GetLabel() {
			got = append(got, l.GetName()+"="+l.GetValue())
		}
		if strings.Join(got, ",") == strings.Join(labels, ",") {
			return m
		}
	}
	return nil
}

// metricValue is the value of a gauge or counter sample that must exist.
func metricValue(t testing.TB, families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	m := series(families, name, labels...)
	require.NotNil(t, m, "no series %s%v", name, labels)
	switch families[name].GetType() {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	}
	t.Fatalf("%s is a %s", name, families[name].GetType())
	return 0
}

func requireType(t testing.TB, families map[string]*dto.MetricFamily, name string, want dto.MetricType) {
	t.Helper()
	require.Contains(t, families, name)
	require.Equal(t, want, families[name].GetType(), name)
}

// After a known workload every per-topic and per-channel value of /metrics
// equals what /stats reports, counters are counters, and the FIN latency
// histogram counted exactly the FINs.
func TestMetricsMatchStatsAfterKnownWorkload(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 4; o.SyncEvery = 1 })

	consumer := dialV2(t, n)
	consumer.subscribe("orders", "work")
	producer := dialV2(t, n)
	for i := range 10 {
		producer.pub("orders", fmt.Sprintf("body-%02d", i)) // 7 bytes each
	}
	producer.mpub("orders", "abc", "defg") // 7 bytes

	// 12 messages: 4 in memory, 8 on disk. Take 6: FIN 4, REQ 1 (it
	// comes back, so 7 stay ready), keep 1 in flight.
	consumer.send("RDY 6")
	msgs := consumer.readMessages(6)
	consumer.send("RDY 0") // nothing more until the checks are done
	for _, m := range msgs[:4] {
		consumer.fin(m.ID)
	}
	consumer.req(msgs[4].ID, 0)
	waitForStats(t, n, "FINs and REQ applied", func(s statsResponse) bool {
		c := channelStats(t, s, "orders", "work")
		return c.InFlightCount == 1 && c.RequeueCount == 1
	})

	// Refused publishes, one per protocol.
	status, _ := httpPost(t, n, "/pub?topic=orders", strings.Repeat("x", int(n.opts.MaxMsgSize)+1))
	require.Equal(t, http.StatusRequestEntityTooLarge, status)
	bad := dialV2(t, n)
	bad.send("PUB bad*topic", []byte("x"))
	bad.expectFatal(`E_BAD_TOPIC PUB topic name "bad*topic" is not valid`)

	stats := getStats(t, n, "")
	topic := topicStats(t, stats, "orders")
	channel := channelStats(t, stats, "orders", "work")
	families := scrape(t, n)

	for name, typ := range map[string]dto.MetricType{
		"nsq_topic_depth": dto.MetricType_GAUGE, "nsq_topic_backend_depth": dto.MetricType_GAUGE,
		"nsq_topic_paused": dto.MetricType_GAUGE, "nsq_channel_depth": dto.MetricType_GAUGE,
		"nsq_channel_backend_depth": dto.MetricType_GAUGE, "nsq_channel_in_flight_count": dto.MetricType_GAUGE,
		"nsq_channel_deferred_count": dto.MetricType_GAUGE, "nsq_channel_client_count": dto.MetricType_GAUGE,
		"nsq_channel_paused": dto.MetricType_GAUGE, "nsq_channel_oldest_message_age_seconds": dto.MetricType_GAUGE,
		"nsq_topic_messages_total": dto.MetricType_COUNTER, "nsq_topic_message_bytes_total": dto.MetricType_COUNTER,
		"nsq_channel_messages_total": dto.MetricType_COUNTER, "nsq_channel_requeued_total": dto.MetricType_COUNTER,
		"nsq_channel_timed_out_total": dto.MetricType_COUNTER, "nsq_channel_finished_total": dto.MetricType_COUNTER,
		"nsq_publish_errors_total": dto.MetricType_COUNTER, "nsq_channel_e2e_processing_latency_seconds": dto.MetricType_HISTOGRAM,
		"nsq_disk_queue_fsync_duration_seconds": dto.MetricType_HISTOGRAM, "nsq_build_info": dto.MetricType_GAUGE,
		"go_goroutines": dto.MetricType_GAUGE,
	} {
		requireType(t, families, name, typ)
	}

	tl := []string{"topic=orders"}
	require.Equal(t, float64(topic.Depth), metricValue(t, families, "nsq_topic_depth", tl...))
	require.Equal(t, float64(topic.BackendDepth), metricValue(t, families, "nsq_topic_backend_depth", tl...))
	require.Equal(t, float64(12), metricValue(t, families, "nsq_topic_messages_total", tl...))
	require.Equal(t, float64(topic.MessageCount), metricValue(t, families, "nsq_topic_messages_total", tl...))
	require.Equal(t, float64(77), metricValue(t, families, "nsq_topic_message_bytes_total", tl...))
	require.Equal(t, float64(topic.MessageBytes), metricValue(t, families, "nsq_topic_message_bytes_total", tl...))
	require.Equal(t, float64(0), metricValue(t, families, "nsq_topic_paused", tl...))

	cl := []string{"channel=work", "topic=orders"}
	require.Equal(t, float64(7), metricValue(t, families, "nsq_channel_depth", cl...))
	require.Equal(t, float64(channel.Depth), metricValue(t, families, "nsq_channel_depth", cl...))
	require.Equal(t, float64(channel.BackendDepth), metricValue(t, families, "nsq_channel_backend_depth", cl...))
	require.Equal(t, float64(1), metricValue(t, families, "nsq_channel_in_flight_count", cl...))
	require.Equal(t, float64(channel.DeferredCount), metricValue(t, families, "nsq_channel_deferred_count", cl...))
	require.Equal(t, float64(1), metricValue(t, families, "nsq_channel_client_count", cl...))
	require.Equal(t, float64(12), metricValue(t, families, "nsq_channel_messages_total", cl...))
	require.Equal(t, float64(1), metricValue(t, families, "nsq_channel_requeued_total", cl...))
	require.Equal(t, float64(channel.TimeoutCount), metricValue(t, families, "nsq_channel_timed_out_total", cl...))
	require.Equal(t, float64(4), metricValue(t, families, "nsq_channel_finished_total", cl...))
	require.Greater(t, metricValue(t, families, "nsq_channel_oldest_message_age_seconds", cl...), float64(0))

	e2e := series(families, "nsq_channel_e2e_processing_latency_seconds", cl...)
	require.NotNil(t, e2e)
	require.Equal(t, uint64(4), e2e.GetHistogram().GetSampleCount())
	require.Greater(t, e2e.GetHistogram().GetSampleSum(), float64(0))

	require.Equal(t, float64(1), metricValue(t, families, "nsq_publish_errors_total", "protocol=http", "reason=MSG_TOO_BIG"))
	require.Equal(t, float64(1), metricValue(t, families, "nsq_publish_errors_total", "protocol=tcp", "reason=E_BAD_TOPIC"))

	fsync := families["nsq_disk_queue_fsync_duration_seconds"].GetMetric()[0].GetHistogram()
	require.Greater(t, fsync.GetSampleCount(), uint64(0), "messages went to disk with --sync-every=1")

	info := families["nsq_build_info"].GetMetric()[0]
	require.Equal(t, float64(1), info.GetGauge().GetValue())
	require.Equal(t, Version, series(families, "nsq_build_info", labelPairs(info)...).GetLabel()[2].GetValue())
	require.Equal(t, float64(1), metricValue(t, families, "nsq_healthy"))
}

func labelPairs(m *dto.Metric) []string {
	var out []string
	for _, l := range m.GetLabel() {
		out = append(out, l.GetName()+"="+l.GetValue())
	}
	return out
}

// Counters keep counting across scrapes and a paused channel says so.
func TestMetricsFollowChangesBetweenScrapes(t *testing.T) {
	n := startDaemon(t, nil)
	publish(t, n, "t", "a")
	require.Equal(t, float64(1), metricValue(t, scrape(t, n), "nsq_topic_messages_total", "topic=t"))
	publish(t, n, "t", "b", "c")
	tp, err := n.GetExistingTopic("t")
	require.NoError(t, err)
	_, err = tp.GetChannel("c")
	require.NoError(t, err)
	adminPost(t, n, "/channel/pause?topic=t&channel=c")
	families := scrape(t, n)
	require.Equal(t, float64(3), metricValue(t, families, "nsq_topic_messages_total", "topic=t"))
	require.Equal(t, float64(1), metricValue(t, families, "nsq_channel_paused", "channel=c", "topic=t"))
}

// --metrics-exclude-ephemeral leaves #ephemeral topics and channels out;
// by default they are there.
func TestMetricsExcludeEphemeral(t *testing.T) {
	for _, exclude := range []bool{false, true} {
		t.Run(fmt.Sprint(exclude), func(t *testing.T) {
			n := startDaemon(t, func(o *Options) { o.MetricsExcludeEphemeral = exclude })
			eph := dialV2(t, n)
			eph.subscribe("durable", "tmp#ephemeral")
			keep := dialV2(t, n)
			keep.subscribe("durable", "keep")
			keep2 := dialV2(t, n)
			keep2.subscribe("gone#ephemeral", "c")
			families := scrape(t, n)
			require.NotNil(t, series(families, "nsq_channel_depth", "channel=keep", "topic=durable"))
			present := series(families, "nsq_channel_depth", "channel=tmp#ephemeral", "topic=durable") != nil
			require.Equal(t, !exclude, present)
			present = series(families, "nsq_topic_depth", "topic=gone#ephemeral") != nil
			require.Equal(t, !exclude, present)
			present = series(families, "nsq_channel_depth", "channel=c", "topic=gone#ephemeral") != nil
			require.Equal(t, !exclude, present)
		})
	}
}

// With the histogram switched off, a FIN records nothing and the series is
// absent; the finish counter still counts.
func TestMetricsE2EHistogramCanBeSwitchedOff(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MetricsE2EHistogram = false })
	c := dialV2(t, n)
	c.subscribe("t", "c")
	publish(t, n, "t", "a")
	c.send("RDY 1")
	c.fin(c.readMessage().ID)
	waitFor(t, "FIN counted", func() bool { return existingChannel(t, n, "t", "c").finishCount.Load() == 1 })
	families := scrape(t, n)
	require.Nil(t, series(families, "nsq_channel_e2e_processing_latency_seconds", "channel=c", "topic=t"))
	require.Equal(t, float64(1), metricValue(t, families, "nsq_channel_finished_total", "channel=c", "topic=t"))
}

// The series count per topic and channel is what the README promises.
func TestMetricsSeriesPerTopicAndChannelAsDocumented(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	families := scrape(t, n)
	perTopic, perChannel := 0, 0
	for name, family := range families {
		if !strings.HasPrefix(name, "nsq_topic_") && !strings.HasPrefix(name, "nsq_channel_") {
			continue
		}
		for _, m := range family.GetMetric() {
			samples := 1
			if h := m.GetHistogram(); h != nil {
				samples = len(h.GetBucket()) + 2 // the parser keeps +Inf as a bucket; _sum, _count
			}
			if strings.HasPrefix(name, "nsq_topic_") {
				perTopic += samples
			} else {
				perChannel += samples
			}
		}
	}
	require.Equal(t, prometheus.SeriesPerTopic, perTopic)
	require.Equal(t, prometheus.SeriesPerChannel, perChannel)
}

// The whole exposition over real HTTP: gzipped for a scraper that accepts
// gzip, text whatever format the Accept header prefers (Prometheus' own
// header asks for protobuf first), and every family of it, the shared Go,
// process and build-info ones included, read by the client library's
// parser with its type.
func TestMetricsWholeExpositionOverHTTP(t *testing.T) {
	n := startDaemon(t, nil)
	publish(t, n, "t", "a")
	req, err := http.NewRequest(http.MethodGet, httpURL(n, "/metrics"), nil)
	require.NoError(t, err)
	req.Header.Set("Accept-Encoding", "gzip") // set by hand, so the client leaves the body compressed
	req.Header.Set("Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.1")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/plain; version=0.0.4; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(resp.Body)
	require.NoError(t, err)
	body, err := io.ReadAll(zr)
	require.NoError(t, err)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	require.NoError(t, err, "%s", body)
	for name, typ := range map[string]dto.MetricType{
		"go_gc_duration_seconds": dto.MetricType_SUMMARY, "go_memstats_alloc_bytes_total": dto.MetricType_COUNTER,
		"go_memstats_heap_inuse_bytes": dto.MetricType_GAUGE, "go_info": dto.MetricType_GAUGE, "go_threads": dto.MetricType_GAUGE,
		"go_sched_gomaxprocs_threads": dto.MetricType_GAUGE, "process_cpu_seconds_total": dto.MetricType_COUNTER,
		"process_resident_memory_bytes": dto.MetricType_GAUGE, "process_open_fds": dto.MetricType_GAUGE,
		"nsq_build_info": dto.MetricType_GAUGE, "nsq_topic_messages_total": dto.MetricType_COUNTER,
	} {
		requireType(t, families, name, typ)
	}
	for name, f := range families {
		require.NotEmpty(t, f.GetMetric(), name)
		require.NotEmpty(t, f.GetHelp(), name)
	}
	require.Equal(t, float64(1), metricValue(t, families, "nsq_topic_messages_total", "topic=t"))
	require.Greater(t, metricValue(t, families, "process_resident_memory_bytes"), float64(0))
}
