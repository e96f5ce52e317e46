package nsqd

import (
	"sort"

	"github.com/nsqgo/nsq/internal/diskqueue"
)

// queueHealth reads the drop counter and the damage counters of the disk
// queue behind a topic (its held messages).
func queueHealth(dropped uint64, disk diskqueue.Stats) QueueHealth {
	return QueueHealth{
		DroppedCount:       dropped,
		DiskSkippedRecords: disk.SkippedRecords,
		DiskSkippedBytes:   disk.SkippedBytes,
	}
}

// queueHealth is queueHealth for a channel: its queue's drop counter and
// the damage counters of its backlog, deferred store and topic log cursor.
func (c *Channel) queueHealth() QueueHealth {
	backlog, store := c.queue.DiskStats()
	cursor := c.queue.CursorStats()
	return QueueHealth{
		DroppedCount:       c.queue.Dropped(),
		DiskSkippedRecords: backlog.SkippedRecords + store.SkippedRecords + cursor.SkippedRecords,
		DiskSkippedBytes:   backlog.SkippedBytes + store.SkippedBytes + cursor.SkippedBytes,
	}
}

// GetStats snapshots the topics (all, or only topic; within them all
// channels, or only channel) and, with includeClients, every channel's
// subscribers and the producers.
//
// It mirrors upstream's shapes, quirks included: an unknown topic yields
// nil Topics and nil Producers; a topic lacking the requested channel is
// left out; producers are not filtered by topic, only their pub counts.
func (n *NSQD) GetStats(topic, channel string, includeClients bool) Stats {
	var topics []*Topic
	if topic == "" {
		topics = n.Topics()
	} else {
		t, err := n.GetExistingTopic(topic)
		if err != nil {
			return Stats{}
		}
		topics = []*Topic{t}
	}

	var stats Stats
	stats.Topics = make([]TopicStats, 0, len(topics))
	for _, t := range topics {
		var channels []*Channel
		if channel == "" {
			channels = t.Channels()
		} else {
			c, err := t.GetExistingChannel(channel)
			if err != nil {
				continue
			}
			channels = []*Channel{c}
		}
		channelStats := make([]ChannelStats, 0, len(channels))
		for _, c := range channels {
			channelStats = append(channelStats, c.stats(topic, includeClients))
		}
		stats.Topics = append(stats.Topics, t.stats(channelStats))
	}

	if includeClients {
		for _, cl := range sortClients(n.clientList()) {
			if cl.hasPublished() {
				stats.Producers = append(stats.Producers, cl.stats(topic))
			}
		}
	}
	return stats
}

// stats reads the topic's counters; channels are collected by the caller
// so that filters apply.
func (t *Topic) stats(channels []ChannelStats) TopicStats {
	t.mu.RLock()
	paused := t.paused
	t.mu.RUnlock()
	depth := t.held.MemoryLen()
	backendDepth := t.held.BacklogDepth()
	return TopicStats{
		TopicName:    t.name,
		Channels:     channels,
		Depth:        depth + backendDepth,
		BackendDepth: backendDepth,
		MessageCount: t.messageCount.Load(),
		MessageBytes: t.messageBytes.Load(),
		Paused:       paused,
		// Every channel of the topic, whatever the channel filter.
		E2eProcessingLatency: t.e2eStats(),
		QueueHealth:          queueHealth(t.droppedCount.Load(), t.held.DiskStats()),
		QueueBounds:          t.boundStats(),
	}
}

// stats reads the channel's queues and counters. Client stats are taken
// after the channel lock is released so that no client lock is ever taken
// under it.
func (c *Channel) stats(topicFilter string, includeClients bool) ChannelStats {
	c.mu.Lock()
	ready := int64(c.queue.ReadyInMemory())
	deferred := int64(c.queue.DeferredCount())
	paused := c.paused
	clientCount := len(c.clients)
	var clients []*client
	if includeClients {
		clients = c.clientListLocked()
	}
	c.mu.Unlock()

	backendDepth := c.queue.BacklogDepth()
	var clientStats []ClientStats
	if includeClients {
		clientStats = make([]ClientStats, 0, len(clients))
		for _, cl := range sortClients(clients) {
			clientStats = append(clientStats, cl.stats(topicFilter))
		}
	}
	return ChannelStats{
		ChannelName:          c.name,
		Depth:                ready + backendDepth,
		BackendDepth:         backendDepth,
		InFlightCount:        c.inFlightCount.Load(),
		DeferredCount:        deferred,
		MessageCount:         c.messageCount.Load(),
		ZoneLocalMsgCount:    c.zoneLocalCount.Load(),
		RegionLocalMsgCount:  c.regionLocalCount.Load(),
		GlobalMsgCount:       c.globalCount.Load(),
		RequeueCount:         c.requeueCount.Load(),
		TimeoutCount:         c.timeoutCount.Load(),
		ClientCount:          clientCount,
		Clients:              clientStats,
		Paused:               paused,
		E2eProcessingLatency: c.e2eStats(),
		QueueHealth:          c.queueHealth(),
		QueueBounds:          c.boundStats(),
		Dead:                 c.deadStats(),
	}
}

// sortClients puts clients in connection order. Upstream's order is
// arbitrary; a stable one reads better and makes snapshots comparable.
func sortClients(list []*client) []*client {
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	return list
}

// hasPublished reports whether the connection is a producer.
func (c *client) hasPublished() bool {
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	return len(c.pubCounts) > 0
}

// stats reads the connection's settings and counters. With a topic filter
// only that topic's pub count is reported.
//
// Upstream quirk, kept on purpose: at most one pub count is reported (an
// arbitrary one of the topics published to), because upstream's loop stops
// after the first entry it keeps. nsqadmin and nsq_stat are built on it.
func (c *client) stats(topicFilter string) ClientStats {
	c.settingsMu.Lock()
	clientID, hostname, userAgent := c.clientID, c.hostname, c.userAgent
	zone, region := c.topologyZone, c.topologyRegion
	c.settingsMu.Unlock()

	var pubCounts []PubCount
	c.pubMu.Lock()
	for topic, count := range c.pubCounts {
		if topicFilter != "" && topic != topicFilter {
			continue
		}
		pubCounts = append(pubCounts, PubCount{Topic: topic, Count: count})
		break
	}
	c.pubMu.Unlock()

	stats := ClientStats{
		ClientID:      clientID,
		Hostname:      hostname,
		Version:       "V2",
		RemoteAddress: c.remoteAddr,
		State:         c.state.Load(),
		ReadyCount:    c.readyCount.Load(),
		InFlightCount: c.inFlight.count.Load(),
		MessageCount:  c.messageCount.Load(),
		FinishCount:   c.finishCount.Load(),
		RequeueCount:  c.requeueCount.Load(),
		ConnectTime:   c.connectTS.Unix(),
		SampleRate:    c.sampleRate.Load(),
		UserAgent:     userAgent,
		PubCounts:     pubCounts,
		Deflate:       c.deflate.Load(),
		Snappy:        c.snappy.Load(),
	}
	stats.TopologyZone, stats.TopologyRegion = zone, region
	setTLSStats(&stats, c.tlsState.Load())
	if auth := c.authorization.Load(); auth != nil {
		stats.Authed = true
		stats.AuthIdentity = auth.Identity
		stats.AuthIdentityURL = auth.IdentityURL
	}
	return stats
}
