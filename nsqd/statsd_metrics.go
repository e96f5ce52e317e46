package nsqd

import (
	"strconv"

	"github.com/nsqgo/nsq/internal/protocol"
)

// statsdCounters is what one push remembers so that the next sends the
// counters as deltas. Only what is in the latest snapshot is kept, so a
// deleted topic or channel is forgotten, as upstream forgets it.
type statsdCounters struct {
	topics   map[string]statsdTopicCounters
	channels map[statsdChannelKey]statsdChannelCounters
	gcRuns   uint32
}

type statsdTopicCounters struct {
	messages, bytes uint64
	bounds          QueueBounds // statsd_bound.go
}

type statsdChannelCounters struct {
	messages, requeues, timeouts uint64
	dead                         DeadStats // statsd_dead.go

	bounds QueueBounds // statsd_bound.go
}

type statsdChannelKey struct{ topic, channel string }

// statsdMetrics renders upstream's metric lines, "<prefix><name>:<value>|c"
// for counters and "|g" for gauges, each ending in a newline, into a
// packer.
type statsdMetrics struct {
	prefix           string
	excludeEphemeral bool
	packer           *statsdPacker
	line             []byte // reused for every line
}

func (m *statsdMetrics) counter(value int64, name ...string) { m.write('c', value, name) }
func (m *statsdMetrics) gauge(value int64, name ...string)   { m.write('g', value, name) }

func (m *statsdMetrics) write(kind byte, value int64, name []string) {
	m.line = append(m.line[:0], m.prefix...)
	for _, part := range name {
		m.line = append(m.line, part...)
	}
	m.line = append(m.line, ':')
	m.line = strconv.AppendInt(m.line, value, 10)
	m.line = append(m.line, '|', kind, '\n')
	m.packer.add(m.line)
}

// counterDelta is the growth of a counter since the last push. A counter
// below its last value belongs to a topic or channel deleted and created
// again since, so all of it is new; upstream sends the negative wrapped
// difference instead, which statsd would subtract.
func counterDelta(now, last uint64) int64 {
	if now < last {
		return int64(now)
	}
	return int64(now - last)
}

// percentileSuffix names a percentile as upstream does, quantile × 100
// rounded to an integer ("99" for 0.99, and so "100" for 0.999).
func percentileSuffix(q float64) string {
	return strconv.FormatFloat(q*100, 'f', 0, 64)
}

// push writes one push's metrics, in upstream's order, and returns the
// counters to diff the next push against. mem is nil when
// --statsd-mem-stats is off.
func (m *statsdMetrics) push(stats Stats, mem *MemStats, last statsdCounters) statsdCounters {
	next := statsdCounters{
		topics:   make(map[string]statsdTopicCounters, len(stats.Topics)),
		channels: map[statsdChannelKey]statsdChannelCounters{},
		gcRuns:   last.gcRuns,
	}
	for _, t := range stats.Topics {
		if m.excludeEphemeral && protocol.IsEphemeral(t.TopicName) {
			continue
		}
		m.topic(t, last, next)
	}
	if mem != nil {
		m.gauge(int64(mem.HeapObjects), "mem.heap_objects")
		m.gauge(int64(mem.HeapIdleBytes), "mem.heap_idle_bytes")
		m.gauge(int64(mem.HeapInUseBytes), "mem.heap_in_use_bytes")
		m.gauge(int64(mem.HeapReleasedBytes), "mem.heap_released_bytes")
		m.gauge(int64(mem.GCPauseUsec100), "mem.gc_pause_usec_100")
		m.gauge(int64(mem.GCPauseUsec99), "mem.gc_pause_usec_99")
		m.gauge(int64(mem.GCPauseUsec95), "mem.gc_pause_usec_95")
		m.gauge(int64(mem.NextGCBytes), "mem.next_gc_bytes")
		// uint32 subtraction stays right when NumGC wraps.
		m.counter(int64(mem.GCTotalRuns-last.gcRuns), "mem.gc_runs")
		next.gcRuns = mem.GCTotalRuns
	}
	return next
}

func (m *statsdMetrics) topic(t TopicStats, last, next statsdCounters) {
	name := t.TopicName
	prev := last.topics[name]
	next.topics[name] = statsdTopicCounters{messages: t.MessageCount, bytes: t.MessageBytes, bounds: t.QueueBounds}

	m.counter(counterDelta(t.MessageCount, prev.messages), "topic.", name, ".message_count")
	m.counter(counterDelta(t.MessageBytes, prev.bytes), "topic.", name, ".message_bytes")
	m.gauge(t.Depth, "topic.", name, ".depth")
	m.gauge(t.BackendDepth, "topic.", name, ".backend_depth")
	for _, p := range t.E2eProcessingLatency.Percentiles {
		m.gauge(int64(p.Value), "topic.", name, ".e2e_processing_latency_", percentileSuffix(p.Quantile))
	}
	m.boundStatsd("topic."+name, t.QueueBounds, prev.bounds)

	for _, c := range t.Channels {
		if m.excludeEphemeral && protocol.IsEphemeral(c.ChannelName) {
			continue
		}
		key := statsdChannelKey{topic: name, channel: c.ChannelName}
		prev := last.channels[key]
		next.channels[key] = statsdChannelCounters{
			messages: c.MessageCount, requeues: c.RequeueCount, timeouts: c.TimeoutCount,
			dead: c.DeadStats, bounds: c.QueueBounds,
		}
		base := "topic." + name + ".channel." + c.ChannelName
		m.counter(counterDelta(c.MessageCount, prev.messages), base, ".message_count")
		m.gauge(c.Depth, base, ".depth")
		m.gauge(c.BackendDepth, base, ".backend_depth")
		m.gauge(c.InFlightCount, base, ".in_flight_count")
		m.gauge(c.DeferredCount, base, ".deferred_count")
		m.counter(counterDelta(c.RequeueCount, prev.requeues), base, ".requeue_count")
		m.counter(counterDelta(c.TimeoutCount, prev.timeouts), base, ".timeout_count")
		m.gauge(int64(c.ClientCount), base, ".clients")
		for _, p := range c.E2eProcessingLatency.Percentiles {
			m.gauge(int64(p.Value), base, ".e2e_processing_latency_", percentileSuffix(p.Quantile))
		}
		m.deadStatsd(base, c.DeadStats, prev.dead)
		m.boundStatsd(base, c.QueueBounds, prev.bounds)
	}
}
