package nsqd

import (
	"context"
	"time"

	"github.com/nsqgo/nsq/nsqd/queue"
)

// redriveBatch bounds one Take of a redrive: one dead-set read, one queue
// write (and fsync, with --sync-every=1) and one dead-set commit per batch.
const redriveBatch = 256

// redrive moves up to limit dead messages (limit <= 0: all there are now)
// back to the channel's queue with their attempts reset, at most rate per
// second when rate > 0 (paced by the daemon's clock). Each batch is
// Taken from the dead set, stored in the queue's disk backlog (PutToDisk),
// and only then Committed out of the dead set: a kill -9 between the two
// leaves the batch in both (delivered, and dead again after the restart:
// at least once), never in neither. A batch the queue refuses is Released
// back to the dead set. It stops when ctx is done (the HTTP client went
// away) and returns how many it moved.
//
// A redriven message keeps its ID, body and publish timestamp (a TTL
// counts from the timestamp, so an expired message comes back expired
// while msg_ttl is unchanged; README, "Redrive").
func (c *Channel) redrive(ctx context.Context, limit, rate int) (int, error) {
	ds, err := c.deadSet()
	if err != nil {
		return 0, err
	}
	clk := c.nsqd.clock
	start := clk.Now()
	moved := 0
	for limit <= 0 || moved < limit {
		batch := redriveBatch
		if limit > 0 {
			batch = min(batch, limit-moved)
		}
		if ds.Depth() == 0 {
			return moved, nil
		}
		if rate > 0 {
			batch = min(batch, rate)
			// The moved messages may have left no earlier than
			// start + moved/rate.
			due := start.Add(time.Duration(float64(moved) / float64(rate) * float64(time.Second)))
			if wait := due.Sub(clk.Now()); wait > 0 {
				timer := clk.NewTimer(wait)
				select {
				case <-timer.C():
				case <-ctx.Done():
					timer.Stop()
					return moved, nil
				}
			}
		}
		if ctx.Err() != nil {
			return moved, nil
		}
		n, err := c.redriveOnce(ds, batch)
		moved += n
		if err != nil || n == 0 {
			return moved, err
		}
	}
	return moved, nil
}

// redriveOnce moves one batch; 0 when the dead set is empty.
func (c *Channel) redriveOnce(ds *queue.DeadSet, n int) (int, error) {
	taken, err := ds.Take(n)
	if err != nil || len(taken) == 0 {
		return 0, err
	}
	msgs := make([]Message, len(taken))
	for i, d := range taken {
		msgs[i] = Message{ID: d.ID, Body: d.Body, Timestamp: d.Timestamp}
	}
	c.mu.Lock()
	if c.exiting {
		c.mu.Unlock()
		ds.Release(taken)
		return 0, errExiting
	}
	c.messageCount.Add(uint64(len(msgs)))
	if err := c.finishLocked(c.queue.PutToDisk(msgs, c.now())); err != nil {
		// Put refuses a batch whole: none of it is queued.
		ds.Release(taken)
		return 0, err
	}
	if _, err := ds.Commit(taken); err != nil {
		// Queued and still dead: at least once. Released, they show as
		// dead again rather than staying taken until a restart.
		ds.Release(taken)
		c.nsqd.logf(errorLevel, "CHANNEL(%s:%s): redrive: %d messages queued but still in the dead set: %s",
			c.topicName, c.name, len(taken), err)
	}
	c.bound.redriven.Add(uint64(len(taken)))
	return len(taken), nil
}

// emptyDead drops every dead message; how many.
func (c *Channel) emptyDead() (int, error) {
	ds, err := c.deadSet()
	if err != nil {
		return 0, err
	}
	n, err := ds.Empty()
	c.bound.emptied.Add(uint64(n))
	return n, err
}
