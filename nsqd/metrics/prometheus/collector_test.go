package prometheus

import (
	"bytes"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/promexpo"
	"github.com/nsqgo/nsq/nsqd/stats"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.prom from the collector's output")

// exposition is one scrape of the collector alone in the text format. It
// fails the test when a series does not fit its desc (the wrong number of
// label values, a family two descs claim, a series twice).
func exposition(t testing.TB, cfg Config) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, promexpo.NewRegistry(nil, NewCollector(cfg)).Write(&buf))
	return buf.String()
}

// gather is one scrape of the collector alone, read back by the client
// library's text parser, families by name.
func gather(t testing.TB, cfg Config) []*dto.MetricFamily {
	t.Helper()
	text := exposition(t, cfg)
	parsed, err := textParse(strings.NewReader(text))
	require.NoError(t, err, text)
	families := make([]*dto.MetricFamily, 0, len(parsed))
	for _, f := range parsed {
		families = append(families, f)
	}
	slices.SortFunc(families, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return families
}

// samples maps `name{k="v",...}` to the value of every gauge and counter
// sample, and histograms' _count to their sample counts.
func samples(families []*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			key := f.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch f.GetType() {
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[strings.Replace(key, "{", "_count{", 1)] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func histogramOf(durations ...time.Duration) *Histogram {
	h := NewHistogram(E2ELatencyBounds)
	for _, d := range durations {
		h.Observe(d)
	}
	return h
}

// knownSnapshot has one of everything: a bounded topic with a
// topology-aware, bounded channel whose dead path is on, a plain channel,
// ephemeral ones, refused publishes and fsyncs.
func knownSnapshot() Snapshot {
	deadDepth := int64(4)
	fsync := NewHistogram(FsyncBounds)
	fsync.Observe(300 * time.Microsecond)
	fsync.Observe(20 * time.Millisecond)
	return Snapshot{
		Topics: []Topic{{
			Stats: stats.Topic{TopicName: "orders", Depth: 5, BackendDepth: 3, MessageCount: 12, MessageBytes: 77, Paused: true,
				QueueHealth: stats.QueueHealth{DroppedCount: 1, DiskSkippedRecords: 2},
				QueueBounds: stats.QueueBounds{RejectedMaxDepthCount: 6, RejectedMaxBytesCount: 7, OverflowDroppedCount: 8}},
			Bounded: true,
			Channels: []Channel{{
				Stats: stats.Channel{ChannelName: "work", Depth: 7, BackendDepth: 2, InFlightCount: 1, DeferredCount: 3,
					MessageCount: 12, RequeueCount: 1, TimeoutCount: 2, ClientCount: 1, Paused: true,
					ZoneLocalMsgCount: 9, RegionLocalMsgCount: 10, GlobalMsgCount: 11,
					QueueHealth: stats.QueueHealth{DroppedCount: 3, DiskSkippedRecords: 4},
					QueueBounds: stats.QueueBounds{RejectedMaxDepthCount: 12, RejectedMaxBytesCount: 13, OverflowDroppedCount: 14, RedrivenCount: 15},
					Dead: stats.Dead{DeadCount: &deadDepth, DeadLetteredMaxAttempts: 16, DeadLetteredExpired: 17,
						DeadLetteredOverflow: 18, ExpiredCount: 19, DeadDroppedCount: 41, DeadErrorCount: 22}},
				OldestReadyAge: 1500 * time.Millisecond,
				FinishCount:    4,
				TopologyAware:  true,
				Bounded:        true,
				DeadDropped:    DeadDropped{MaxDeadDepth: 20, NoDeadSet: 21},
				Latency:        histogramOf(2*time.Millisecond, 40*time.Millisecond, 2*time.Second, 2*time.Hour),
			}, {
				Stats: stats.Channel{ChannelName: "plain"},
			}, {
				Stats: stats.Channel{ChannelName: "tmp#ephemeral", Depth: 1},
			}},
		}, {
			Stats:    stats.Topic{TopicName: "gone#ephemeral"},
			Channels: []Channel{{Stats: stats.Channel{ChannelName: "c"}}},
		}},
		PublishErrors: map[PublishError]uint64{{"http", "MSG_TOO_BIG"}: 1, {"tcp", "E_BAD_TOPIC"}: 2},
		Fsync:         fsync,
		Healthy:       true,
		Clients:       3,
	}
}

func fixed(s Snapshot) func() Snapshot { return func() Snapshot { return s } }

// The whole exposition of a known snapshot: names, HELP and TYPE lines,
// labels, values and order, byte for byte against testdata/known.prom,
// which client_golang's registry and text encoder wrote before nsqd served
// its own exposition (internal/promexpo).
func TestExpositionOfAKnownSnapshot(t *testing.T) {
	got := exposition(t, Config{Snapshot: fixed(knownSnapshot())})
	golden := filepath.Join("testdata", "known.prom")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), got)
}

// The values, one by one, are the snapshot's.
func TestSeriesCarryTheSnapshotsValues(t *testing.T) {
	got := samples(gather(t, Config{Snapshot: fixed(knownSnapshot())}))
	tl, cl := `{topic="orders"}`, `{channel="work",topic="orders"}`
	for key, want := range map[string]float64{
		"nsq_topic_depth" + tl: 5, "nsq_topic_backend_depth" + tl: 3, "nsq_topic_paused" + tl: 1,
		"nsq_topic_messages_total" + tl: 12, "nsq_topic_message_bytes_total" + tl: 77,
		"nsq_topic_messages_dropped_total" + tl: 1, "nsq_topic_disk_skipped_records_total" + tl: 2,
		`nsq_topic_messages_rejected_total{limit="max_depth",topic="orders"}`: 6,
		`nsq_topic_messages_rejected_total{limit="max_bytes",topic="orders"}`: 7,
		"nsq_topic_messages_overflow_dropped_total" + tl:                      8,

		"nsq_channel_depth" + cl: 7, "nsq_channel_backend_depth" + cl: 2, "nsq_channel_in_flight_count" + cl: 1,
		"nsq_channel_deferred_count" + cl: 3, "nsq_channel_client_count" + cl: 1, "nsq_channel_paused" + cl: 1,
		"nsq_channel_oldest_message_age_seconds" + cl: 1.5, "nsq_channel_messages_total" + cl: 12,
		"nsq_channel_requeued_total" + cl: 1, "nsq_channel_timed_out_total" + cl: 2, "nsq_channel_finished_total" + cl: 4,
		"nsq_channel_messages_dropped_total" + cl: 3, "nsq_channel_disk_skipped_records_total" + cl: 4,
		"nsq_channel_zone_local_messages_total" + cl: 9, "nsq_channel_region_local_messages_total" + cl: 10,
		"nsq_channel_global_messages_total" + cl:                                               11,
		`nsq_channel_messages_rejected_total{channel="work",limit="max_depth",topic="orders"}`: 12,
		`nsq_channel_messages_rejected_total{channel="work",limit="max_bytes",topic="orders"}`: 13,
		"nsq_channel_messages_overflow_dropped_total" + cl:                                     14, "nsq_channel_messages_redriven_total" + cl: 15,
		"nsq_channel_dead_depth" + cl: 4,
		`nsq_channel_dead_lettered_total{channel="work",reason="max_attempts",topic="orders"}`: 16,
		`nsq_channel_dead_lettered_total{channel="work",reason="expired",topic="orders"}`:      17,
		`nsq_channel_dead_lettered_total{channel="work",reason="overflow",topic="orders"}`:     18,
		"nsq_channel_expired_total" + cl: 19,
		`nsq_channel_dead_dropped_total{cause="max_dead_depth",channel="work",topic="orders"}`: 20,
		`nsq_channel_dead_dropped_total{cause="no_dead_set",channel="work",topic="orders"}`:    21,
		"nsq_channel_dead_letter_errors_total" + cl:                                            22,
		"nsq_channel_e2e_processing_latency_seconds_count" + cl:                                4,

		`nsq_publish_errors_total{protocol="http",reason="MSG_TOO_BIG"}`: 1,
		`nsq_publish_errors_total{protocol="tcp",reason="E_BAD_TOPIC"}`:  2,
		"nsq_disk_queue_fsync_duration_seconds_count{}":                  2,
		"nsq_healthy{}": 1, "nsq_clients{}": 3, "nsq_topics{}": 2,
	} {
		v, ok := got[key]
		require.True(t, ok, "no series %s", key)
		require.Equal(t, want, v, key)
	}
}

// seriesPer counts the samples of a topic's and a channel's families, a
// histogram's buckets (+Inf included), _sum and _count each one.
func seriesPer(families []*dto.MetricFamily, topic, channel string) (perTopic, perChannel int) {
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["topic"] != topic {
				continue
			}
			n := 1
			if h := m.GetHistogram(); h != nil {
				n = len(h.GetBucket()) + 2 // the parser keeps +Inf as a bucket; _sum, _count
			}
			switch {
			case strings.HasPrefix(f.GetName(), "nsq_topic_"):
				perTopic += n
			case labels["channel"] == channel:
				perChannel += n
			}
		}
	}
	return perTopic, perChannel
}

// The series counts the README promises: SeriesPerTopic and
// SeriesPerChannel with every bound and dead rule off, and
// SeriesDeadPerChannel more for a channel whose dead path is on.
func TestSeriesPerTopicAndChannelAsDocumented(t *testing.T) {
	zero := int64(0)
	snap := Snapshot{Topics: []Topic{{
		Stats: stats.Topic{TopicName: "t"},
		Channels: []Channel{
			{Stats: stats.Channel{ChannelName: "c"}, Latency: histogramOf()},
			{Stats: stats.Channel{ChannelName: "dead", Dead: stats.Dead{DeadCount: &zero}}, Latency: histogramOf()},
		},
	}}}
	families := gather(t, Config{Snapshot: fixed(snap)})
	perTopic, perChannel := seriesPer(families, "t", "c")
	require.Equal(t, SeriesPerTopic, perTopic)
	require.Equal(t, SeriesPerChannel, perChannel)
	_, perDeadChannel := seriesPer(families, "t", "dead")
	require.Equal(t, SeriesPerChannel+SeriesDeadPerChannel, perDeadChannel)
}

// --metrics-exclude-ephemeral leaves #ephemeral topics and channels out of
// the per-object series, not out of nsq_topics; by default they are there.
func TestExcludeEphemeral(t *testing.T) {
	for _, exclude := range []bool{false, true} {
		got := samples(gather(t, Config{Snapshot: fixed(knownSnapshot()), ExcludeEphemeral: exclude}))
		_, channel := got[`nsq_channel_depth{channel="tmp#ephemeral",topic="orders"}`]
		_, topic := got[`nsq_topic_depth{topic="gone#ephemeral"}`]
		_, topicsChannel := got[`nsq_channel_depth{channel="c",topic="gone#ephemeral"}`]
		require.Equal(t, !exclude, channel, "exclude=%v", exclude)
		require.Equal(t, !exclude, topic, "exclude=%v", exclude)
		require.Equal(t, !exclude, topicsChannel, "exclude=%v", exclude)
		require.Contains(t, got, `nsq_channel_depth{channel="work",topic="orders"}`)
		require.Equal(t, float64(2), got["nsq_topics{}"])
	}
}

// Bound series show once an object has a bound or has counted something,
// so a node with every bound off exposes none; dead-path series only while
// the dead path is on; topology series only with the experiment on; the
// histograms only when recorded.
func TestOptionalSeriesAppearOnlyWhenOn(t *testing.T) {
	names := func(snap Snapshot) map[string]bool {
		out := map[string]bool{}
		for _, f := range gather(t, Config{Snapshot: fixed(snap)}) {
			out[f.GetName()] = true
		}
		return out
	}
	plain := func() Snapshot {
		return Snapshot{Topics: []Topic{{Stats: stats.Topic{TopicName: "t"}, Channels: []Channel{{Stats: stats.Channel{ChannelName: "c"}}}}}}
	}
	got := names(plain())
	for _, name := range []string{
		"nsq_topic_messages_rejected_total", "nsq_topic_messages_overflow_dropped_total",
		"nsq_channel_messages_rejected_total", "nsq_channel_messages_overflow_dropped_total", "nsq_channel_messages_redriven_total",
		"nsq_channel_dead_depth", "nsq_channel_dead_lettered_total", "nsq_channel_expired_total",
		"nsq_channel_dead_dropped_total", "nsq_channel_dead_letter_errors_total",
		"nsq_channel_zone_local_messages_total", "nsq_channel_region_local_messages_total", "nsq_channel_global_messages_total",
		"nsq_channel_e2e_processing_latency_seconds", "nsq_disk_queue_fsync_duration_seconds", "nsq_publish_errors_total",
	} {
		require.False(t, got[name], "%s with everything off", name)
	}
	require.True(t, got["nsq_channel_depth"])

	bounded := plain()
	bounded.Topics[0].Bounded = true
	bounded.Topics[0].Channels[0].Bounded = true
	got = names(bounded)
	require.True(t, got["nsq_topic_messages_rejected_total"], "a bounded topic, nothing counted yet")
	require.True(t, got["nsq_channel_messages_redriven_total"], "a bounded channel, nothing counted yet")

	counted := plain()
	counted.Topics[0].Stats.OverflowDroppedCount = 1
	counted.Topics[0].Channels[0].Stats.RedrivenCount = 1
	got = names(counted)
	require.True(t, got["nsq_topic_messages_overflow_dropped_total"], "a bound since removed, counts kept")
	require.True(t, got["nsq_channel_messages_rejected_total"], "a bound since removed, counts kept")

	zero := int64(0)
	on := plain()
	on.Topics[0].Channels[0].Stats.Dead.DeadCount = &zero
	on.Topics[0].Channels[0].TopologyAware = true
	on.Topics[0].Channels[0].Latency = histogramOf()
	on.Fsync = NewHistogram(FsyncBounds)
	got = names(on)
	for _, name := range []string{"nsq_channel_dead_depth", "nsq_channel_dead_letter_errors_total",
		"nsq_channel_zone_local_messages_total", "nsq_channel_e2e_processing_latency_seconds", "nsq_disk_queue_fsync_duration_seconds"} {
		require.True(t, got[name], name)
	}
}

// A head published "after" the scrape's now (clocks that disagree) is 0
// seconds old, never negative.
func TestOldestMessageAgeIsNeverNegative(t *testing.T) {
	snap := Snapshot{Topics: []Topic{{Stats: stats.Topic{TopicName: "t"},
		Channels: []Channel{{Stats: stats.Channel{ChannelName: "c"}, OldestReadyAge: -time.Second}}}}}
	got := samples(gather(t, Config{Snapshot: fixed(snap)}))
	require.Equal(t, float64(0), got[`nsq_channel_oldest_message_age_seconds{channel="c",topic="t"}`])
}

// The handler serves the text format with the shared collectors beside
// the daemon's, reading a fresh snapshot per scrape.
func TestHandlerServesEachScrapesSnapshot(t *testing.T) {
	var mu sync.Mutex
	clients := 0
	h := Handler(t.Logf, Config{Snapshot: func() Snapshot {
		mu.Lock()
		defer mu.Unlock()
		clients++
		return Snapshot{Clients: clients}
	}})
	for want := 1; want <= 2; want++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		require.Equal(t, http.StatusOK, rec.Code)
		require.Contains(t, rec.Header().Get("Content-Type"), "text/plain")
		body := rec.Body.String()
		require.Contains(t, body, "\nnsq_clients "+string(rune('0'+want))+"\n")
		require.Contains(t, body, "nsq_build_info{")
		require.Contains(t, body, "go_goroutines ")
	}
}

// Beyond maxPublishErrorReasons series, a new reason counts as "other";
// known ones keep counting; a snapshot is a copy.
func TestPublishErrorsAreBounded(t *testing.T) {
	var p PublishErrors
	require.Empty(t, p.Snapshot())
	for i := range maxPublishErrorReasons {
		p.Add("tcp", "E_"+string(rune('A'+i)))
	}
	p.Add("tcp", "E_A")
	p.Add("http", "NEW_ONE")
	p.Add("tcp", "E_NEWER")
	snap := p.Snapshot()
	require.Len(t, snap, maxPublishErrorReasons+2)
	require.Equal(t, uint64(2), snap[PublishError{"tcp", "E_A"}])
	require.Equal(t, uint64(1), snap[PublishError{"http", "other"}])
	require.Equal(t, uint64(1), snap[PublishError{"tcp", "other"}])
	require.NotContains(t, snap, PublishError{"http", "NEW_ONE"})
	snap[PublishError{"tcp", "E_A"}] = 100
	require.Equal(t, uint64(2), p.Snapshot()[PublishError{"tcp", "E_A"}])
}

// Recording and scraping at once: the histograms and the publish error
// counts are read while FINs, fsyncs and refusals are counted (run with
// -race). Every recorded sample is in the last scrape.
func TestScrapesWhileRecording(t *testing.T) {
	const workers, each = 4, 500
	latency, fsync := NewHistogram(E2ELatencyBounds), NewHistogram(FsyncBounds)
	var errs PublishErrors
	cfg := Config{Snapshot: func() Snapshot {
		return Snapshot{
			Topics: []Topic{{Stats: stats.Topic{TopicName: "t"},
				Channels: []Channel{{Stats: stats.Channel{ChannelName: "c"}, Latency: latency}}}},
			PublishErrors: errs.Snapshot(),
			Fsync:         fsync,
		}
	}}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				latency.Observe(time.Duration(i) * time.Millisecond)
				fsync.Observe(time.Duration(w) * time.Millisecond)
				errs.Add("tcp", "E_BAD_TOPIC")
			}
		})
	}
	reg := promexpo.NewRegistry(nil, NewCollector(cfg))
	scrapeErrs := make(chan error, 1)
	go func() {
		var first error
		for range 20 {
			if err := reg.Write(io.Discard); err != nil && first == nil {
				first = err
			}
		}
		scrapeErrs <- first
	}()
	wg.Wait()
	require.NoError(t, <-scrapeErrs)
	got := samples(gather(t, cfg))
	require.Equal(t, float64(workers*each), got[`nsq_channel_e2e_processing_latency_seconds_count{channel="c",topic="t"}`])
	require.Equal(t, float64(workers*each), got["nsq_disk_queue_fsync_duration_seconds_count{}"])
	require.Equal(t, float64(workers*each), got[`nsq_publish_errors_total{protocol="tcp",reason="E_BAD_TOPIC"}`])
}

// textParse reads an exposition with the client library's parser.
func textParse(r io.Reader) (map[string]*dto.MetricFamily, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(r)
}
