package nsqd

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/nsqgo/nsq/nsqd/queue"
)

// errNoDeadSet is deadSet's answer for a channel without disk (ephemeral
// channel or topic): it has no dead set, and what dies there is dropped and
// counted (README, "Dead set").
var errNoDeadSet = errors.New("channel has no dead set: it keeps no files (ephemeral)")

// channelDead is a channel's dead path: its dead set, opened on first use,
// and what it counted. Its own mutex serialises opening and closing the
// set only; the set has its own lock for everything else, so kill never
// takes Channel.mu.
type channelDead struct {
	mu     sync.Mutex // opening and closing set
	closed bool
	set    atomic.Pointer[queue.DeadSet]

	// lettered counts messages the channel sent away and stored (in its
	// dead set or its dead_letter_topic), by reason (index:
	// queue.DeadReason).
	lettered [queue.DeadOverflow + 1]atomic.Uint64
	// expired counts messages that expired, whatever became of them.
	expired atomic.Uint64
	// droppedBound counts dead messages the dead set dropped, oldest
	// first, to stay within --max-dead-depth.
	droppedBound atomic.Uint64
	// droppedNoSet counts messages that died on a channel with no dead
	// set (no disk) and no dead_letter_topic: dropped.
	droppedNoSet atomic.Uint64
	// failed counts deaths that could not be stored (dead set write or
	// dead_letter_topic publish failed): the queue kept those messages
	// and tries again (nsqd/queue/dying.go).
	failed atomic.Uint64
}

// deadSet returns the channel's dead set, opening it on first use (opening
// writes no file: the first Add does). errNoDeadSet for a channel without
// disk; errExiting once the channel is closed.
func (c *Channel) deadSet() (*queue.DeadSet, error) {
	if ds := c.dead.set.Load(); ds != nil {
		return ds, nil
	}
	if !c.queue.Durable() {
		return nil, errNoDeadSet
	}
	c.dead.mu.Lock()
	defer c.dead.mu.Unlock()
	if c.dead.closed {
		return nil, errExiting
	}
	if ds := c.dead.set.Load(); ds != nil {
		return ds, nil
	}
	ds, err := c.openDeadSetLocked()
	if err != nil {
		return nil, err
	}
	c.dead.set.Store(ds)
	return ds, nil
}

func (c *Channel) openDeadSetLocked() (*queue.DeadSet, error) {
	n := c.nsqd
	ds, err := queue.OpenDeadSet(queue.DeadSetOptions{
		Dir:      n.dataPath(),
		Name:     c.queueName(),
		MaxDepth: c.policy().MaxDeadDepth,
		Logf: func(format string, args ...any) {
			n.logf(warnLevel, format, args...)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("channel %s:%s: %w", c.topicName, c.name, err)
	}
	return ds, nil
}

// openExistingDeadSet opens the dead set at the channel's start when an
// earlier run left one, so /stats shows its depth before anything dies.
func (c *Channel) openExistingDeadSet() error {
	if !c.queue.Durable() {
		return nil
	}
	exists, err := queue.DeadSetExists(c.nsqd.dataPath(), c.queueName())
	if err != nil || !exists {
		return err
	}
	_, err = c.deadSet()
	return err
}

// closeDeadSet closes the dead set with the channel; deleted removes its
// files (a set left by an earlier run and never opened in this one too).
func (c *Channel) closeDeadSet(deleted bool) error {
	c.dead.mu.Lock()
	defer c.dead.mu.Unlock()
	if c.dead.closed {
		return nil
	}
	c.dead.closed = true
	ds := c.dead.set.Load()
	if ds == nil {
		if !deleted || !c.queue.Durable() {
			return nil
		}
		var err error
		if ds, err = c.openDeadSetLocked(); err != nil {
			return err
		}
	}
	if deleted {
		return ds.Delete()
	}
	return ds.Close()
}

// kill sends msgs away for reason: published to the channel's
// dead_letter_topic when it has one, else added to its dead set, else
// (no disk) dropped and counted. It runs without Channel.mu (it writes and
// fsyncs). nil means the messages are stored as durably as a publish
// would store them: only then may the caller release their queue records
// (Queue.Finish). On an error nothing was stored and the caller keeps them.
//
// Deaths decided inside the queue need none of this by hand: a queue
// method that adds them to its Pending (Queue.kill, nsqd/queue/dying.go)
// gets Kill called from Commit and the records released in Settle.
//
// Locks: with a dead_letter_topic, kill takes that topic's lock and its
// channels' (a publish). It must not run under a Topic.mu: two channels
// whose dead-letter topics are each other's topics would then wait on each
// other (a Put's commit runs under the publishing topic's read lock, so a
// death decided in Put must be killed after it).
func (c *Channel) kill(msgs []Message, reason queue.DeadReason, now int64) error {
	if len(msgs) == 0 {
		return nil
	}
	dying := make([]queue.Dying, len(msgs))
	for i := range msgs {
		dying[i] = queue.Dying{Message: msgs[i], Reason: reason}
	}
	return c.killDying(dying, now)
}

// killDying is kill for messages with a reason each; it is the queue's
// Config.Kill.
func (c *Channel) killDying(dying []queue.Dying, now int64) error {
	if len(dying) == 0 {
		return nil
	}
	pol := c.policy()
	if pol.DeadLetterTopic != "" {
		return c.publishDead(pol.DeadLetterTopic, dying)
	}
	ds, err := c.deadSet()
	if errors.Is(err, errNoDeadSet) {
		c.dead.droppedNoSet.Add(uint64(len(dying)))
		c.countExpired(dying)
		return nil
	}
	if err != nil {
		c.dead.failed.Add(uint64(len(dying)))
		return err
	}
	if pol.MaxDeadDepth != ds.MaxDepth() {
		dropped, err := ds.SetMaxDepth(pol.MaxDeadDepth)
		c.dead.droppedBound.Add(uint64(dropped))
		if err != nil {
			c.nsqd.logf(errorLevel, "CHANNEL(%s:%s): %s", c.topicName, c.name, err)
		}
	}
	dead := make([]queue.DeadMessage, len(dying))
	for i := range dying {
		m := &dying[i]
		dead[i] = queue.DeadMessage{
			ID: m.ID, Body: m.Body, Timestamp: m.Timestamp, Attempts: m.Attempts,
			Reason: m.Reason, DiedAt: now,
		}
	}
	dropped, err := ds.Add(dead...)
	if err != nil {
		c.dead.failed.Add(uint64(len(dying)))
		return fmt.Errorf("channel %s:%s: %w", c.topicName, c.name, err)
	}
	c.dead.droppedBound.Add(uint64(dropped))
	c.countLettered(dying)
	return nil
}

// publishDead publishes dead messages to topic on this nsqd, creating it
// as /pub would. Each becomes a new message of that topic: same body, a new
// ID and publish time, attempts 0; why it died is counted in this
// channel's stats only (README, "dead_letter_topic").
func (c *Channel) publishDead(topic string, dying []queue.Dying) error {
	t, err := c.nsqd.GetTopic(topic)
	if err == nil {
		msgs := make([]Message, len(dying))
		for i := range dying {
			msgs[i] = Message{Body: dying[i].Body}
		}
		err = t.PutMessages(msgs)
	}
	if err != nil {
		c.dead.failed.Add(uint64(len(dying)))
		return fmt.Errorf("channel %s:%s: publish to dead_letter_topic %s: %w", c.topicName, c.name, topic, err)
	}
	c.countLettered(dying)
	return nil
}

func (c *Channel) countLettered(dying []queue.Dying) {
	for i := range dying {
		if r := dying[i].Reason; int(r) < len(c.dead.lettered) {
			c.dead.lettered[r].Add(1)
		}
	}
	c.countExpired(dying)
}

func (c *Channel) countExpired(dying []queue.Dying) {
	for i := range dying {
		if dying[i].Reason == queue.DeadExpired {
			c.dead.expired.Add(1)
		}
	}
}

// deadLettered is how many messages died for reason (to the dead set or
// the dead_letter_topic).
func (c *Channel) deadLettered(reason queue.DeadReason) uint64 {
	if int(reason) >= len(c.dead.lettered) {
		return 0
	}
	return c.dead.lettered[reason].Load()
}

// deadDepth is the number of messages in the dead set (0 when it was never
// opened).
func (c *Channel) deadDepth() int64 {
	if ds := c.dead.set.Load(); ds != nil {
		return ds.Depth()
	}
	return 0
}

// deadPathOn reports whether the channel shows its dead-letter stats.
func (c *Channel) deadPathOn() bool {
	pol := c.policy()
	return pol.Enforces() || pol.DeadLetterTopic != "" || c.dead.set.Load() != nil ||
		c.dead.droppedNoSet.Load() > 0 || c.dead.failed.Load() > 0
}

// deadStats reads the dead-letter counters for /stats (DeadStats, the keys
// of nsqd/stats/queue.go): the zero value, no key at all, when the dead
// path is off, so that with every rule off /stats is upstream's.
func (c *Channel) deadStats() DeadStats {
	if !c.deadPathOn() {
		return DeadStats{}
	}
	var depth, bytes int64
	if ds := c.dead.set.Load(); ds != nil {
		depth, bytes = ds.Depth(), ds.Bytes()
	}
	return DeadStats{
		DeadCount:               &depth,
		DeadBytes:               bytes,
		DeadLetteredMaxAttempts: c.dead.lettered[queue.DeadMaxAttempts].Load(),
		DeadLetteredExpired:     c.dead.lettered[queue.DeadExpired].Load(),
		DeadLetteredOverflow:    c.dead.lettered[queue.DeadOverflow].Load(),
		ExpiredCount:            c.dead.expired.Load(),
		DeadDroppedCount:        c.dead.droppedBound.Load() + c.dead.droppedNoSet.Load(),
		DeadErrorCount:          c.dead.failed.Load(),
	}
}
