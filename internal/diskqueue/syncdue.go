package diskqueue

// SyncDue reports whether a Put of records records whose frames (record
// headers included, FORMAT.md) take bytes bytes would fsync, as the writer
// stands now: it would reach SyncEvery, or roll over into a new segment
// (which seals the old one with an fsync). It is a hint for a caller that
// chooses where to run a Put (a fan-out hands only the Puts that wait for an
// fsync to other goroutines, nsqd/fanout_commit.go), never a promise:
// another Put or the periodic sync may run in between. While the writer is
// busy it reports true, which costs such a caller only the hand-over it
// made before.
func (q *Queue) SyncDue(records int, bytes int64) bool {
	if !q.wmu.TryLock() {
		return true
	}
	w := &q.w
	end := max(w.pos, segHeaderSize) // a new segment starts with its header
	due := w.unsynced+int64(records) >= q.opts.SyncEvery || end+bytes > q.opts.MaxBytesPerFile
	q.wmu.Unlock()
	return due
}
