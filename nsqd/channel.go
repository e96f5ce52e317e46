package nsqd

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/nsqgo/nsq/nsqd/queue"
)

var errExiting = errors.New("exiting")

// Channel hands each message of its topic to exactly one of its consumers.
// Where its messages wait (memory ring, disk backlog, deferred heap and
// store) is its queue's business (nsqd/queue); the channel keeps the lock
// that serialises the queue, its consumers and their wake-ups, one timer
// for the queue's next deferred deadline, pause, and counters. In-flight
// messages are tracked by the client that holds them, not here, so that a
// FIN touches only its own client's state.
//
// Disk writes never happen under mu: a queue method that needs one returns
// a *queue.Pending, which commit writes with mu released and settles under
// it again. writers counts those in progress, so close waits for them.
type Channel struct {
	topicName string
	name      string
	ephemeral bool
	nsqd      *NSQD

	mu         sync.Mutex
	queue      *queue.Queue
	deferTimer clock.Timer   // fires at deferAt, the queue's next deadline
	deferAt    int64         // 0: the timer is not armed
	readRetry  clock.Timer   // wakes consumers after a failed disk read (disk_retry.go)
	readyWait  chan struct{} // closed (and replaced) when messages arrive
	// backlogClaimed is how many backlog messages consumers are reading
	// with the lock released (take): still in Depth, but spoken for.
	backlogClaimed int64
	clients        map[int64]*client
	paused         bool
	exiting        bool
	writers        sync.WaitGroup // commits in progress; Add under mu while !exiting
	deleteCalled   bool

	messageCount  atomic.Uint64
	requeueCount  atomic.Uint64
	timeoutCount  atomic.Uint64
	inFlightCount atomic.Int64
	finishCount   atomic.Uint64

	// topologyAware: the experiment is on (topology.go); deliveries are
	// then counted by the consumer's locality.
	topologyAware    bool
	zoneLocalCount   atomic.Uint64
	regionLocalCount atomic.Uint64
	globalCount      atomic.Uint64

	latency finLatency // FIN's latency recorders (metrics_hooks.go)

	queuePolicy objectPolicy // its own queue settings and effective policy (channel_policy.go)

	dead channelDead // dead set and dead-letter counters (channel_dead.go)

	bound channelBound // max_depth/max_bytes counters (channel_bound.go)

	log channelLog // its cursor of the topic's log (fanout_log.go)
}

func newChannel(topicName, name string, n *NSQD) (*Channel, error) {
	c := &Channel{
		topicName: topicName,
		name:      name,
		ephemeral: protocol.IsEphemeral(name),
		nsqd:      n,
		clients:   map[int64]*client{},
		latency:   n.newFinLatency(),

		topologyAware: n.opts.topologyAware(),
	}
	cfg := queue.Config{
		Name:    c.queueName(),
		MemSize: int(n.opts.MemQueueSize),
		Logf: func(format string, args ...any) {
			n.logf(errorLevel, format, args...)
		},
		Wrote: n.recordWrite,
		// Called under c.mu by the queue.
		Room: c.consumerCreditLocked,
		// The dead path (channel_dead.go): the policy is read under c.mu,
		// Kill runs in commit, without it.
		Policy: c.policy,
		Kill:   c.killDying,
		// A finished message's body is read no more: FIN comes from the
		// consumer it was written to, sampling drops it unwritten.
		ReuseReads: true,
		// Fresh ring blocks get huge pages (hugepages.go).
		HugePages: n.hugePages,
	}
	// A channel of an ephemeral topic keeps to memory too: the topic is
	// never recorded in nsqd.dat, so files of its channels would be
	// orphaned at the next start (upstream leaves them behind).
	if !c.ephemeral && !protocol.IsEphemeral(topicName) {
		opts := n.diskQueueOptions()
		cfg.Disk = &opts
	}
	var err error
	if c.queue, err = queue.Open(cfg); err != nil {
		return nil, fmt.Errorf("channel %s:%s: %w", topicName, name, err)
	}
	if err = c.openExistingDeadSet(); err != nil {
		c.queue.Close()
		return nil, err
	}
	c.mu.Lock()
	c.armDeferTimerLocked() // deferred messages an earlier run left
	c.mu.Unlock()
	return c, nil
}

// queueName names the channel's disk queue as upstream does.
func (c *Channel) queueName() string { return c.topicName + ":" + c.name }

// Name returns the channel name.
func (c *Channel) Name() string { return c.name }

func (c *Channel) now() int64 { return c.nsqd.clock.Now().UnixNano() }

// putShared queues a batch fanned out from the topic: shared is the topic's
// records of it (queue.SharedRecords), which the channel's memory queue
// points at rather than copies (queue.PutShared). A disk write it needs is
// done after the channel lock is released; an error means none of the
// batch was queued.
//
// kept reports whether the channel may still refer to any of the batch's
// bodies once putShared returned: false only when every message went to
// the disk backlog alone (or was dropped), so that the publisher may reuse
// the bodies' memory (body_alloc.go). A channel with a bound says true
// (its drop-oldest and dead paths may hold a body), and so does any error.
func (c *Channel) putShared(shared queue.Shared) (kept bool, err error) {
	p, kept, err := c.beginShared(shared)
	if p == nil || err != nil {
		return kept, err
	}
	if err := c.commit(p); err != nil {
		return true, err
	}
	return kept, nil
}

// putBacklog queues a batch the topic had accepted already (its memory or
// disk backlog): a disk refusal keeps the messages in memory instead of
// dropping them, and is still returned, for the topic must then keep its
// own record of them.
func (c *Channel) putBacklog(msgs []Message) error {
	c.mu.Lock()
	if c.exiting {
		c.mu.Unlock()
		return errExiting
	}
	c.messageCount.Add(uint64(len(msgs)))
	p := c.queue.Requeue(msgs, c.now())
	return c.finishLocked(p)
}

// requeue puts messages that left a client back: ready at the end of the
// queue (REQ 0, timeout, disconnect), or deferred until their DeliverAt
// (REQ with a delay, a second copy held back). A disk refusal keeps them
// in memory: their disk records, if any, stay held until then.
//
// A departing consumer's thousands of messages go back requeueChunk at a
// time: each chunk's disk write is a Pending the queue reuses
// (nsqd/queue/disk.go), where one Pending for all of them would grow its
// slices to the whole batch (72 bytes a message) only to drop them after.
func (c *Channel) requeue(msgs []Message) {
	for len(msgs) > 0 {
		chunk := msgs[:min(len(msgs), requeueChunk)]
		msgs = msgs[len(chunk):]
		c.mu.Lock()
		if c.exiting {
			c.mu.Unlock()
			return
		}
		p := c.queue.Requeue(chunk, c.now())
		c.finishLocked(p)
	}
}

// requeueChunk is how many messages one requeue step puts back.
const requeueChunk = 256

// deferMessage holds a message until its DeliverAt (REQ with a delay).
func (c *Channel) deferMessage(m Message) { c.requeue([]Message{m}) }

// deferAll holds messages until their DeliverAt.
func (c *Channel) deferAll(msgs []Message) { c.requeue(msgs) }

// finishLocked ends a change of the queue: consumers are woken, the timer
// follows the next deadline, and c.mu is released; then the change's disk
// writes, if any, are committed without the lock.
func (c *Channel) finishLocked(p *queue.Pending) error {
	if !c.releaseLocked(p) {
		return nil
	}
	return c.commit(p)
}

// commit writes a Pending with c.mu released and settles it under c.mu,
// then any follow-up work the queue returns (a store compaction). It
// returns the first error Settle reported.
func (c *Channel) commit(p *queue.Pending) error {
	defer c.writers.Done()
	var first error
	for p != nil {
		c.queue.Commit(p)
		c.mu.Lock()
		var err error
		p, err = c.queue.Settle(p)
		c.changedLocked()
		c.mu.Unlock()
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

// changedLocked wakes the consumers and re-arms the timer for the queue's
// next deferred deadline.
func (c *Channel) changedLocked() {
	c.wakeLocked()
	c.armDeferTimerLocked()
}

// consumerCreditLocked is how many messages the channel's consumers would
// take now (RDY minus in flight, summed).
func (c *Channel) consumerCreditLocked() int {
	credit := 0
	for _, cl := range c.clients {
		credit += int(max(cl.credit(), 0))
	}
	return credit
}

// wakeLocked releases every consumer waiting for messages.
func (c *Channel) wakeLocked() {
	if c.readyWait != nil {
		close(c.readyWait)
		c.readyWait = nil
	}
}

// armDeferTimerLocked points the one deferral timer at the queue's next
// deadline.
func (c *Channel) armDeferTimerLocked() {
	next := c.queue.NextDeadline()
	if next == 0 || next == c.deferAt || c.exiting {
		return
	}
	c.deferAt = next
	wait := time.Duration(next - c.now())
	if c.deferTimer == nil {
		c.deferTimer = c.nsqd.clock.AfterFunc(wait, c.promoteDeferred)
		return
	}
	c.deferTimer.Reset(wait)
}

// promoteDeferred runs on the deferral timer: due messages become ready.
func (c *Channel) promoteDeferred() {
	c.mu.Lock()
	if c.exiting {
		c.mu.Unlock()
		return
	}
	c.deferAt = 0
	p := c.queue.PromoteDue(c.now())
	c.finishLocked(p)
}

// take moves up to max ready messages into dst. When it returns none, the
// returned channel is closed as soon as there may be some.
//
// Memory is taken under the channel lock; the disk backlog is read with
// the lock released (other consumers and publishers of the channel do not
// wait for the read), and memory is topped up after it.
//
// taker is the consumer taking; with the topology experiment on, what it may
// take and how it is counted depend on its locality (topology.go).
func (c *Channel) take(dst []Message, max int, taker *client) ([]Message, <-chan struct{}) {
	start := len(dst)
	// A read that finds nothing while more was spilled meanwhile tries
	// again, a bounded number of times, before the consumer waits.
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		taker.waiting = false
		if c.paused || c.exiting {
			wait := c.waitLocked(taker)
			c.mu.Unlock()
			return dst, wait
		}
		want := max
		if c.topologyAware {
			want = c.preferLocalLocked(taker, want)
		}
		fromBacklog := 0
		now := c.now()
		var p *queue.Pending
		if want > 0 {
			dst, fromBacklog, p = c.queue.Take(dst, want, now)
		}
		if fromBacklog == 0 {
			c.countTakenLocked(taker, len(dst)-start)
			var wait <-chan struct{}
			if len(dst) == start {
				wait = c.waitLocked(taker)
			}
			c.unlockCommitting(p)
			return dst, wait
		}
		// A more local consumer reading the backlog still holds back
		// less local ones, as when it waits (topology.go).
		taker.readingBacklog = true
		c.backlogClaimed += int64(fromBacklog)
		epoch := c.queue.Epoch()
		c.mu.Unlock()

		var later []Message
		var err error
		dst, later, err = c.queue.ReadBacklog(dst, fromBacklog, now, nil)

		c.mu.Lock()
		taker.readingBacklog = false
		c.backlogClaimed -= int64(fromBacklog)
		if err != nil {
			c.nsqd.logf(errorLevel, "CHANNEL(%s:%s): %s", c.topicName, c.name, err)
			c.retryReadLocked()
		}
		if c.queue.Epoch() != epoch {
			// Emptied while this consumer read: what it took and read
			// was published before the Empty, so it is dropped too.
			clear(dst[start:])
			dst = dst[:start]
			clear(later)
			later = later[:0]
		}
		if !c.exiting {
			dst, p = c.queue.TakeReady(dst, want-(len(dst)-start), now, p)
		}
		c.countTakenLocked(taker, len(dst)-start)
		if len(later) > 0 && !c.exiting {
			// Not due yet: deferred, by way of the store; expired: to
			// the dead path. (Once the channel is closing, their
			// records stay on disk instead.)
			p = c.queue.Defer(later, now, p)
		}
		retry := len(dst) == start && err == nil && !c.exiting && c.queue.Depth() > 0 && attempt < 2
		var wait <-chan struct{}
		if len(dst) == start && !retry {
			wait = c.waitLocked(taker)
			if err == nil && !c.exiting && c.queue.Depth() > c.backlogClaimed {
				// Outrun on every attempt (others read first while more
				// kept landing): what the backlog holds now no one is
				// reading, and nothing need arrive to wake this consumer
				// for it. It looks again after the retry delay.
				c.retryReadLocked()
			}
		}
		c.unlockCommitting(p)
		if !retry {
			return dst, wait
		}
	}
}

// unlockCommitting releases c.mu and then writes p (deferred messages
// going to the store, deaths going to the dead path), if any.
func (c *Channel) unlockCommitting(p *queue.Pending) {
	if p == nil {
		c.mu.Unlock()
		return
	}
	c.armDeferTimerLocked()
	c.writers.Add(1)
	c.mu.Unlock()
	c.commit(p)
}

// countTakenLocked counts n messages taken by taker when the topology
// experiment is on, and lets less local consumers look again.
func (c *Channel) countTakenLocked(taker *client, n int) {
	if c.topologyAware && n > 0 {
		c.countLocalityLocked(taker, n)
		if c.depthLocked() > 0 {
			c.wakeLocked() // less local consumers may have held off
		}
	}
}

// waitLocked marks taker as waiting and returns the channel closed when
// messages arrive.
func (c *Channel) waitLocked(taker *client) <-chan struct{} {
	taker.waiting = true
	if c.readyWait == nil {
		c.readyWait = make(chan struct{})
	}
	return c.readyWait
}

// addClient subscribes a consumer, enforcing --max-channel-consumers.
func (c *Channel) addClient(cl *client) error {
	// Judged before the channel lock: no client lock is taken under it.
	locality := localityGlobal
	if c.topologyAware {
		locality = c.nsqd.localityOf(cl)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exiting {
		return errExiting
	}
	if _, ok := c.clients[cl.id]; ok {
		return nil
	}
	if limit := c.nsqd.opts.MaxChannelConsumers; limit > 0 && len(c.clients) >= limit {
		return fmt.Errorf("consumers for %s:%s exceeds limit of %d", c.topicName, c.name, limit)
	}
	c.clients[cl.id] = cl
	cl.locality = locality
	return nil
}

// removeClient unsubscribes a consumer; the last consumer of an ephemeral
// channel takes the channel with it.
func (c *Channel) removeClient(cl *client) {
	c.mu.Lock()
	delete(c.clients, cl.id)
	if cl.waiting {
		cl.waiting = false
		c.wakeLocked() // less local consumers may have held off for it
	}
	last := len(c.clients) == 0 && c.ephemeral && !c.deleteCalled
	if last {
		c.deleteCalled = true
	}
	c.mu.Unlock()
	if last {
		if t, err := c.nsqd.GetExistingTopic(c.topicName); err == nil {
			t.DeleteExistingChannel(c.name)
		}
	}
}

// findOwner reports whether another client of this channel holds id, so a
// FIN of someone else's message gets upstream's distinct error.
func (c *Channel) findOwner(id protocol.MessageID, except *client) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cl := range c.clients {
		if cl != except && cl.inFlight.has(id) {
			return true
		}
	}
	return false
}

// Pause stops deliveries; messages accumulate.
func (c *Channel) Pause() { c.setPaused(true) }

// Unpause resumes deliveries.
func (c *Channel) Unpause() { c.setPaused(false) }

func (c *Channel) setPaused(paused bool) {
	c.mu.Lock()
	c.paused = paused
	if !paused {
		c.wakeLocked()
	}
	c.mu.Unlock()
	c.nsqd.metadataChanged()
}

// IsPaused reports the paused state.
func (c *Channel) IsPaused() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paused
}

// Empty drops ready, deferred and in-flight messages. The queue's memory
// is cleared under c.mu, its files with c.mu released (nsqd/queue's
// empty.go): consumers, publishers and stats of the channel do not wait
// for the file removal. A publish or requeue (chunk) that runs meanwhile is
// emptied or kept whole; a consumer reading the backlog meanwhile drops
// what it read (take compares the queue's epoch).
func (c *Channel) Empty() error {
	e := c.queue.BeginEmpty()
	c.mu.Lock()
	e.DropMemory()
	clients := c.clientListLocked()
	c.mu.Unlock()
	err := e.DropDisk()
	for _, cl := range clients {
		cl.dropInFlight(c)
	}
	return err
}

func (c *Channel) clientListLocked() []*client {
	list := make([]*client, 0, len(c.clients))
	for _, cl := range c.clients {
		list = append(list, cl)
	}
	return list
}

// close stops the channel; delete also removes what its queue holds and
// closes its consumers' connections. A graceful close writes what the
// channel holds in memory to disk so that a restart delivers it again:
// ready messages to the backlog, deferred ones (keeping their time) to the
// deferred store. In-flight messages are already back in the queue: a
// closing connection requeues what it held.
func (c *Channel) close(deleted bool) error {
	c.mu.Lock()
	if c.exiting {
		c.mu.Unlock()
		return nil
	}
	c.exiting = true
	if c.deferTimer != nil {
		c.deferTimer.Stop()
	}
	if c.readRetry != nil {
		c.readRetry.Stop()
	}
	c.wakeLocked()
	clients := c.clientListLocked()
	c.mu.Unlock()
	// No commit starts once exiting is set; those under way settle first.
	c.writers.Wait()
	if deleted {
		for _, cl := range clients {
			cl.closeConn()
		}
		return errors.Join(c.queue.Delete(), c.closeDeadSet(true))
	}
	c.mu.Lock()
	p := c.queue.Flush()
	c.mu.Unlock()
	if p != nil {
		c.nsqd.logf(infoLevel, "CHANNEL(%s:%s): flushing memory and deferred messages to backend", c.topicName, c.name)
		for p != nil {
			c.queue.Commit(p)
			c.mu.Lock()
			var err error
			p, err = c.queue.Settle(p)
			c.mu.Unlock()
			if err != nil {
				c.nsqd.logf(errorLevel, "CHANNEL(%s:%s): failed to flush messages to disk: %s", c.topicName, c.name, err)
			}
		}
	}
	return errors.Join(c.queue.Close(), c.closeDeadSet(false))
}

// Depth is the number of ready messages, memory and backend.
func (c *Channel) Depth() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.depthLocked()
}

func (c *Channel) depthLocked() int64 { return c.queue.Depth() }

// BackendDepth is the part of Depth on disk.
func (c *Channel) BackendDepth() int64 { return c.queue.BacklogDepth() }

// finished is FIN's hook: it records the latency up to now (the FIN's time,
// see recordE2E) and releases the disk record the message came from.
func (c *Channel) finished(m *Message, now int64) {
	c.finishCount.Add(1)
	c.recordE2E(m.Timestamp, now)
	c.queue.Finish(m)
}

// finishedEach is finished for each of msgs, FIN'd together at now, with
// one update of the channel's FIN count for them all, made after their
// latencies are recorded: a burst of FINs costs one atomic add on the
// channel's counter, which every consumer of the channel shares, instead
// of one per FIN.
//
// The /metrics latency histogram counts the burst as one run
// (prometheus.HistogramRun), also before the FIN count.
func (c *Channel) finishedEach(msgs []Message, now int64) {
	l := &c.latency
	run := l.histogram.Run() // nil-safe: a run that counts nothing
	for i := range msgs {
		if l.window != nil {
			l.window.Record(now, msgs[i].Timestamp)
		}
		run.Observe(time.Duration(now - msgs[i].Timestamp))
		c.queue.Finish(&msgs[i])
	}
	run.Flush()
	c.finishCount.Add(uint64(len(msgs)))
}

// release lets go of the disk record of a message that leaves the channel
// for good without a FIN (dropped by sampling). It runs without the
// channel lock.
func (c *Channel) release(m *Message) { c.queue.Finish(m) }
