package nsqlookupd

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/metricsutil"
	"github.com/nsqgo/nsq/internal/promexpo"
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
	producersDesc  = promexpo.NewDesc(promexpo.Gauge, "nsq_lookupd_producers", "nsqd nodes connected and identified.")
	topicsDesc     = promexpo.NewDesc(promexpo.Gauge, "nsq_lookupd_topics", "Topics registered.")
	channelsDesc   = promexpo.NewDesc(promexpo.Gauge, "nsq_lookupd_channels", "Channels registered, over all topics.")
	tombstonesDesc = promexpo.NewDesc(promexpo.Gauge, "nsq_lookupd_tombstones", "Topic producers tombstoned and not yet expired.")
	commandsDesc   = promexpo.NewDesc(promexpo.Counter, "nsq_lookupd_commands_total", "Commands received from nsqd nodes, by type.", "command")
)

// newMetricsHandler builds the registry: the lookup collector, and the Go,
// process and build-info collectors every daemon serves
// (internal/metricsutil).
func (l *NSQLookupd) newMetricsHandler() http.Handler {
	return metricsutil.Handler(func(format string, args ...any) { l.logf(logging.Error, format, args...) }, lookupCollector{l: l})
}

type lookupCollector struct{ l *NSQLookupd }

func (c lookupCollector) Collect(s *promexpo.Scrape) error {
	sizes := c.l.reg.sizes(c.l.clock.Now())
	s.Value(producersDesc, float64(sizes.producers))
	s.Value(topicsDesc, float64(sizes.topics))
	s.Value(channelsDesc, float64(sizes.channels))
	s.Value(tombstonesDesc, float64(sizes.tombstones))
	for i, name := range commandNames {
		s.Value(commandsDesc, float64(c.l.proto.commands[i].Load()), name)
	}
	return nil
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
