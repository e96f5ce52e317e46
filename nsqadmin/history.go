package nsqadmin

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/nsqgo/nsq/internal/httpapi"
)

// History: every --history-interval nsqadmin polls the /stats of every
// nsqd it knows and appends one point per topic and per channel to a ring
// that holds --history-retention of them (360 at the defaults). Rings grow
// as points arrive and never beyond that, and at most --history-max-series
// topics plus channels have one (default 2000, about 46 MB when every ring
// is full), so memory is bounded by the cap whatever the cluster holds. A
// series that gets no point for a whole retention period (its topic or
// channel was deleted) is dropped.

// HistoryPoint is one poll's figures for a topic or channel, summed over
// nodes. A topic's in-flight and deferred counts are its channels' sums.
// Rate is messages per second since the previous point.
type HistoryPoint struct {
	TS           int64   `json:"ts"`
	Depth        int64   `json:"depth"`
	InFlight     int64   `json:"in_flight"`
	Deferred     int64   `json:"deferred"`
	MessageCount int64   `json:"message_count"`
	Rate         float64 `json:"rate"`
	E2eP99       int64   `json:"e2e_p99_ns"`

	atNanos int64 // the poll's exact time (unix ns), for rates
}

type seriesKey struct{ topic, channel string }

// series is a ring: points[start] is the oldest once it is full.
type series struct {
	points    []HistoryPoint
	start     int
	lastNanos int64 // when a point was last added (unix ns)
}

func (s *series) add(p HistoryPoint, capacity int) {
	if len(s.points) < capacity {
		s.points = append(s.points, p)
	} else {
		s.points[s.start] = p
		s.start = (s.start + 1) % capacity
	}
	s.lastNanos = p.atNanos
}

// newest is the last point added, if any.
func (s *series) newest() (HistoryPoint, bool) {
	if len(s.points) == 0 {
		return HistoryPoint{}, false
	}
	i := (s.start + len(s.points) - 1) % len(s.points)
	return s.points[i], true
}

// ordered is every point, oldest first.
func (s *series) ordered() []HistoryPoint {
	out := make([]HistoryPoint, 0, len(s.points))
	out = append(out, s.points[s.start:]...)
	return append(out, s.points[:s.start]...)
}

// sample is one poll's figures for a series before the rate is known.
type sample struct {
	depth, inFlight, deferred, messageCount, e2eP99 int64
}

type history struct {
	interval  time.Duration
	retention time.Duration
	capacity  int // points per series
	maxSeries int

	mu     sync.Mutex
	series map[seriesKey]*series
}

func newHistory(interval, retention time.Duration, maxSeries int) *history {
	capacity := 1
	if interval > 0 {
		capacity = int(retention/interval) + 1
	}
	return &history{
		interval:  interval,
		retention: retention,
		capacity:  capacity,
		maxSeries: maxSeries,
		series:    map[seriesKey]*series{},
	}
}

// record adds one poll taken at now. It returns how many new series were
// refused because the cap was reached.
func (h *history) record(now time.Time, samples map[seriesKey]sample) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	for key, s := range h.series {
		if now.Sub(time.Unix(0, s.lastNanos)) > h.retention {
			delete(h.series, key)
		}
	}
	// Deterministic order, so which series the cap refuses does not
	// change from poll to poll.
	keys := make([]seriesKey, 0, len(samples))
	for k := range samples {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b seriesKey) int {
		if a.topic != b.topic {
			if a.topic < b.topic {
				return -1
			}
			return 1
		}
		switch {
		case a.channel < b.channel:
			return -1
		case a.channel > b.channel:
			return 1
		}
		return 0
	})
	refused := 0
	for _, key := range keys {
		smp := samples[key]
		s, ok := h.series[key]
		if !ok {
			if len(h.series) >= h.maxSeries {
				refused++
				continue
			}
			s = &series{}
			h.series[key] = s
		}
		p := HistoryPoint{
			TS:           now.Unix(),
			Depth:        smp.depth,
			InFlight:     smp.inFlight,
			Deferred:     smp.deferred,
			MessageCount: smp.messageCount,
			E2eP99:       smp.e2eP99,
			atNanos:      now.UnixNano(),
		}
		// A count that went down means an nsqd restarted or left: no
		// honest rate for that interval, so 0.
		if prev, ok := s.newest(); ok && p.atNanos > prev.atNanos && smp.messageCount >= prev.MessageCount {
			p.Rate = float64(smp.messageCount-prev.MessageCount) / (float64(p.atNanos-prev.atNanos) / float64(time.Second))
		}
		s.add(p, h.capacity)
	}
	return refused
}

// points is the series' points taken at or after since (unix seconds),
// oldest first, and whether the series exists.
func (h *history) points(key seriesKey, since int64) ([]HistoryPoint, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.series[key]
	if !ok {
		return nil, false
	}
	all := s.ordered()
	i := slices.IndexFunc(all, func(p HistoryPoint) bool { return p.TS >= since })
	if i < 0 {
		return []HistoryPoint{}, true
	}
	return all[i:], true
}

// samplesOf turns every node's topic stats into one sample per topic and
// per channel.
func samplesOf(nodes []*TopicStats) map[seriesKey]sample {
	out := map[seriesKey]sample{}
	for _, t := range nodes {
		tk := seriesKey{topic: t.TopicName}
		ts := out[tk]
		ts.depth += t.Depth
		ts.messageCount += t.MessageCount
		ts.e2eP99 = max(ts.e2eP99, p99(t.E2eProcessingLatency))
		for _, c := range t.Channels {
			ck := seriesKey{topic: t.TopicName, channel: c.ChannelName}
			cs := out[ck]
			cs.depth += c.Depth
			cs.inFlight += c.InFlightCount
			cs.deferred += c.DeferredCount
			cs.messageCount += c.MessageCount
			cs.e2eP99 = max(cs.e2eP99, p99(c.E2eProcessingLatency))
			out[ck] = cs
			ts.inFlight += c.InFlightCount
			ts.deferred += c.DeferredCount
		}
		out[tk] = ts
	}
	return out
}

// p99 is one node's 0.99 quantile (nsqd reports it when its
// --e2e-processing-latency-percentile includes 0.99), or 0.
func p99(l *LatencyAggregate) int64 {
	if l == nil {
		return 0
	}
	for _, p := range l.Percentiles {
		if p["quantile"] == 0.99 {
			return int64(p["value"])
		}
	}
	return 0
}

// runHistory polls at once and then every interval until ctx ends.
func (n *NSQAdmin) runHistory(ctx context.Context) {
	ticker := time.NewTicker(n.history.interval)
	defer ticker.Stop()
	for {
		n.pollHistory(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// historyHandler is GET /api/history?topic=T[&channel=C][&since=unix].
func (n *NSQAdmin) historyHandler(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	query, err := httpapi.Query(r)
	if err != nil {
		return nil, err
	}
	topic, channel := query.Get("topic"), query.Get("channel")
	if topic == "" {
		return nil, httpapi.Errorf(http.StatusBadRequest, "MISSING_ARG_TOPIC")
	}
	var since int64
	if s := query.Get("since"); s != "" {
		if since, err = strconv.ParseInt(s, 10, 64); err != nil {
			return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_ARG_SINCE")
		}
	}
	points, ok := n.history.points(seriesKey{topic: topic, channel: channel}, since)
	if !ok {
		if channel != "" {
			return nil, httpapi.Errorf(http.StatusNotFound, "CHANNEL_NOT_FOUND")
		}
		return nil, httpapi.Errorf(http.StatusNotFound, "TOPIC_NOT_FOUND")
	}
	return struct {
		ResolutionSeconds float64        `json:"resolution_seconds"`
		Points            []HistoryPoint `json:"points"`
	}{n.history.interval.Seconds(), points}, nil
}
