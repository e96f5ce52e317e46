package nsqadmin

// Field names of upstream nsqadmin 1.3.0's /api answers (its
// internal/clusterinfo types and nsqadmin/http.go answers), which ours
// must match exactly.
var (
	upstreamTopicFields = sorted("node", "hostname", "topic_name", "depth", "memory_depth", "backend_depth",
		"message_count", "nodes", "channels", "paused", "e2e_processing_latency")
	upstreamChannelFields = sorted("node", "hostname", "topic_name", "channel_name", "depth", "memory_depth",
		"backend_depth", "in_flight_count", "deferred_count", "requeue_count", "timeout_count", "message_count",
		"client_count", "nodes", "clients", "paused", "e2e_processing_latency")
	upstreamClientFields = sorted("node", "remote_address", "version", "client_id", "hostname", "user_agent",
		"connect_ts", "connected", "in_flight_count", "ready_count", "finish_count", "requeue_count",
		"message_count", "sample_rate", "deflate", "snappy", "authed", "auth_identity", "auth_identity_url",
		"tls", "tls_cipher_suite", "tls_version", "tls_negotiated_protocol", "tls_negotiated_protocol_is_mutual")
	upstreamProducerFields = sorted("remote_addresses", "remote_address", "hostname", "broadcast_address",
		"tcp_port", "http_port", "version", "topics", "out_of_date")
	upstreamLatencyFields = sorted("count", "percentiles", "topic", "channel", "host")
)

// withMessage is fields plus the "message" every answer carries.
func withMessage(fields []string) []string { return sorted(append(fields, "message")...) }
