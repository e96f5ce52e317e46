package nsqd

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
)

var errExiting = errors.New("exiting")

// Channel hands each message of its topic to exactly one of its consumers.
// Ready messages wait in a memory ring (overflow to the backend); deferred
// ones (DPUB, REQ with a delay) wait in a heap until their time. In-flight
// messages are tracked by the client that holds them, not here, so that a
// FIN touches only its own client's state.
type Channel struct {
	topicName string
	name      string
	ephemeral bool
	nsqd      *NSQD

	mu         sync.Mutex
	ready      ring[Message]
	deferred   deferredHeap
	deferTimer *time.Timer
	readRetry  *time.Timer   // wakes consumers after a failed disk read (disk_retry.go)
	readyWait  chan struct{} // closed (and replaced) when messages arrive
	clients    map[int64]*client
	paused     bool
	exiting    bool
	backend    BackendQueue
	// deferredStore holds the durable deferred messages (channel_deferred.go);
	// nil until first needed. Set under mu before any message names a
	// record in it, and never replaced.
	deferredStore  BackendQueue
	scratch        []Message // reused by timer promotions
	deferBatch     []Message // deferred messages gathered for deferLocked
	storeBatch     []Message // the durable part of a deferLocked batch
	loaded         []Message // records read back from the deferred store
	compacting     []Message // the store's live messages, written again
	storeWrites    int       // records written to the store since its last compaction
	storeWritten   int64     // and their bytes
	storeWritesDue int       // storeWrites before live records are counted again
	deleteCalled   bool
	preferDisk     bool // alternates memory and disk in takeLocked

	messageCount  atomic.Uint64
	requeueCount  atomic.Uint64
	timeoutCount  atomic.Uint64
	droppedCount  atomic.Uint64
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
	// A channel of an ephemeral topic keeps to memory too: the topic is
	// never recorded in nsqd.dat, so files of its channels would be
	// orphaned at the next start (upstream leaves them behind).
	memoryOnly := c.ephemeral || protocol.IsEphemeral(topicName)
	var err error
	if c.backend, err = n.newBackend(c.queueName(), memoryOnly); err != nil {
		return nil, fmt.Errorf("channel %s:%s: %w", topicName, name, err)
	}
	if err = c.openDeferredStoreIfPresent(); err != nil {
		c.backend.Close()
		return nil, fmt.Errorf("channel %s:%s: deferred messages: %w", topicName, name, err)
	}
	return c, nil
}

// queueName names the channel's disk queue as upstream does.
func (c *Channel) queueName() string { return c.topicName + ":" + c.name }

// Name returns the channel name.
func (c *Channel) Name() string { return c.name }

// put queues a batch fanned out from the topic.
func (c *Channel) put(msgs []Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exiting {
		return errExiting
	}
	return c.putLocked(msgs, false)
}

// putLocked counts new messages and queues them: due ones become ready,
// others wait in the deferred heap. With keep set (backlog the topic already
// accepted), a disk refusal keeps them in memory instead of dropping them,
// and is still returned: the topic must keep its own record of them.
func (c *Channel) putLocked(msgs []Message, keep bool) error {
	c.messageCount.Add(uint64(len(msgs)))
	now := time.Now().UnixNano()
	queue := c.enqueueReadyLocked
	if keep {
		queue = c.keepLocked
	}
	deferred := c.deferBatch[:0]
	var err error
	start := 0
	for i := range msgs {
		if msgs[i].DeliverAt > now {
			if queueErr := queue(msgs[start:i]); queueErr != nil {
				if err == nil {
					err = queueErr
				}
				if !keep {
					break
				}
			}
			start = i + 1
			deferred = append(deferred, msgs[i])
		}
	}
	if err == nil || keep {
		if queueErr := queue(msgs[start:]); err == nil {
			err = queueErr
		}
	}
	if len(deferred) > 0 {
		if deferErr := c.deferLocked(deferred, keep); err == nil {
			err = deferErr
		}
		clear(deferred)
	}
	c.deferBatch = deferred[:0]
	return err
}

// enqueueReadyLocked appends to the memory ring up to its bound and sends
// the rest to the backend (dropped when ephemeral). A backend failure is
// returned and the overflow is not queued: the publisher is told.
func (c *Channel) enqueueReadyLocked(msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	bound := int(c.nsqd.opts.MemQueueSize)
	if bound == 0 && c.backend == nil {
		// An ephemeral channel has no disk to send everything through:
		// as upstream's unbuffered queue hands a message to a consumer
		// that is waiting for one, the room is what its consumers can
		// take now.
		bound = c.consumerCreditLocked()
	}
	room := bound - c.ready.Len()
	if room < 0 {
		room = 0
	}
	if room > len(msgs) {
		room = len(msgs)
	}
	var err error
	if overflow := msgs[room:]; len(overflow) > 0 {
		if c.backend == nil {
			c.droppedCount.Add(uint64(len(overflow)))
		} else if err = c.putBackendLocked(overflow); err != nil {
			err = fmt.Errorf("write to disk: %w", err)
		}
	}
	if err == nil {
		c.ready.Push(msgs[:room]...)
	}
	c.wakeLocked()
	return err
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

// keepLocked queues messages that already belong to the channel (requeued,
// timed out, deferred and now due): to disk past the memory bound, but kept
// in memory rather than lost if the disk refuses them. The refusal is
// returned for a caller whose own record must then stay (the topic's
// hand-off); the others have their disk record held already.
func (c *Channel) keepLocked(msgs []Message) error {
	err := c.enqueueReadyLocked(msgs)
	if err != nil {
		c.nsqd.logf(errorLevel, "CHANNEL(%s:%s): keeping %d messages in memory: %s", c.topicName, c.name, len(msgs), err)
		c.ready.Push(msgs...)
	}
	return err
}

// putBackendLocked writes messages to the channel's queue, then releases
// the records they were read from.
func (c *Channel) putBackendLocked(msgs []Message) error {
	if err := c.backend.Put(msgs); err != nil {
		return err
	}
	c.releaseAllLocked(msgs)
	return nil
}

// wakeLocked releases every consumer waiting for messages.
func (c *Channel) wakeLocked() {
	if c.readyWait != nil {
		close(c.readyWait)
		c.readyWait = nil
	}
}

// take moves up to max ready messages into dst. When it returns none, the
// returned channel is closed as soon as there may be some.
//
// taker is the consumer taking; with the topology experiment on, what it may
// take and how it is counted depend on its locality (topology.go).
func (c *Channel) take(dst []Message, max int, taker *client) ([]Message, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	taker.waiting = false
	if !c.paused && !c.exiting {
		if c.topologyAware {
			max = c.preferLocalLocked(taker, max)
		}
		if max > 0 {
			dst = c.takeLocked(dst, max)
		}
		if c.topologyAware && len(dst) > 0 {
			c.countLocalityLocked(taker, len(dst))
			if c.depthLocked() > 0 {
				c.wakeLocked() // less local consumers may have held off
			}
		}
	}
	if len(dst) > 0 {
		return dst, nil
	}
	taker.waiting = true
	if c.readyWait == nil {
		c.readyWait = make(chan struct{})
	}
	return dst, c.readyWait
}

// takeLocked takes from memory and from disk. While both hold messages it
// alternates which it serves first, so neither starves the other (delivery
// order across the two is not guaranteed, as upstream). Messages read from
// disk that are still deferred go to the deferred heap.
func (c *Channel) takeLocked(dst []Message, max int) []Message {
	diskFirst := c.preferDisk && c.backend != nil
	c.preferDisk = !c.preferDisk
	if !diskFirst {
		dst = c.ready.PopInto(dst, max)
	}
	if len(dst) < max && c.backend != nil && c.backend.Depth() > 0 {
		start := len(dst)
		var err error
		dst, err = c.backend.ReadInto(dst, max-len(dst))
		if err != nil {
			c.nsqd.logf(errorLevel, "CHANNEL(%s:%s): read from disk: %s", c.topicName, c.name, err)
			c.retryReadLocked()
		}
		now := time.Now().UnixNano()
		kept := start
		deferred := c.deferBatch[:0]
		for _, m := range dst[start:] {
			if m.DeliverAt > now {
				deferred = append(deferred, m)
				continue
			}
			dst[kept] = m
			kept++
		}
		clear(dst[kept:])
		dst = dst[:kept]
		if len(deferred) > 0 {
			// Read from disk: each keeps its record if the store refuses.
			c.deferLocked(deferred, true)
			clear(deferred)
		}
		c.deferBatch = deferred[:0]
	}
	if diskFirst && len(dst) < max {
		dst = c.ready.PopInto(dst, max-len(dst))
	}
	return dst
}

// requeue puts messages that left a client (REQ 0, timeout, disconnect)
// back at the end of the ready queue.
func (c *Channel) requeue(msgs []Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exiting {
		return
	}
	c.keepLocked(msgs)
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

// Empty drops ready, deferred and in-flight messages.
func (c *Channel) Empty() error {
	c.mu.Lock()
	c.ready.Clear()
	c.deferred = nil
	clients := c.clientListLocked()
	var err error
	if c.backend != nil {
		err = c.backend.Empty()
	}
	if c.deferredStore != nil {
		err = errors.Join(err, c.deferredStore.Empty())
	}
	c.mu.Unlock()
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

// close stops the channel; delete also removes what its backend holds and
// closes its consumers' connections.
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
	if !deleted {
		c.flushLocked()
	}
	c.mu.Unlock()
	if deleted {
		for _, cl := range clients {
			cl.closeConn()
		}
	}
	var err error
	for _, queue := range []BackendQueue{c.backend, c.deferredStore} {
		switch {
		case queue == nil:
		case deleted:
			err = errors.Join(err, queue.Delete())
		default:
			err = errors.Join(err, queue.Close())
		}
	}
	return err
}

// flushLocked writes what the channel holds in memory to disk so that a
// restart delivers it again: ready messages to the queue, deferred ones
// (keeping their time) to the deferred store. In-flight messages are
// already back in the ready ring: a closing connection requeues what it
// held.
func (c *Channel) flushLocked() {
	if c.backend == nil {
		return
	}
	ready := c.ready.PopInto(make([]Message, 0, c.ready.Len()), c.ready.Len())
	c.ready.Clear()
	if len(ready)+c.deferred.Len() == 0 {
		return
	}
	c.nsqd.logf(infoLevel, "CHANNEL(%s:%s): flushing %d memory %d deferred messages to backend",
		c.topicName, c.name, len(ready), c.deferred.Len())
	if len(ready) > 0 {
		if err := c.putBackendLocked(ready); err != nil {
			c.nsqd.logf(errorLevel, "CHANNEL(%s:%s): failed to flush %d messages to disk: %s", c.topicName, c.name, len(ready), err)
		}
	}
	c.flushDeferredLocked()
}

// Depth is the number of ready messages, memory and backend.
func (c *Channel) Depth() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.depthLocked()
}

func (c *Channel) depthLocked() int64 {
	depth := int64(c.ready.Len())
	if c.backend != nil {
		depth += c.backend.Depth()
	}
	return depth
}

// BackendDepth is the part of Depth on disk.
func (c *Channel) BackendDepth() int64 {
	if c.backend == nil {
		return 0
	}
	return c.backend.Depth()
}

// finished is FIN's hook: it records the latency and releases the disk
// record the message came from.
func (c *Channel) finished(m *Message) {
	c.finishCount.Add(1)
	c.recordE2E(m.Timestamp)
	c.release(m)
}

// release acknowledges the disk record of a message that leaves the channel
// for good (FIN'd, or dropped by sampling). It runs without the channel
// lock: deferredStore is set before any message can name a record in it.
func (c *Channel) release(m *Message) {
	switch {
	case m.diskSeq == 0:
	case m.deferredRecord:
		c.deferredStore.Ack(m.diskSeq)
	case c.backend != nil:
		c.backend.Ack(m.diskSeq)
	}
}

// releaseAllLocked acknowledges the records of messages that now have new
// ones, and forgets them.
func (c *Channel) releaseAllLocked(msgs []Message) {
	for i := range msgs {
		if msgs[i].diskSeq != 0 {
			c.release(&msgs[i])
			msgs[i].diskSeq = 0
			msgs[i].deferredRecord = false
		}
	}
}
