package prometheus

import (
	"time"

	"github.com/nsqgo/nsq/nsqd/stats"
)

// Snapshot is what one scrape reports, read by the daemon when the
// scrape asks for it.
type Snapshot struct {
	// Topics is every topic, ephemeral ones included (Config's
	// ExcludeEphemeral leaves them out of the per-topic series, not out of
	// nsq_topics).
	Topics        []Topic
	PublishErrors map[PublishError]uint64
	Fsync         *Histogram // data fsyncs of the disk queues; nil: none reported
	Healthy       bool       // /ping answers OK
	Clients       int        // TCP connections
}

// Topic is one topic's figures.
type Topic struct {
	Stats    stats.Topic // as /stats reports it; its Channels are not read
	Bounded  bool        // it has a depth or byte bound: its bound series show even while zero
	Channels []Channel
}

// Channel is one channel's figures: /stats' and what /stats does not show.
type Channel struct {
	Stats stats.Channel // as /stats reports it, without clients; Dead.DeadCount nil: dead path off
	// OldestReadyAge is the time since the message at the head of the
	// memory queue was published; 0 when the memory queue is empty.
	OldestReadyAge time.Duration
	FinishCount    uint64
	TopologyAware  bool // the topology experiment is on: its delivery counters show
	Bounded        bool // as Topic.Bounded
	// DeadDropped splits /stats' dead_dropped_count by cause.
	DeadDropped DeadDropped
	Latency     *Histogram // FIN latency (--metrics-e2e-histogram); nil: off
}

// DeadDropped counts dead messages dropped, by cause.
type DeadDropped struct {
	MaxDeadDepth uint64 // by the dead set's bound
	NoDeadSet    uint64 // on a channel with no dead set and no dead_letter_topic
}
