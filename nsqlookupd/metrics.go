package nsqlookupd

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/metricsutil"
	"github.com/prometheus/client_golang/prometheus"
)

// The Prometheus exposition (GET /metrics): the registry's sizes, read at
// scrape time under its read lock, and the registration commands nsqds
// sent, by type. No label carries a topic or channel name, so the series
// count is fixed whatever the cluster's size.

// commandNames are the V1 commands counted; anything else is "invalid".
var commandNames = [...]string{"PING", "IDENTIFY", "REGISTER", "UNREGISTER", "invalid"}

// commandCounts counts V1 commands received, indexed like commandNames.
type commandCounts [len(commandNames)]atomic.Uint64

func (c *commandCounts) count(command string) {
	for i, name := range commandNames[:len(commandNames)-1] {
		if name == command {
			c[i].Add(1)
			return
		}
	}
	c[len(commandNames)-1].Add(1)
}

var (
	producersDesc  = prometheus.NewDesc("nsq_lookupd_producers", "nsqd nodes connected and identified.", nil, nil)
	topicsDesc     = prometheus.NewDesc("nsq_lookupd_topics", "Topics registered.", nil, nil)
	channelsDesc   = prometheus.NewDesc("nsq_lookupd_channels", "Channels registered, over all topics.", nil, nil)
	tombstonesDesc = prometheus.NewDesc("nsq_lookupd_tombstones", "Topic producers tombstoned and not yet expired.", nil, nil)
	commandsDesc   = prometheus.NewDesc("nsq_lookupd_commands_total", "Commands received from nsqd nodes, by type.", []string{"command"}, nil)
)

// newMetricsHandler builds the registry: the lookup collector, and the Go,
// process and build-info collectors every daemon serves
// (internal/metricsutil).
func (l *NSQLookupd) newMetricsHandler() http.Handler {
	return metricsutil.Handler(func(format string, args ...any) { l.logf(logging.Error, format, args...) }, lookupCollector{l: l})
}

type lookupCollector struct{ l *NSQLookupd }

func (lookupCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{producersDesc, topicsDesc, channelsDesc, tombstonesDesc, commandsDesc} {
		ch <- d
	}
}

func (c lookupCollector) Collect(ch chan<- prometheus.Metric) {
	sizes := c.l.reg.sizes(c.l.clock.Now())
	gauge := func(desc *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(v), labels...)
	}
	gauge(producersDesc, sizes.producers)
	gauge(topicsDesc, sizes.topics)
	gauge(channelsDesc, sizes.channels)
	gauge(tombstonesDesc, sizes.tombstones)
	for i, name := range commandNames {
		ch <- prometheus.MustNewConstMetric(commandsDesc, prometheus.CounterValue, float64(c.l.proto.commands[i].Load()), name)
	}
}

// registrySizes is what /metrics reports of the registry.
type registrySizes struct {
	producers, topics, channels, tombstones int
}

func (r *registry) sizes(now time.Time) registrySizes {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := registrySizes{producers: len(r.clients), topics: len(r.topics)}
	for _, channels := range r.channels {
		s.channels += len(channels)
	}
	for _, producers := range r.topics {
		for _, p := range producers {
			if p.isTombstoned(now, r.tombstoneLifetime) {
				s.tombstones++
			}
		}
	}
	return s
}
