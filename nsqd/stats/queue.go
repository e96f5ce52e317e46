package stats

// The keys we report beyond upstream. Each is present only when non-zero
// (the dead path's only while it is on), so a node with every bound and
// dead-letter rule off, and healthy disks, answers upstream 1.3's bytes.

// QueueHealth counts messages an ephemeral queue dropped on overflow, and
// damaged disk data skipped.
type QueueHealth struct {
	DroppedCount       uint64 `json:"dropped_count,omitempty"`
	DiskSkippedRecords int64  `json:"disk_skipped_records,omitempty"`
	DiskSkippedBytes   int64  `json:"disk_skipped_bytes,omitempty"`
}

// QueueBounds are the bound's and the dead set admin's counters (issue 12).
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

// Dead are a channel's dead-letter keys (README, "Dead set"). The daemon
// fills them only for a channel whose dead path is on (an attempts limit, a
// TTL, a bound or a dead_letter_topic set, or a dead set left on disk);
// DeadCount is nil, and every key absent, otherwise.
type Dead struct {
	DeadCount *int64 `json:"dead_count,omitempty"` // in the dead set now
	DeadBytes int64  `json:"dead_bytes,omitempty"` // their body bytes

	DeadLetteredMaxAttempts uint64 `json:"dead_lettered_max_attempts_count,omitempty"`
	DeadLetteredExpired     uint64 `json:"dead_lettered_expired_count,omitempty"`
	DeadLetteredOverflow    uint64 `json:"dead_lettered_overflow_count,omitempty"`
	ExpiredCount            uint64 `json:"expired_count,omitempty"`
	// DeadDroppedCount: dropped by the dead set's bound, or dying where
	// there is no dead set (ephemeral) and no dead_letter_topic.
	DeadDroppedCount uint64 `json:"dead_dropped_count,omitempty"`
	DeadErrorCount   uint64 `json:"dead_error_count,omitempty"` // deaths postponed by a failed write
}
