package nsqadmin

import (
	"context"
	"sync"

	"github.com/nsqgo/nsq/internal/logging"
)

// pollHistory takes one poll. Nodes that fail are left out of it (and
// logged, and counted by address for /metrics); the others still count.
// Each lookupd (or configured nsqd) and then each nsqd is asked on its own,
// so that a failure is charged to the node that failed.
func (n *NSQAdmin) pollHistory(ctx context.Context) {
	start := n.now()
	opts := n.getOpts()
	defer func() {
		if ctx.Err() == nil {
			n.metrics.polls.Add(1)
			n.metrics.lastPollNanos.Store(int64(n.now().Sub(start)))
		}
	}()
	kind, addrs := "nsqlookupd", opts.NSQLookupdHTTPAddresses
	if len(addrs) == 0 {
		kind, addrs = "nsqd", opts.NSQDHTTPAddresses
	}
	var (
		mu        sync.Mutex
		producers []*Producer
		seen      = map[string]bool{}
	)
	errs := fanOut(addrs, func(addr string) error {
		var found []*Producer
		var err error
		if kind == "nsqlookupd" {
			found, err = n.cluster.lookupdProducers(ctx, []string{addr})
		} else {
			found, err = n.cluster.nsqdProducers(ctx, []string{addr}, "")
		}
		if err != nil {
			n.pollFailed(ctx, addr)
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, p := range found {
			if !seen[p.HTTPAddress()] {
				seen[p.HTTPAddress()] = true
				producers = append(producers, p)
			}
		}
		return nil
	})
	if err := outcome(kind, len(addrs), flatten(errs)); err != nil {
		if ctx.Err() != nil {
			return
		}
		n.logf(logging.Warn, "history: %s", err)
		if _, all := err.(*allFailedError); all {
			return
		}
	}
	if len(producers) == 0 {
		// No nsqd yet: nothing to sample, but deleted series still age.
		n.history.record(n.now(), nil)
		n.metrics.lastSeriesRefused.Store(0)
		return
	}

	byAddr := make(map[string]*Producer, len(producers))
	for _, p := range producers {
		byAddr[p.HTTPAddress()] = p
	}
	var nodes []*TopicStats
	errs = fanOut(httpAddrs(producers), func(addr string) error {
		stats, err := n.cluster.nodeStats(ctx, []*Producer{byAddr[addr]}, "", "", false)
		if err != nil {
			n.pollFailed(ctx, addr)
			return err
		}
		mu.Lock()
		nodes = append(nodes, stats...)
		mu.Unlock()
		return nil
	})
	err := outcome("nsqd", len(producers), flatten(errs))
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		n.logf(logging.Warn, "history: %s", err)
		if _, all := err.(*allFailedError); all {
			return
		}
	}
	refused := n.history.record(n.now(), samplesOf(nodes))
	n.metrics.lastSeriesRefused.Store(int64(refused))
	if refused > 0 {
		n.logf(logging.Warn, "history: %d topics/channels have no history: --history-max-series=%d reached", refused, opts.HistoryMaxSeries)
	}
}

// pollFailed counts addr's failure unless the poll was cut short by Exit.
func (n *NSQAdmin) pollFailed(ctx context.Context, addr string) {
	if ctx.Err() == nil {
		n.metrics.pollFailed(addr)
	}
}

// flatten turns the one-node fan-outs' errors (each an allFailedError of
// one) back into the node errors, so the log names each once.
func flatten(errs []error) []error {
	var out []error
	for _, err := range errs {
		if all, ok := err.(*allFailedError); ok {
			out = append(out, all.errs...)
			continue
		}
		out = append(out, err)
	}
	return out
}
