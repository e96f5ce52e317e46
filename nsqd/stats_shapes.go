package nsqd

import (
	"time"

	"github.com/nsqgo/nsq/nsqd/stats"
)

// The /stats shapes live in nsqd/stats; these names keep the daemon's
// API (GetStats and the tools and tests that read its answer) as it was.
type (
	Stats             = stats.Snapshot
	TopicStats        = stats.Topic
	ChannelStats      = stats.Channel
	ClientStats       = stats.Client
	PubCount          = stats.PubCount
	QueueHealth       = stats.QueueHealth
	QueueBounds       = stats.QueueBounds
	DeadStats         = stats.Dead
	LatencyStats      = stats.Latency
	LatencyPercentile = stats.Percentile
	MemStats          = stats.Memory
)

// statsText renders the text /stats with this daemon's version
// (nsqd/stats/text.go).
func statsText(s Stats, mem *MemStats, health string, startTime, now time.Time) []byte {
	return stats.Text(Version, s, mem, health, startTime, now)
}

// readMemStats is the memory section of /stats (nsqd/stats/memory.go).
func readMemStats() MemStats { return stats.ReadMemory() }
