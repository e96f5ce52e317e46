package stats

// Snapshot is a point-in-time view of a daemon's topics, channels and
// clients: what /stats serves under "topics" and "producers".
type Snapshot struct {
	Topics    []Topic
	Producers []Client
}

// Document is the whole /stats?format=json answer in upstream's key
// order. Memory is nil, and its key absent, when the caller asked for no
// memory section (include_mem=false).
type Document struct {
	Version   string   `json:"version"`
	Health    string   `json:"health"`
	StartTime int64    `json:"start_time"`
	Topics    []Topic  `json:"topics"`
	Memory    *Memory  `json:"memory,omitempty"`
	Producers []Client `json:"producers"`
}

// Topic describes one topic.
type Topic struct {
	TopicName    string    `json:"topic_name"`
	Channels     []Channel `json:"channels"`
	Depth        int64     `json:"depth"`
	BackendDepth int64     `json:"backend_depth"`
	MessageCount uint64    `json:"message_count"`
	MessageBytes uint64    `json:"message_bytes"`
	Paused       bool      `json:"paused"`

	E2eProcessingLatency Latency `json:"e2e_processing_latency"`

	QueueHealth
	QueueBounds
}

// Channel describes one channel. Clients is nil (JSON null) when the
// caller asked for no clients; ClientCount is filled either way.
type Channel struct {
	ChannelName   string `json:"channel_name"`
	Depth         int64  `json:"depth"`
	BackendDepth  int64  `json:"backend_depth"`
	InFlightCount int64  `json:"in_flight_count"`
	DeferredCount int64  `json:"deferred_count"`
	MessageCount  uint64 `json:"message_count"`
	// upstream master's topology counters (nsqd/topology.go), omitted
	// when zero
	ZoneLocalMsgCount   uint64   `json:"zone_local_msg_count,omitempty"`
	RegionLocalMsgCount uint64   `json:"region_local_msg_count,omitempty"`
	GlobalMsgCount      uint64   `json:"global_msg_count,omitempty"`
	RequeueCount        uint64   `json:"requeue_count"`
	TimeoutCount        uint64   `json:"timeout_count"`
	ClientCount         int      `json:"client_count"`
	Clients             []Client `json:"clients"`
	Paused              bool     `json:"paused"`

	E2eProcessingLatency Latency `json:"e2e_processing_latency"`

	QueueHealth
	Dead // issue 12's dead path (nsqd/channel_dead.go); absent when off

	QueueBounds
}

// Client describes one TCP connection, as a channel subscriber or in the
// producers list. The auth fields are omitted unless set, and PubCounts
// unless the connection published, exactly as upstream.
type Client struct {
	ClientID        string `json:"client_id"`
	Hostname        string `json:"hostname"`
	Version         string `json:"version"`
	RemoteAddress   string `json:"remote_address"`
	State           int32  `json:"state"`
	ReadyCount      int64  `json:"ready_count"`
	InFlightCount   int64  `json:"in_flight_count"`
	MessageCount    uint64 `json:"message_count"`
	FinishCount     uint64 `json:"finish_count"`
	RequeueCount    uint64 `json:"requeue_count"`
	ConnectTime     int64  `json:"connect_ts"`
	SampleRate      int32  `json:"sample_rate"`
	Deflate         bool   `json:"deflate"`
	Snappy          bool   `json:"snappy"`
	UserAgent       string `json:"user_agent"`
	Authed          bool   `json:"authed,omitempty"`
	AuthIdentity    string `json:"auth_identity,omitempty"`
	AuthIdentityURL string `json:"auth_identity_url,omitempty"`
	TopologyZone    string `json:"topology_zone,omitempty"`
	TopologyRegion  string `json:"topology_region,omitempty"`

	PubCounts []PubCount `json:"pub_counts,omitempty"`

	TLS                           bool   `json:"tls"`
	CipherSuite                   string `json:"tls_cipher_suite"`
	TLSVersion                    string `json:"tls_version"`
	TLSNegotiatedProtocol         string `json:"tls_negotiated_protocol"`
	TLSNegotiatedProtocolIsMutual bool   `json:"tls_negotiated_protocol_is_mutual"`
}

// PubCount is how many messages a connection published to a topic.
type PubCount struct {
	Topic string `json:"topic"`
	Count uint64 `json:"count"`
}
