package statsd

import (
	"strconv"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/nsqgo/nsq/nsqd/metrics/e2e"
)

// Snapshot is what one push reports: nsqd's /stats figures for every topic
// and channel, and the runtime's memory figures when --statsd-mem-stats is
// on (Mem nil otherwise).
type Snapshot struct {
	Topics []Topic
	Mem    *Mem
}

// Topic is one topic's figures.
type Topic struct {
	Name                       string
	MessageCount, MessageBytes uint64
	Depth, BackendDepth        int64
	Latency                    []e2e.Percentile
	Channels                   []Channel
	Bounds                     Bounds // the topic's own bound (issue 12)
}

// Channel is one channel's figures.
type Channel struct {
	Name                                     string
	MessageCount, RequeueCount, TimeoutCount uint64
	Depth, BackendDepth                      int64
	InFlightCount, DeferredCount             int64
	ClientCount                              int
	Latency                                  []e2e.Percentile
	// Dead is the channel's dead path (nsqd's channel_dead.go); nil
	// while it is off, so that the packets are then upstream's.
	Dead *Dead
	// Bounds is the channel's bound counters; all zero while no bound
	// ever refused or dropped anything, and then nothing is sent.
	Bounds Bounds
}

// Bounds is a topic's or channel's bound counters, named as in /stats.
type Bounds struct {
	RejectedMaxDepth, RejectedMaxBytes, OverflowDropped uint64
	Redriven, DeadEmptied                               uint64
}

// Dead is a channel's dead-path figures, named as in /stats.
type Dead struct {
	Count                                                  int64 // in the dead set now: a gauge
	LetteredMaxAttempts, LetteredExpired, LetteredOverflow uint64
	Expired, Dropped                                       uint64
}

// Mem is the memory section: Go runtime figures, in upstream's names.
type Mem struct {
	HeapObjects, HeapIdleBytes, HeapInUseBytes, HeapReleasedBytes uint64
	GCPauseUsec100, GCPauseUsec99, GCPauseUsec95                  uint64
	NextGCBytes                                                   uint64
	GCTotalRuns                                                   uint32
}

// Counters is what one push remembers so that the next sends the counters
// as deltas; the zero value is the first push's. Only what is in the
// latest snapshot is kept, so a deleted topic or channel is forgotten, as
// upstream forgets it.
type Counters struct {
	topics   map[string]topicCounters
	channels map[channelKey]channelCounters
	gcRuns   uint32
}

type topicCounters struct {
	messages, bytes uint64
	bounds          Bounds
}

type channelCounters struct {
	messages, requeues, timeouts uint64
	dead                         Dead
	bounds                       Bounds
}

type channelKey struct{ topic, channel string }

// Render writes one push's metric lines in upstream's order and packs
// them into datagrams of at most packetSize bytes. It returns the
// datagrams, how many lines were longer than a datagram and so dropped,
// and the counters to diff the next push against.
func Render(snap Snapshot, prefix string, excludeEphemeral bool, packetSize int, last Counters) (packets [][]byte, dropped int, next Counters) {
	m := lineWriter{prefix: prefix, excludeEphemeral: excludeEphemeral, packer: newPacker(packetSize)}
	next = m.push(snap, last)
	return m.packer.finish(), m.packer.dropped, next
}

// lineWriter renders upstream's metric lines, "<prefix><name>:<value>|c"
// for counters and "|g" for gauges, each ending in a newline, into a
// packer.
type lineWriter struct {
	prefix           string
	excludeEphemeral bool
	packer           *packer
	line             []byte // reused for every line
}

func (m *lineWriter) counter(value int64, name ...string) { m.write('c', value, name) }
func (m *lineWriter) gauge(value int64, name ...string)   { m.write('g', value, name) }

func (m *lineWriter) write(kind byte, value int64, name []string) {
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

func (m *lineWriter) push(snap Snapshot, last Counters) Counters {
	next := Counters{
		topics:   make(map[string]topicCounters, len(snap.Topics)),
		channels: map[channelKey]channelCounters{},
		gcRuns:   last.gcRuns,
	}
	for _, t := range snap.Topics {
		if m.excludeEphemeral && protocol.IsEphemeral(t.Name) {
			continue
		}
		m.topic(t, last, next)
	}
	if mem := snap.Mem; mem != nil {
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

func (m *lineWriter) topic(t Topic, last, next Counters) {
	name := t.Name
	prev := last.topics[name]
	next.topics[name] = topicCounters{messages: t.MessageCount, bytes: t.MessageBytes, bounds: t.Bounds}

	m.counter(counterDelta(t.MessageCount, prev.messages), "topic.", name, ".message_count")
	m.counter(counterDelta(t.MessageBytes, prev.bytes), "topic.", name, ".message_bytes")
	m.gauge(t.Depth, "topic.", name, ".depth")
	m.gauge(t.BackendDepth, "topic.", name, ".backend_depth")
	for _, p := range t.Latency {
		m.gauge(int64(p.Value), "topic.", name, ".e2e_processing_latency_", percentileSuffix(p.Quantile))
	}
	m.bounds("topic."+name, t.Bounds, prev.bounds)

	for _, c := range t.Channels {
		if m.excludeEphemeral && protocol.IsEphemeral(c.Name) {
			continue
		}
		key := channelKey{topic: name, channel: c.Name}
		prev := last.channels[key]
		next.channels[key] = channelCounters{
			messages: c.MessageCount, requeues: c.RequeueCount, timeouts: c.TimeoutCount,
			bounds: c.Bounds,
		}
		if c.Dead != nil {
			counters := next.channels[key]
			counters.dead = *c.Dead
			next.channels[key] = counters
		}
		base := "topic." + name + ".channel." + c.Name
		m.counter(counterDelta(c.MessageCount, prev.messages), base, ".message_count")
		m.gauge(c.Depth, base, ".depth")
		m.gauge(c.BackendDepth, base, ".backend_depth")
		m.gauge(c.InFlightCount, base, ".in_flight_count")
		m.gauge(c.DeferredCount, base, ".deferred_count")
		m.counter(counterDelta(c.RequeueCount, prev.requeues), base, ".requeue_count")
		m.counter(counterDelta(c.TimeoutCount, prev.timeouts), base, ".timeout_count")
		m.gauge(int64(c.ClientCount), base, ".clients")
		for _, p := range c.Latency {
			m.gauge(int64(p.Value), base, ".e2e_processing_latency_", percentileSuffix(p.Quantile))
		}
		if c.Dead != nil {
			m.dead(base, *c.Dead, prev.dead)
		}
		m.bounds(base, c.Bounds, prev.bounds)
	}
}

// dead sends a channel's dead-path keys: dead_count a gauge, the rest
// counters sent as deltas.
func (m *lineWriter) dead(base string, now, last Dead) {
	m.gauge(now.Count, base, ".dead_count")
	m.counter(counterDelta(now.LetteredMaxAttempts, last.LetteredMaxAttempts), base, ".dead_lettered_max_attempts_count")
	m.counter(counterDelta(now.LetteredExpired, last.LetteredExpired), base, ".dead_lettered_expired_count")
	m.counter(counterDelta(now.LetteredOverflow, last.LetteredOverflow), base, ".dead_lettered_overflow_count")
	m.counter(counterDelta(now.Expired, last.Expired), base, ".expired_count")
	m.counter(counterDelta(now.Dropped, last.Dropped), base, ".dead_dropped_count")
}

// bounds sends a topic's or channel's bound counters as deltas, only once
// one of them is non-zero, so that with every bound off the packets are
// upstream's.
func (m *lineWriter) bounds(base string, now, last Bounds) {
	if now == (Bounds{}) {
		return
	}
	m.counter(counterDelta(now.RejectedMaxDepth, last.RejectedMaxDepth), base, ".rejected_max_depth_count")
	m.counter(counterDelta(now.RejectedMaxBytes, last.RejectedMaxBytes), base, ".rejected_max_bytes_count")
	m.counter(counterDelta(now.OverflowDropped, last.OverflowDropped), base, ".overflow_dropped_count")
	if now.Redriven+now.DeadEmptied+last.Redriven+last.DeadEmptied > 0 {
		m.counter(counterDelta(now.Redriven, last.Redriven), base, ".redriven_count")
		m.counter(counterDelta(now.DeadEmptied, last.DeadEmptied), base, ".dead_emptied_count")
	}
}
