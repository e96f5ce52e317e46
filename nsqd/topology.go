package nsqd

import "slices"

// Zone-aware delivery: upstream master's experimental "topology-aware
// consumption", made to work in our pull-based data
// path. A consumer whose IDENTIFY zone equals nsqd's --topology-zone is
// zone-local; region likewise. With the experiment on, a channel hands a
// ready message to an idle zone-local consumer before a region-local one,
// and to either before any other, but never holds a message back: a less
// local consumer is only kept from messages that idle, more local
// consumers have the credit to take at once.
//
// Consumers pull (pump.go): each takes what its credit allows. So the
// preference is a limit on the taker: a consumer of locality L may take
// only what exceeds the credit of the idle consumers more local than L.
// Those were woken by the same arrival and take the rest; when anything is
// left after a take, every waiter is woken again to look. Because the
// limit applies to whatever is ready, messages read from disk and deferred
// messages coming due get the same preference (upstream prefers only
// messages put in memory).

// experimentTopologyAware is the --enable-experiment name.
const experimentTopologyAware = "topology-aware-consumption"

// Locality of a consumer relative to this nsqd, most local highest.
const (
	localityGlobal = iota
	localityRegion
	localityZone
)

// topologyAware reports whether the experiment is enabled.
func (o *Options) topologyAware() bool {
	return slices.Contains(o.EnableExperiments, experimentTopologyAware)
}

// localityOf judges a subscribing consumer by its IDENTIFY fields (empty
// when it sent none: an empty zone equals nsqd's empty zone, as upstream).
func (n *NSQD) localityOf(cl *client) int {
	cl.settingsMu.Lock()
	zone, region := cl.topologyZone, cl.topologyRegion
	cl.settingsMu.Unlock()
	switch {
	case zone == n.opts.TopologyZone:
		return localityZone
	case region == n.opts.TopologyRegion:
		return localityRegion
	}
	return localityGlobal
}

// preferLocalLocked limits what taker may take now so that idle consumers
// more local than it get first pick; limit when nobody more local waits.
func (c *Channel) preferLocalLocked(taker *client, limit int) int {
	if taker.locality == localityZone {
		return limit
	}
	reserved := int64(0)
	for _, cl := range c.clients {
		if (cl.waiting || cl.readingBacklog) && cl.locality > taker.locality {
			reserved += cl.credit()
		}
	}
	if reserved <= 0 {
		return limit
	}
	// What other consumers are reading from the backlog right now is
	// spoken for already.
	return int(min(int64(limit), max(c.depthLocked()-c.backlogClaimed-reserved, 0)))
}

// countLocalityLocked counts n messages taken by taker, as upstream's
// per-channel counters do (before sample-rate dropping).
func (c *Channel) countLocalityLocked(taker *client, n int) {
	switch taker.locality {
	case localityZone:
		c.zoneLocalCount.Add(uint64(n))
	case localityRegion:
		c.regionLocalCount.Add(uint64(n))
	default:
		c.globalCount.Add(uint64(n))
	}
}

// readinessChanged is called when a consumer's RDY changes (RDY, CLS): if
// it was waiting as an idle consumer, less local ones may be holding off
// for credit it no longer has, so they are woken to look again.
func (c *client) readinessChanged() {
	ch := c.channel.Load()
	if ch == nil || !ch.topologyAware {
		return
	}
	ch.mu.Lock()
	if c.waiting {
		c.waiting = false
		ch.wakeLocked()
	}
	ch.mu.Unlock()
}
