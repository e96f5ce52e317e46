package nsqadmin

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// The types below are what /api answers hold. Their JSON field names are
// upstream nsqadmin 1.3's (see README "nsqadmin"), so that scripts written
// against upstream keep working; lists are never null, so that scripts can
// iterate them without a check.

// TopicStats is one topic on one nsqd ("node" is its HTTP address) or, with
// node "*", summed over every nsqd that has it.
type TopicStats struct {
	Node         string          `json:"node"`
	Hostname     string          `json:"hostname"`
	TopicName    string          `json:"topic_name"`
	Depth        int64           `json:"depth"`
	MemoryDepth  int64           `json:"memory_depth"`
	BackendDepth int64           `json:"backend_depth"`
	MessageCount int64           `json:"message_count"`
	NodeStats    []*TopicStats   `json:"nodes"`
	Channels     []*ChannelStats `json:"channels"`
	Paused       bool            `json:"paused"`

	E2eProcessingLatency *LatencyAggregate `json:"e2e_processing_latency"`
}

// ChannelStats is one channel on one nsqd or, with node "*", summed.
type ChannelStats struct {
	Node          string          `json:"node"`
	Hostname      string          `json:"hostname"`
	TopicName     string          `json:"topic_name"`
	ChannelName   string          `json:"channel_name"`
	Depth         int64           `json:"depth"`
	MemoryDepth   int64           `json:"memory_depth"`
	BackendDepth  int64           `json:"backend_depth"`
	InFlightCount int64           `json:"in_flight_count"`
	DeferredCount int64           `json:"deferred_count"`
	RequeueCount  int64           `json:"requeue_count"`
	TimeoutCount  int64           `json:"timeout_count"`
	MessageCount  int64           `json:"message_count"`
	ClientCount   int             `json:"client_count"`
	NodeStats     []*ChannelStats `json:"nodes"`
	Clients       []*ClientStats  `json:"clients"`
	Paused        bool            `json:"paused"`

	E2eProcessingLatency *LatencyAggregate `json:"e2e_processing_latency"`
}

// ClientStats is one consumer connection. Connected is how long it has
// been connected, in nanoseconds (upstream encodes a time.Duration).
type ClientStats struct {
	Node              string        `json:"node"`
	RemoteAddress     string        `json:"remote_address"`
	Version           string        `json:"version"`
	ClientID          string        `json:"client_id"`
	Hostname          string        `json:"hostname"`
	UserAgent         string        `json:"user_agent"`
	ConnectTs         int64         `json:"connect_ts"`
	ConnectedDuration time.Duration `json:"connected"`
	InFlightCount     int64         `json:"in_flight_count"`
	ReadyCount        int64         `json:"ready_count"`
	FinishCount       int64         `json:"finish_count"`
	RequeueCount      int64         `json:"requeue_count"`
	MessageCount      int64         `json:"message_count"`
	SampleRate        int32         `json:"sample_rate"`
	Deflate           bool          `json:"deflate"`
	Snappy            bool          `json:"snappy"`
	Authed            bool          `json:"authed"`
	AuthIdentity      string        `json:"auth_identity"`
	AuthIdentityURL   string        `json:"auth_identity_url"`

	TLS                           bool   `json:"tls"`
	CipherSuite                   string `json:"tls_cipher_suite"`
	TLSVersion                    string `json:"tls_version"`
	TLSNegotiatedProtocol         string `json:"tls_negotiated_protocol"`
	TLSNegotiatedProtocolIsMutual bool   `json:"tls_negotiated_protocol_is_mutual"`
}

// LatencyAggregate is end-to-end processing latency. Each percentile is a
// map, as upstream's: "quantile", and "min", "max", "average", "count"
// (over nodes); a single node's also has its "value". Values are
// nanoseconds.
type LatencyAggregate struct {
	Count       int                  `json:"count"`
	Percentiles []map[string]float64 `json:"percentiles"`
	Topic       string               `json:"topic"`
	Channel     string               `json:"channel"`
	Addr        string               `json:"host"`
}

// nodeLatency turns one nsqd's latency stats into the aggregate form.
func nodeLatency(l *nsqdLatency, addr, topic, channel string) *LatencyAggregate {
	agg := &LatencyAggregate{Topic: topic, Channel: channel, Addr: addr, Percentiles: []map[string]float64{}}
	if l == nil {
		return agg
	}
	agg.Count = l.Count
	for _, p := range l.Percentiles {
		agg.Percentiles = append(agg.Percentiles, map[string]float64{
			"quantile": p.Quantile,
			"value":    p.Value,
			"min":      p.Value,
			"max":      p.Value,
			"average":  p.Value,
			"count":    float64(l.Count),
		})
	}
	return agg
}

// add merges b into a: per quantile the extremes, the count-weighted mean
// and the summed count. Percentiles stay sorted highest quantile first.
func (a *LatencyAggregate) add(b *LatencyAggregate) {
	a.Addr = "*"
	a.Count += b.Count
	for _, bp := range b.Percentiles {
		i := slices.IndexFunc(a.Percentiles, func(p map[string]float64) bool { return p["quantile"] == bp["quantile"] })
		if i < 0 {
			a.Percentiles = append(a.Percentiles, map[string]float64{
				"quantile": bp["quantile"], "min": bp["min"], "max": bp["max"], "average": bp["average"], "count": bp["count"],
			})
			continue
		}
		ap := a.Percentiles[i]
		ap["min"] = math.Min(ap["min"], bp["min"])
		ap["max"] = math.Max(ap["max"], bp["max"])
		total := ap["count"] + bp["count"]
		if total > 0 {
			ap["average"] = (ap["average"]*ap["count"] + bp["average"]*bp["count"]) / total
		}
		ap["count"] = total
	}
	slices.SortFunc(a.Percentiles, func(x, y map[string]float64) int { return cmp.Compare(y["quantile"], x["quantile"]) })
}

// keepHighestValue sets each percentile's "value" to the highest of b's
// for the same quantile and its own.
func (a *LatencyAggregate) keepHighestValue(b *LatencyAggregate) {
	for _, bp := range b.Percentiles {
		for _, ap := range a.Percentiles {
			if ap["quantile"] != bp["quantile"] {
				continue
			}
			if v, ok := ap["value"]; !ok || bp["value"] > v {
				ap["value"] = bp["value"]
			}
		}
	}
}

// newTopicAggregate is the "*" entry for topic that node entries are added to.
func newTopicAggregate(topic string) *TopicStats {
	return &TopicStats{
		Node:                 "*",
		TopicName:            topic,
		NodeStats:            []*TopicStats{},
		Channels:             []*ChannelStats{},
		E2eProcessingLatency: &LatencyAggregate{Topic: topic, Addr: "*", Percentiles: []map[string]float64{}},
	}
}

// add sums one node's topic into t: totals, the node entry, and each of
// its channels into t's channel of the same name.
func (t *TopicStats) add(n *TopicStats) {
	t.Depth += n.Depth
	t.MemoryDepth += n.MemoryDepth
	t.BackendDepth += n.BackendDepth
	t.MessageCount += n.MessageCount
	t.Paused = t.Paused || n.Paused
	t.NodeStats = append(t.NodeStats, n)
	slices.SortStableFunc(t.NodeStats, func(a, b *TopicStats) int { return cmp.Compare(a.Hostname, b.Hostname) })
	for _, nc := range n.Channels {
		i := slices.IndexFunc(t.Channels, func(c *ChannelStats) bool { return c.ChannelName == nc.ChannelName })
		if i < 0 {
			t.Channels = append(t.Channels, newChannelAggregate(t.TopicName, nc.ChannelName))
			i = len(t.Channels) - 1
		}
		t.Channels[i].add(nc)
		// Upstream's topic answer gives each channel's percentiles a
		// "value" too; ours is the highest node's.
		t.Channels[i].E2eProcessingLatency.keepHighestValue(nc.E2eProcessingLatency)
	}
	t.E2eProcessingLatency.add(n.E2eProcessingLatency)
}

func newChannelAggregate(topic, channel string) *ChannelStats {
	return &ChannelStats{
		Node:                 "*",
		TopicName:            topic,
		ChannelName:          channel,
		NodeStats:            []*ChannelStats{},
		Clients:              []*ClientStats{},
		E2eProcessingLatency: &LatencyAggregate{Topic: topic, Channel: channel, Addr: "*", Percentiles: []map[string]float64{}},
	}
}

// add sums one node's channel into c.
func (c *ChannelStats) add(n *ChannelStats) {
	c.Depth += n.Depth
	c.MemoryDepth += n.MemoryDepth
	c.BackendDepth += n.BackendDepth
	c.InFlightCount += n.InFlightCount
	c.DeferredCount += n.DeferredCount
	c.RequeueCount += n.RequeueCount
	c.TimeoutCount += n.TimeoutCount
	c.MessageCount += n.MessageCount
	c.ClientCount += n.ClientCount
	c.Paused = c.Paused || n.Paused
	c.NodeStats = append(c.NodeStats, n)
	slices.SortStableFunc(c.NodeStats, func(a, b *ChannelStats) int { return cmp.Compare(a.Hostname, b.Hostname) })
	c.Clients = append(c.Clients, n.Clients...)
	slices.SortStableFunc(c.Clients, func(a, b *ClientStats) int { return cmp.Compare(a.Hostname, b.Hostname) })
	c.E2eProcessingLatency.add(n.E2eProcessingLatency)
}

// nsqdStats is the part of an nsqd's /stats?format=json nsqadmin reads;
// the field names are upstream nsqd's (reference_test.go checks them).
type nsqdStats struct {
	Topics []nsqdTopic `json:"topics"`
}

type nsqdTopic struct {
	TopicName    string        `json:"topic_name"`
	Channels     []nsqdChannel `json:"channels"`
	Depth        int64         `json:"depth"`
	BackendDepth int64         `json:"backend_depth"`
	MessageCount int64         `json:"message_count"`
	Paused       bool          `json:"paused"`
	E2e          *nsqdLatency  `json:"e2e_processing_latency"`
}

type nsqdChannel struct {
	ChannelName   string       `json:"channel_name"`
	Depth         int64        `json:"depth"`
	BackendDepth  int64        `json:"backend_depth"`
	InFlightCount int64        `json:"in_flight_count"`
	DeferredCount int64        `json:"deferred_count"`
	MessageCount  int64        `json:"message_count"`
	RequeueCount  int64        `json:"requeue_count"`
	TimeoutCount  int64        `json:"timeout_count"`
	ClientCount   int          `json:"client_count"`
	Clients       []nsqdClient `json:"clients"`
	Paused        bool         `json:"paused"`
	E2e           *nsqdLatency `json:"e2e_processing_latency"`
}

type nsqdClient struct {
	ClientID                      string `json:"client_id"`
	Hostname                      string `json:"hostname"`
	Version                       string `json:"version"`
	RemoteAddress                 string `json:"remote_address"`
	ReadyCount                    int64  `json:"ready_count"`
	InFlightCount                 int64  `json:"in_flight_count"`
	MessageCount                  int64  `json:"message_count"`
	FinishCount                   int64  `json:"finish_count"`
	RequeueCount                  int64  `json:"requeue_count"`
	ConnectTs                     int64  `json:"connect_ts"`
	SampleRate                    int32  `json:"sample_rate"`
	Deflate                       bool   `json:"deflate"`
	Snappy                        bool   `json:"snappy"`
	UserAgent                     string `json:"user_agent"`
	Authed                        bool   `json:"authed"`
	AuthIdentity                  string `json:"auth_identity"`
	AuthIdentityURL               string `json:"auth_identity_url"`
	TLS                           bool   `json:"tls"`
	CipherSuite                   string `json:"tls_cipher_suite"`
	TLSVersion                    string `json:"tls_version"`
	TLSNegotiatedProtocol         string `json:"tls_negotiated_protocol"`
	TLSNegotiatedProtocolIsMutual bool   `json:"tls_negotiated_protocol_is_mutual"`
}

type nsqdLatency struct {
	Count       int `json:"count"`
	Percentiles []struct {
		Quantile float64 `json:"quantile"`
		Value    float64 `json:"value"`
	} `json:"percentiles"`
}

// nodeTopicStats converts one nsqd's topic to the API form; node is the
// nsqd's HTTP address, now the time "connected" durations are taken at.
func nodeTopicStats(t nsqdTopic, node, hostname string, now time.Time) *TopicStats {
	ts := &TopicStats{
		Node:                 node,
		Hostname:             hostname,
		TopicName:            t.TopicName,
		Depth:                t.Depth,
		BackendDepth:         t.BackendDepth,
		MemoryDepth:          t.Depth - t.BackendDepth,
		MessageCount:         t.MessageCount,
		NodeStats:            []*TopicStats{},
		Channels:             make([]*ChannelStats, 0, len(t.Channels)),
		Paused:               t.Paused,
		E2eProcessingLatency: nodeLatency(t.E2e, node, t.TopicName, ""),
	}
	for _, c := range t.Channels {
		cs := &ChannelStats{
			Node:                 node,
			Hostname:             hostname,
			TopicName:            t.TopicName,
			ChannelName:          c.ChannelName,
			Depth:                c.Depth,
			BackendDepth:         c.BackendDepth,
			MemoryDepth:          c.Depth - c.BackendDepth,
			InFlightCount:        c.InFlightCount,
			DeferredCount:        c.DeferredCount,
			RequeueCount:         c.RequeueCount,
			TimeoutCount:         c.TimeoutCount,
			MessageCount:         c.MessageCount,
			ClientCount:          c.ClientCount,
			NodeStats:            []*ChannelStats{},
			Clients:              make([]*ClientStats, 0, len(c.Clients)),
			Paused:               c.Paused,
			E2eProcessingLatency: nodeLatency(c.E2e, node, t.TopicName, c.ChannelName),
		}
		for _, cl := range c.Clients {
			cs.Clients = append(cs.Clients, &ClientStats{
				Node:                          node,
				RemoteAddress:                 cl.RemoteAddress,
				Version:                       cl.Version,
				ClientID:                      cl.ClientID,
				Hostname:                      cl.Hostname,
				UserAgent:                     cl.UserAgent,
				ConnectTs:                     cl.ConnectTs,
				ConnectedDuration:             now.Truncate(time.Second).Sub(time.Unix(cl.ConnectTs, 0)),
				InFlightCount:                 cl.InFlightCount,
				ReadyCount:                    cl.ReadyCount,
				FinishCount:                   cl.FinishCount,
				RequeueCount:                  cl.RequeueCount,
				MessageCount:                  cl.MessageCount,
				SampleRate:                    cl.SampleRate,
				Deflate:                       cl.Deflate,
				Snappy:                        cl.Snappy,
				Authed:                        cl.Authed,
				AuthIdentity:                  cl.AuthIdentity,
				AuthIdentityURL:               cl.AuthIdentityURL,
				TLS:                           cl.TLS,
				CipherSuite:                   cl.CipherSuite,
				TLSVersion:                    cl.TLSVersion,
				TLSNegotiatedProtocol:         cl.TLSNegotiatedProtocol,
				TLSNegotiatedProtocolIsMutual: cl.TLSNegotiatedProtocolIsMutual,
			})
		}
		ts.Channels = append(ts.Channels, cs)
	}
	return ts
}
