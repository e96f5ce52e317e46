package queue

// syncDuer is a Disk that tells whether a put would fsync
// (*diskqueue.Queue's SyncDue).
type syncDuer interface {
	SyncDue(records int, bytes int64) bool
}

// diskRecordOverhead is what a record's frame adds on disk to RecordSize
// (internal/diskqueue/FORMAT.md): used only to foresee a segment's rollover.
const diskRecordOverhead = 12

// CommitWaits reports whether committing p is likely to wait: for an fsync
// of the backlog (its --sync-every is due, or the write rolls over to a new
// segment), or for work other than appending to the backlog (the deferred
// store, dead letters). It is false when p has no disk work, or only
// backlog records that the backlog says it will write without an fsync
// (diskqueue's SyncDue). A fan-out hands the commits that wait to other
// goroutines, so that their fsyncs overlap, and runs the others itself:
// writing a batch into the page cache costs less than waking a goroutine
// to do it (nsqd/fanout_commit.go). A hint only: it changes no outcome.
// p must not have been committed yet.
func (q *Queue) CommitWaits(p *Pending) bool {
	if p == nil {
		return false
	}
	if len(p.store) > 0 || len(p.dead) > 0 {
		return true
	}
	if len(p.backlog) == 0 {
		return false
	}
	d, ok := q.backlog.(syncDuer)
	if !ok {
		return true // a Disk that cannot tell: as if it synced
	}
	var bytes int64
	for i := range p.backlog {
		bytes += int64(diskRecordOverhead + RecordSize(&p.backlog[i]))
	}
	return d.SyncDue(len(p.backlog), bytes)
}
