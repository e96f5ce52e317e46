package nsqd

import "time"

// diskReadRetryDelay is how long a channel or topic waits before reading
// its disk queue again after a read failed (out of file descriptors, an
// I/O error): nothing else would make it try again until a new message
// arrived, so a queue with a backlog and no new traffic would stall.
const diskReadRetryDelay = 250 * time.Millisecond

// retryReadLocked wakes the channel's consumers again once the retry delay
// has passed. Caller holds c.mu.
func (c *Channel) retryReadLocked() {
	if c.readRetry == nil {
		c.readRetry = c.nsqd.clock.AfterFunc(diskReadRetryDelay, func() {
			c.mu.Lock()
			c.wakeLocked()
			c.mu.Unlock()
		})
		return
	}
	c.readRetry.Reset(diskReadRetryDelay)
}

// retryDrainLocked restarts the topic's drain once the retry delay has
// passed (startDrainLocked does nothing once the topic is closing). Caller
// holds t.mu.
func (t *Topic) retryDrainLocked() {
	if t.drainRetry == nil {
		t.drainRetry = t.nsqd.clock.AfterFunc(diskReadRetryDelay, func() {
			t.mu.Lock()
			t.startDrainLocked()
			t.mu.Unlock()
		})
		return
	}
	t.drainRetry.Reset(diskReadRetryDelay)
}
