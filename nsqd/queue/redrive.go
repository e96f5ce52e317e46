package queue

// PutToDisk queues new messages as Put does, except that every ready one
// goes through the disk backlog, none to memory only: once Settle returns
// no error they are all stored. A redrive needs it: the dead set forgets
// its messages only after they are stored in the queue, so a kill -9 in
// between leaves them in one place or both, never in neither
// (nsqd/channel_redrive.go). Deferred messages are stored as Put stores
// them. A memory-only queue (no backlog) queues as Put.
//
// Redriven messages are not the bound's to refuse: they belonged to the
// channel already.
func (q *Queue) PutToDisk(msgs []Message, now int64) *Pending {
	q.bound.toDisk = q.backlog != nil
	p := q.Put(msgs, now)
	q.bound.toDisk = false
	return p
}
