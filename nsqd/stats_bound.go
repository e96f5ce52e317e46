package nsqd

// QueueBounds are the bound's and the dead set admin's counters in /stats
// (issue 12). Each key is present only when non-zero, so a node with every
// bound off answers upstream 1.3's bytes.
type QueueBounds struct {
	// Messages refused by reject-new, by the limit that refused them.
	RejectedMaxDepthCount uint64 `json:"rejected_max_depth_count,omitempty"`
	RejectedMaxBytesCount uint64 `json:"rejected_max_bytes_count,omitempty"`
	// Messages drop-oldest pushed out: to the dead path for a channel,
	// dropped for a topic (which has no dead set).
	OverflowDroppedCount uint64 `json:"overflow_dropped_count,omitempty"`
	// Dead messages moved back by /channel/dead/redrive, and removed by
	// /channel/dead/empty (channels only).
	RedrivenCount    uint64 `json:"redriven_count,omitempty"`
	DeadEmptiedCount uint64 `json:"dead_emptied_count,omitempty"`
}

func (c *Channel) boundStats() QueueBounds {
	return QueueBounds{
		RejectedMaxDepthCount: c.bound.rejected.depth.Load(),
		RejectedMaxBytesCount: c.bound.rejected.bytes.Load(),
		OverflowDroppedCount:  c.bound.dropped.Load(),
		RedrivenCount:         c.bound.redriven.Load(),
		DeadEmptiedCount:      c.bound.emptied.Load(),
	}
}

func (t *Topic) boundStats() QueueBounds {
	return QueueBounds{
		RejectedMaxDepthCount: t.bound.rejected.depth.Load(),
		RejectedMaxBytesCount: t.bound.rejected.bytes.Load(),
		OverflowDroppedCount:  t.bound.dropped.Load(),
	}
}
