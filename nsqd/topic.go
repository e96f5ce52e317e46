package nsqd

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
)

// Topic fans every published message out to each of its channels. While it
// has no channel, or is paused, it holds messages itself (memory, then its
// backend) and hands the backlog over when a channel appears or it resumes.
//
// Publishing is synchronous: the publisher's goroutine appends the batch to
// every channel under the topic's read lock, so a topic needs no goroutine
// of its own and a batch costs one lock per channel, not one per message.
type Topic struct {
	name      string
	ephemeral bool
	nsqd      *NSQD
	ids       *protocol.IDGenerator

	mu       sync.RWMutex
	channels map[string]*Channel
	held     ring[Message]
	paused   bool
	exiting  bool
	backend  BackendQueue
	// starting holds messages on a new topic until the channels lookupd
	// knows of are created, so each of them gets the first messages too.
	starting bool
	draining bool           // a drain goroutine is moving disk backlog
	drainers sync.WaitGroup // waited for by close
	// drainRetry restarts a drain whose disk read failed (disk_retry.go).
	drainRetry *time.Timer

	messageCount atomic.Uint64
	messageBytes atomic.Uint64
	droppedCount atomic.Uint64

	queuePolicy objectPolicy // its own queue settings and effective policy (topic_policy.go)

	bound topicBound // max_depth/max_bytes of the held messages (topic_bound.go)
}

func newTopic(name string, n *NSQD) (*Topic, error) {
	ephemeral := protocol.IsEphemeral(name)
	backend, err := n.newBackend(name, ephemeral)
	if err != nil {
		return nil, fmt.Errorf("topic %s: %w", name, err)
	}
	return &Topic{
		name:      name,
		ephemeral: ephemeral,
		nsqd:      n,
		ids:       protocol.NewIDGenerator(n.opts.ID),
		channels:  map[string]*Channel{},
		backend:   backend,
		starting:  true,
	}, nil
}

// startDistributing ends the start-up hold and hands over the backlog.
func (t *Topic) startDistributing() {
	t.mu.Lock()
	t.starting = false
	t.releaseHeldLocked()
	t.mu.Unlock()
}

// distributingLocked reports whether published messages go to channels now.
func (t *Topic) distributingLocked() bool {
	return len(t.channels) > 0 && !t.paused && !t.starting
}

// Name returns the topic name.
func (t *Topic) Name() string { return t.name }

// PutMessages publishes a batch: it stamps IDs and the publish time, then
// either fans the batch out or holds it. Either every message is accepted
// or none is.
func (t *Topic) PutMessages(msgs []Message) error {
	return t.putMessagesAt(msgs, t.nsqd.clock.Now())
}

// PutDeferred publishes msgs to be delivered delay after their publish
// time: DeliverAt comes from the clock reading that stamps Timestamp, so a
// message is never due before Timestamp+delay (DPUB, /pub?defer).
func (t *Topic) PutDeferred(msgs []Message, delay time.Duration) error {
	now := t.nsqd.clock.Now() // DeliverAt and the TTL count on the daemon's clock (channel_dead.go)
	deliverAt := now.Add(delay).UnixNano()
	for i := range msgs {
		msgs[i].DeliverAt = deliverAt
	}
	return t.putMessagesAt(msgs, now)
}

func (t *Topic) putMessagesAt(msgs []Message, now time.Time) error {
	first := t.ids.Reserve(len(msgs), now)
	var bytes uint64
	for i := range msgs {
		protocol.FormatID(first+uint64(i), &msgs[i].ID)
		msgs[i].Timestamp = now.UnixNano()
		bytes += uint64(len(msgs[i].Body))
	}

	t.mu.RLock()
	if t.exiting {
		t.mu.RUnlock()
		return errExiting
	}
	if t.distributingLocked() {
		err := t.fanOutLocked(msgs)
		t.mu.RUnlock()
		if err == nil {
			t.count(len(msgs), bytes)
		}
		return err
	}
	t.mu.RUnlock()

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.exiting {
		return errExiting
	}
	var err error
	if t.distributingLocked() {
		err = t.fanOutLocked(msgs)
	} else {
		err = t.holdLocked(msgs)
	}
	if err == nil {
		t.count(len(msgs), bytes)
	}
	return err
}

func (t *Topic) count(n int, bytes uint64) {
	t.messageCount.Add(uint64(n))
	t.messageBytes.Add(bytes)
}

// fanOutLocked gives every channel its copy. A channel that fails (its disk
// refused the overflow) does not stop the others; the first error is
// returned so the publisher is told, and may publish again (at least once).
func (t *Topic) fanOutLocked(msgs []Message) error {
	reserved, err := t.reserveLocked(msgs) // a batch is refused whole (topic_bound.go)
	if err != nil {
		return err
	}
	var firstErr error
	for _, c := range t.channels {
		if err := reserved.put(c, msgs); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// holdLocked keeps messages on the topic until a channel can take them.
func (t *Topic) holdLocked(msgs []Message) error {
	msgs, err := t.admitHeldLocked(msgs) // the topic's bound (topic_bound.go)
	if err != nil || len(msgs) == 0 {
		return err
	}
	room := int(t.nsqd.opts.MemQueueSize) - t.held.Len()
	if t.bound.keepOrder {
		room = 0 // behind the disk backlog, not ahead of it (topic_bound.go)
	}
	if room < 0 {
		room = 0
	}
	if room >= len(msgs) {
		t.held.Push(msgs...)
		return nil
	}
	if t.backend == nil {
		t.held.Push(msgs[:room]...)
		t.droppedCount.Add(uint64(len(msgs) - room))
		return nil
	}
	if err := t.backend.Put(msgs[room:]); err != nil {
		return fmt.Errorf("write to disk: %w", err)
	}
	t.held.Push(msgs[:room]...)
	return nil
}

// releaseHeldLocked hands the backlog to the channels present now: the
// memory part at once, the disk part through the drain goroutine.
func (t *Topic) releaseHeldLocked() {
	if !t.distributingLocked() {
		return
	}
	t.startDrainLocked()
	if t.held.Len() == 0 {
		return
	}
	backlog := t.held.PopInto(make([]Message, 0, t.held.Len()), t.held.Len())
	t.held.Clear()
	t.bound.released(backlog)
	for _, c := range t.channels {
		// Memory backlog has no record to keep: a refusal is logged by
		// the channel, which holds the messages in memory.
		c.putBacklog(backlog)
	}
}

// GetChannel returns the named channel, creating it if needed.
func (t *Topic) GetChannel(name string) (*Channel, error) {
	t.mu.RLock()
	c, ok := t.channels[name]
	exiting := t.exiting
	t.mu.RUnlock()
	if ok {
		return c, nil
	}
	if exiting {
		return nil, errExiting
	}
	t.mu.Lock()
	if t.exiting {
		t.mu.Unlock()
		return nil, errExiting
	}
	c, ok = t.channels[name]
	if !ok {
		var err error
		if c, err = newChannel(t.name, name, t.nsqd); err != nil {
			t.mu.Unlock()
			return nil, err
		}
		t.channels[name] = c
		t.releaseHeldLocked()
	}
	t.mu.Unlock()
	if !ok {
		t.nsqd.logf(infoLevel, "TOPIC(%s): new channel(%s)", t.name, name)
		t.nsqd.channelCreated(t, c)
	}
	return c, nil
}

// GetExistingChannel returns the channel or errChannelNotFound.
func (t *Topic) GetExistingChannel(name string) (*Channel, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	c, ok := t.channels[name]
	if !ok {
		return nil, errChannelNotFound
	}
	return c, nil
}

// Channels returns the channels sorted by name.
func (t *Topic) Channels() []*Channel {
	t.mu.RLock()
	list := make([]*Channel, 0, len(t.channels))
	for _, c := range t.channels {
		list = append(list, c)
	}
	t.mu.RUnlock()
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	return list
}

// DeleteExistingChannel removes a channel, its data and its consumers'
// connections. An ephemeral topic goes with its last channel.
func (t *Topic) DeleteExistingChannel(name string) error {
	t.mu.Lock()
	c, ok := t.channels[name]
	if !ok {
		t.mu.Unlock()
		return errChannelNotFound
	}
	delete(t.channels, name)
	remaining := len(t.channels)
	t.mu.Unlock()

	t.nsqd.logf(infoLevel, "TOPIC(%s): deleting channel %s", t.name, name)
	err := c.close(true)
	t.nsqd.channelDeleted(t, c)
	if remaining == 0 && t.ephemeral {
		// No lock is held here, so the topic can go at once.
		t.nsqd.DeleteExistingTopic(t.name)
	}
	return err
}

// Pause stops handing messages to channels.
func (t *Topic) Pause() { t.setPaused(true) }

// Unpause resumes and hands over what was held.
func (t *Topic) Unpause() { t.setPaused(false) }

func (t *Topic) setPaused(paused bool) {
	t.mu.Lock()
	t.paused = paused
	t.releaseHeldLocked()
	t.mu.Unlock()
	t.nsqd.metadataChanged()
}

// IsPaused reports the paused state.
func (t *Topic) IsPaused() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.paused
}

// Empty drops the messages held on the topic itself (not its channels').
func (t *Topic) Empty() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.held.Clear()
	t.bound.bytes = 0
	if t.backend != nil {
		return t.backend.Empty()
	}
	return nil
}

// Depth is the number of messages held on the topic itself.
func (t *Topic) Depth() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	depth := int64(t.held.Len())
	if t.backend != nil {
		depth += t.backend.Depth()
	}
	return depth
}

// BackendDepth is the part of Depth on disk.
func (t *Topic) BackendDepth() int64 {
	if t.backend == nil {
		return 0
	}
	return t.backend.Depth()
}

// close stops the topic and its channels; delete also removes their data.
func (t *Topic) close(deleted bool) error {
	t.mu.Lock()
	if t.exiting {
		t.mu.Unlock()
		return nil
	}
	t.exiting = true
	if t.drainRetry != nil {
		t.drainRetry.Stop()
	}
	channels := make([]*Channel, 0, len(t.channels))
	for _, c := range t.channels {
		channels = append(channels, c)
	}
	if deleted {
		t.channels = map[string]*Channel{}
	}
	t.mu.Unlock()
	t.drainers.Wait()
	if !deleted {
		t.flushHeld()
	}

	var firstErr error
	for _, c := range channels {
		if err := c.close(deleted); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if t.backend != nil {
		var err error
		if deleted {
			err = t.backend.Delete()
		} else {
			err = t.backend.Close()
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// startDrainLocked starts moving the topic's disk backlog to its channels,
// unless that is already under way or there is nothing to move.
func (t *Topic) startDrainLocked() {
	if t.draining || t.exiting || t.backend == nil || t.backend.Depth() == 0 {
		return
	}
	t.draining = true
	t.drainers.Add(1)
	go t.drain()
}

// drain moves disk backlog to the channels in batches until the disk part is
// empty, the topic pauses, loses its channels or closes.
func (t *Topic) drain() {
	defer t.drainers.Done()
	batch := make([]Message, 0, maxDeliveryBatch)
	seqs := make([]uint64, 0, maxDeliveryBatch)
	for {
		t.mu.Lock()
		if t.exiting || !t.distributingLocked() {
			t.draining = false
			t.mu.Unlock()
			return
		}
		var err error
		batch, seqs, err = t.backend.ReadInto(batch[:0], seqs[:0], maxDeliveryBatch)
		if err != nil {
			t.nsqd.logf(errorLevel, "TOPIC(%s): read from disk: %s", t.name, err)
		}
		if len(batch) == 0 {
			t.draining = false
			if err != nil {
				t.retryDrainLocked()
			}
			t.mu.Unlock()
			return
		}
		// The channels keep their own copies: the topic's records are
		// released once every channel has queued the batch.
		// A channel whose disk refused its copies keeps them in memory;
		// the topic then keeps its records, so a crash delivers them
		// again rather than losing them (and a restart, as duplicates).
		var refused error
		for _, c := range t.channels {
			if err := c.putBacklog(batch); err != nil && refused == nil {
				refused = err
			}
		}
		t.bound.released(batch)
		if refused == nil {
			t.backend.Ack(seqs...)
		} else {
			t.nsqd.logf(errorLevel, "TOPIC(%s): keeping %d records on disk: a channel could not store them: %s", t.name, len(seqs), refused)
		}
		t.mu.Unlock()
		clear(batch)
	}
}

// flushHeld writes the topic's memory backlog to disk at shutdown.
func (t *Topic) flushHeld() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.backend == nil || t.held.Len() == 0 {
		return
	}
	held := t.held.PopInto(make([]Message, 0, t.held.Len()), t.held.Len())
	t.held.Clear()
	t.nsqd.logf(infoLevel, "TOPIC(%s): flushing %d memory messages to backend", t.name, len(held))
	if err := t.backend.Put(held); err != nil {
		t.nsqd.logf(errorLevel, "TOPIC(%s): failed to flush %d messages to disk: %s", t.name, len(held), err)
	}
}
