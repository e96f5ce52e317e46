package stats

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// fullSnapshot sets every field, so that each key's name, order and
// omission rule shows in the encoding.
func fullSnapshot() (Snapshot, Memory) {
	dead := int64(3)
	s := Snapshot{
		Topics: []Topic{{
			TopicName: "t", Depth: 1, BackendDepth: 2, MessageCount: 3, MessageBytes: 4, Paused: true,
			E2eProcessingLatency: Latency{Count: 2, Percentiles: []Percentile{{Quantile: 0.99, Value: 12.5}}},
			QueueHealth:          QueueHealth{DroppedCount: 1, DiskSkippedRecords: 2, DiskSkippedBytes: 3},
			QueueBounds:          QueueBounds{RejectedMaxDepthCount: 1, RejectedMaxBytesCount: 2, OverflowDroppedCount: 3},
			Channels: []Channel{{
				ChannelName: "c", Depth: 1, BackendDepth: 2, InFlightCount: 3, DeferredCount: 4, MessageCount: 5,
				ZoneLocalMsgCount: 6, RegionLocalMsgCount: 7, GlobalMsgCount: 8, RequeueCount: 9, TimeoutCount: 10, ClientCount: 1,
				Clients: []Client{{
					ClientID: "id", Hostname: "h", Version: "V2", RemoteAddress: "1.2.3.4:5", State: 3, ReadyCount: 1,
					InFlightCount: 2, MessageCount: 3, FinishCount: 4, RequeueCount: 5, ConnectTime: 6, SampleRate: 7,
					Deflate: true, Snappy: true, UserAgent: "ua", Authed: true, AuthIdentity: "ai", AuthIdentityURL: "au",
					TopologyZone: "z", TopologyRegion: "r", PubCounts: []PubCount{{Topic: "t", Count: 2}},
					TLS: true, CipherSuite: "cs", TLSVersion: "tv", TLSNegotiatedProtocol: "np", TLSNegotiatedProtocolIsMutual: true,
				}},
				Paused:      true,
				QueueHealth: QueueHealth{DroppedCount: 1, DiskSkippedRecords: 2, DiskSkippedBytes: 3},
				QueueBounds: QueueBounds{RejectedMaxDepthCount: 1, RejectedMaxBytesCount: 2, OverflowDroppedCount: 3, RedrivenCount: 4, DeadEmptiedCount: 5},
				Dead: Dead{DeadCount: &dead, DeadBytes: 1, DeadLetteredMaxAttempts: 2, DeadLetteredExpired: 3, DeadLetteredOverflow: 4,
					ExpiredCount: 5, DeadDroppedCount: 6, DeadErrorCount: 7},
			}, {ChannelName: "empty"}},
		}, {TopicName: "zero"}},
		Producers: []Client{{ClientID: "p"}},
	}
	mem := Memory{HeapObjects: 1, HeapIdleBytes: 2, HeapInUseBytes: 3, HeapReleasedBytes: 4, GCPauseUsec100: 5,
		GCPauseUsec99: 6, GCPauseUsec95: 7, NextGCBytes: 8, GCTotalRuns: 9}
	return s, mem
}

// The encoding, byte for byte, as nsqd served it before these types left
// package nsqd: upstream's keys in upstream's order, ours after them and
// only when set, nulls where upstream has them ("clients" of a request
// without clients, "channels" of a topic read without any, "percentiles"
// when none are configured).
func TestJSONEncodingIsUnchanged(t *testing.T) {
	s, mem := fullSnapshot()
	got, err := json.Marshal(Document{Version: "v", Health: "OK", StartTime: 1, Topics: s.Topics, Memory: &mem, Producers: s.Producers})
	require.NoError(t, err)
	const want = `{"version":"v","health":"OK","start_time":1,"topics":[{"topic_name":"t","channels":[{"channel_name":"c","depth":1,"backend_depth":2,"in_flight_count":3,"deferred_count":4,"message_count":5,"zone_local_msg_count":6,"region_local_msg_count":7,"global_msg_count":8,"requeue_count":9,"timeout_count":10,"client_count":1,"clients":[{"client_id":"id","hostname":"h","version":"V2","remote_address":"1.2.3.4:5","state":3,"ready_count":1,"in_flight_count":2,"message_count":3,"finish_count":4,"requeue_count":5,"connect_ts":6,"sample_rate":7,"deflate":true,"snappy":true,"user_agent":"ua","authed":true,"auth_identity":"ai","auth_identity_url":"au","topology_zone":"z","topology_region":"r","pub_counts":[{"topic":"t","count":2}],"tls":true,"tls_cipher_suite":"cs","tls_version":"tv","tls_negotiated_protocol":"np","tls_negotiated_protocol_is_mutual":true}],"paused":true,"e2e_processing_latency":{"count":0,"percentiles":null},"dropped_count":1,"disk_skipped_records":2,"disk_skipped_bytes":3,"dead_count":3,"dead_bytes":1,"dead_lettered_max_attempts_count":2,"dead_lettered_expired_count":3,"dead_lettered_overflow_count":4,"expired_count":5,"dead_dropped_count":6,"dead_error_count":7,"rejected_max_depth_count":1,"rejected_max_bytes_count":2,"overflow_dropped_count":3,"redriven_count":4,"dead_emptied_count":5},{"channel_name":"empty","depth":0,"backend_depth":0,"in_flight_count":0,"deferred_count":0,"message_count":0,"requeue_count":0,"timeout_count":0,"client_count":0,"clients":null,"paused":false,"e2e_processing_latency":{"count":0,"percentiles":null}}],"depth":1,"backend_depth":2,"message_count":3,"message_bytes":4,"paused":true,"e2e_processing_latency":{"count":2,"percentiles":[{"quantile":0.99,"value":12.5}]},"dropped_count":1,"disk_skipped_records":2,"disk_skipped_bytes":3,"rejected_max_depth_count":1,"rejected_max_bytes_count":2,"overflow_dropped_count":3},{"topic_name":"zero","channels":null,"depth":0,"backend_depth":0,"message_count":0,"message_bytes":0,"paused":false,"e2e_processing_latency":{"count":0,"percentiles":null}}],"memory":{"heap_objects":1,"heap_idle_bytes":2,"heap_in_use_bytes":3,"heap_released_bytes":4,"gc_pause_usec_100":5,"gc_pause_usec_99":6,"gc_pause_usec_95":7,"next_gc_bytes":8,"gc_total_runs":9},"producers":[{"client_id":"p","hostname":"","version":"","remote_address":"","state":0,"ready_count":0,"in_flight_count":0,"message_count":0,"finish_count":0,"requeue_count":0,"connect_ts":0,"sample_rate":0,"deflate":false,"snappy":false,"user_agent":"","tls":false,"tls_cipher_suite":"","tls_version":"","tls_negotiated_protocol":"","tls_negotiated_protocol_is_mutual":false}]}`
	require.Equal(t, want, string(got))
}

// A channel whose dead path is off and a healthy, unbounded queue add no
// key to upstream's.
func TestJSONOfAnUntouchedChannelHasOnlyUpstreamKeys(t *testing.T) {
	got, err := json.Marshal(Channel{ChannelName: "c", Clients: []Client{}})
	require.NoError(t, err)
	require.Equal(t, `{"channel_name":"c","depth":0,"backend_depth":0,"in_flight_count":0,"deferred_count":0,`+
		`"message_count":0,"requeue_count":0,"timeout_count":0,"client_count":0,"clients":[],"paused":false,`+
		`"e2e_processing_latency":{"count":0,"percentiles":null}}`, string(got))

	zero := int64(0)
	got, err = json.Marshal(Dead{DeadCount: &zero})
	require.NoError(t, err)
	require.Equal(t, `{"dead_count":0}`, string(got), "a dead path that is on shows its depth even when empty")
}
