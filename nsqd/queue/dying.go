package queue

// Dying is a message the queue gives up on (an attempt beyond the policy's
// MaxAttempts, older than its MsgTTL) and why. The queue hands dying
// messages to Config.Kill from Commit, outside the caller's lock, and keeps
// each one's disk record until Kill has put it somewhere durable
// (DEADWIRE.md).
type Dying struct {
	Message
	Reason DeadReason
}

// DeadSetExists reports whether a dead set named name has files in dir, so
// that a channel can open the set at start when an earlier run left one,
// and otherwise only at its first death.
func DeadSetExists(dir, name string) (bool, error) {
	nums, err := listDeadSegments(dir, name)
	return len(nums) > 0, err
}

// MaxDepth is the set's current bound (0 = unbounded).
func (d *DeadSet) MaxDepth() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.opts.MaxDepth
}
