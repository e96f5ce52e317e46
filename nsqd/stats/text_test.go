package stats

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The whole text layout against a hand-written copy of upstream's output.
func TestStatsTextLayoutMatchesUpstream(t *testing.T) {
	start := time.Date(2026, 11, 25, 17, 45, 26, 0, time.UTC)
	now := start.Add(2*time.Minute + 32*time.Second + 480*time.Millisecond)
	// connect_ts has whole seconds: 1.48s before now, shown truncated as 1s.
	connected := now.Add(-time.Second).Unix()
	stats := Snapshot{
		Topics: []Topic{
			{
				TopicName: "t7", MessageCount: 3,
				Channels: []Channel{{
					ChannelName: "c", InFlightCount: 2, DeferredCount: 1, MessageCount: 3, RequeueCount: 2,
					Clients: []Client{{
						Hostname: "host.example", Version: "V2", RemoteAddress: "127.0.0.1:36504", State: 3,
						ReadyCount: 3, InFlightCount: 1, MessageCount: 1, ConnectTime: connected, UserAgent: "test/1.0",
					}},
				}, {
					ChannelName: "stopped", Paused: true, Depth: 12345, BackendDepth: 7,
					E2eProcessingLatency: Latency{Count: 2, Percentiles: []Percentile{
						{Quantile: 1, Value: 1500}, {Quantile: 0.99, Value: 2.5e9},
					}},
				}},
			},
			{TopicName: "paused_topic", Paused: true, Channels: []Channel{}},
		},
		Producers: []Client{{
			Hostname: "ph", Version: "V2", RemoteAddress: "127.0.0.1:36510", ConnectTime: connected,
			UserAgent: "pub/1.0", PubCounts: []PubCount{{Topic: "t7", Count: 1}},
		}},
	}
	mem := &Memory{
		HeapObjects: 3962, HeapIdleBytes: 10330112, HeapInUseBytes: 10117120, HeapReleasedBytes: 6881280,
		GCPauseUsec100: 4089, GCPauseUsec99: 4089, GCPauseUsec95: 4089, NextGCBytes: 13799810, GCTotalRuns: 5,
	}

	want := "nsqd v1.3.0 (built w/" + runtime.Version() + ")\n" +
		"start_time " + start.Local().Format(time.RFC3339) + "\n" +
		"uptime 2m32.48s\n" +
		"\n" +
		"Health: OK\n" +
		"\n" +
		"Memory:\n" +
		"   heap_objects             \t3962\n" +
		"   heap_idle_bytes          \t10330112\n" +
		"   heap_in_use_bytes        \t10117120\n" +
		"   heap_released_bytes      \t6881280\n" +
		"   gc_pause_usec_100        \t4089\n" +
		"   gc_pause_usec_99         \t4089\n" +
		"   gc_pause_usec_95         \t4089\n" +
		"   next_gc_bytes            \t13799810\n" +
		"   gc_total_runs            \t5\n" +
		"\n" +
		"Topics:\n" +
		"   [t7             ] depth: 0     be-depth: 0     msgs: 3        e2e%: \n" +
		"      [c                        ] depth: 0     be-depth: 0     inflt: 2    def: 1    re-q: 2     timeout: 0     msgs: 3        e2e%: \n" +
		"        [V2 host.example:36504 test/1.0] state: 3 inflt: 1    rdy: 3    fin: 0        re-q: 0        msgs: 1        connected: 1s\n" +
		"   *P [stopped                  ] depth: 12345 be-depth: 7     inflt: 0    def: 0    re-q: 0     timeout: 0     msgs: 0        e2e%: 1.5us, 2.5s\n" +
		"\n" +
		"*P [paused_topic   ] depth: 0     be-depth: 0     msgs: 0        e2e%: \n" +
		"\n" +
		"Producers:\n" +
		"   [V2 ph:36510 pub/1.0     ] msgs: 1        topics: t7=1 connected: 1s\n"
	require.Equal(t, want, string(Text("1.3.0", stats, mem, "OK", start.Local(), now)))
}

func TestStatsTextWithNothingSaysNone(t *testing.T) {
	start := time.Unix(1795628726, 0)
	text := string(Text("1.3.0", Snapshot{}, nil, "NOK - disk full", start, start.Add(time.Second)))
	require.Equal(t, "nsqd v1.3.0 (built w/"+runtime.Version()+")\n"+
		"start_time "+start.Format(time.RFC3339)+"\n"+
		"uptime 1s\n"+
		"\nHealth: NOK - disk full\n"+
		"\nTopics: None\n"+
		"\nProducers: None\n", text)
}
