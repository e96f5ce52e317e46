package nsqd

// BackendQueue is where a durable topic puts messages that do not fit in
// its memory queue: the disk queue (backend_disk.go). Ephemeral topics have
// none: their overflow is dropped and counted, as upstream does. A
// channel's backlog is part of its queue (nsqd/queue).
type BackendQueue interface {
	// Put stores a batch with one grouped write, or fails.
	Put(msgs []Message) error
	// ReadInto moves up to max messages into dst, and their records' seqs
	// into seqs, without blocking. Each stays on disk until acknowledged.
	ReadInto(dst []Message, seqs []uint64, max int) ([]Message, []uint64, error)
	// Ack releases the records of messages that are done with (FIN'd).
	Ack(seqs ...uint64)
	// Depth is the number of messages held.
	Depth() int64
	// Empty drops everything held.
	Empty() error
	// Close releases the queue, keeping what it holds.
	Close() error
	// Delete releases the queue and removes what it holds.
	Delete() error
}

// newBackend opens the overflow queue for a topic or channel; ephemeral ones
// get none.
func (n *NSQD) newBackend(name string, ephemeral bool) (BackendQueue, error) {
	if ephemeral {
		return nil, nil
	}
	return n.openDiskBackend(name)
}
