package nsqd

// boundStats are the bound's and the dead set admin's counters in /stats
// (issue 12; the keys are nsqd/stats/queue.go's).
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
