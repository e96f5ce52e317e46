package nsqd

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/nsqgo/nsq/nsqd/queue"
)

// Topic fans every published message out to each of its channels. While it
// has no channel, or is paused, it holds messages itself (held: nsqd/queue's
// Held, memory then disk; topic_held.go) and hands the backlog over when a
// channel appears or it resumes.
//
// Publishing is synchronous: the publisher's goroutine appends the batch to
// every channel under the topic's read lock, so a topic needs no goroutine
// of its own and a batch costs one lock per channel, not one per message.
// The only goroutine is the drain, which moves the disk backlog to the
// channels while the topic distributes.
//
// No disk I/O of the topic happens under mu (LOCKS.md): a held batch's disk
// part is written with mu released, and the drain reads with mu released
// and takes the read lock, as a publisher does, only to hand the batch over.
type Topic struct {
	name      string
	ephemeral bool
	nsqd      *NSQD
	ids       *protocol.IDGenerator
	held      *queue.Held // set at creation, never replaced
	// records keeps one copy of each batch fanned out, which every
	// channel's memory queue points at (fanOutLocked).
	records queue.SharedRecords
	// committers commit the channels' disk work of a fan-out side by
	// side (fanout_commit.go); stopped by close.
	committers committers
	// frames holds *queue.Frames for fan-outs to encode their batch in
	// once for every channel's disk (frameForCommits); a pool, as
	// concurrent publishers each need one and an idle topic none.
	frames sync.Pool
	// log is the topic log of --fanout-log (fanout_log.go).
	log topicLog

	// drainMu makes one drain step (read a batch from disk, hand it to the
	// channels, release its records) indivisible for the operations that
	// must not land inside one: Pause, DeleteExistingChannel and Empty
	// take it first, so once they return no batch read before them is
	// handed over after them. Publishers never take it.
	drainMu sync.Mutex

	mu       sync.RWMutex
	channels map[string]*Channel
	// opening: channels whose first GetChannel is opening their files with
	// mu released; later callers of the name wait for it (channelOpening).
	opening map[string]*channelOpening
	// openers counts GetChannel calls opening files; close waits for them.
	// Added to only under mu while not exiting.
	openers sync.WaitGroup
	paused  bool
	exiting bool
	deleted bool // close(true): a channel opened meanwhile is deleted too
	// starting holds messages on a new topic until the channels lookupd
	// knows of are created, so each of them gets the first messages too.
	starting bool
	draining bool // a drain goroutine is moving disk backlog
	// drainAgain: more backlog may have reached the disk while a drain ran
	// (a held batch's write that ended after the topic resumed); the drain
	// reads again before it stops.
	drainAgain bool
	drainers   sync.WaitGroup // waited for by close
	// holdWrites counts held puts writing to disk with mu released; close
	// waits for them before it flushes and closes the held messages. Added
	// to only under mu's read lock while not exiting.
	holdWrites sync.WaitGroup
	// drainRetry restarts a drain whose disk read failed (disk_retry.go).
	drainRetry clock.Timer

	messageCount atomic.Uint64
	messageBytes atomic.Uint64
	droppedCount atomic.Uint64

	queuePolicy objectPolicy // its own queue settings and effective policy (topic_policy.go)

	bound topicBound // max_depth/max_bytes of the held messages (topic_bound.go)
}

func newTopic(name string, n *NSQD) (*Topic, error) {
	ephemeral := protocol.IsEphemeral(name)
	cfg := queue.Config{
		Name:    name,
		MemSize: int(n.opts.MemQueueSize),
		Logf: func(format string, args ...any) {
			n.logf(errorLevel, format, args...)
		},
		Wrote: n.recordWrite,
	}
	// An ephemeral topic has no disk: what does not fit is dropped, as
	// upstream does.
	if !ephemeral {
		if hook := n.diskOpenHook; hook != nil {
			hook(name)
		}
		opts := n.diskQueueOptions()
		cfg.Disk = &opts
	}
	held, err := queue.OpenHeld(cfg)
	if err != nil {
		return nil, fmt.Errorf("topic %s: %w", name, err)
	}
	t := &Topic{
		name:      name,
		ephemeral: ephemeral,
		nsqd:      n,
		ids:       protocol.NewIDGenerator(n.opts.ID),
		held:      held,
		channels:  map[string]*Channel{},
		opening:   map[string]*channelOpening{},
		starting:  true,
	}
	held.CountBodyBytes(&t.bound.bytes)
	if err := t.openLog(); err != nil {
		held.Close()
		return nil, err
	}
	t.records.AdviseFresh(n.hugePages) // the records fill fresh heap, as ring blocks do
	return t, nil
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
	_, err := t.putMessagesAt(msgs, t.nsqd.clock.Now())
	return err
}

// PutDeferred publishes msgs to be delivered delay after their publish
// time: DeliverAt comes from the clock reading that stamps Timestamp, so a
// message is never due before Timestamp+delay (DPUB, /pub?defer).
func (t *Topic) PutDeferred(msgs []Message, delay time.Duration) error {
	_, err := t.publish(msgs, delay)
	return err
}

// publish is PutMessages, or PutDeferred when delay is above 0, for a
// publisher that reuses its bodies' memory (body_alloc.go). kept reports
// whether the daemon may still refer to any body of msgs once publish
// returned. It is false only when no queue kept any message of the batch
// in memory: every channel (or the topic's held messages) put it on disk
// alone, or dropped it, and each said so under its own lock while the
// topic's lock kept the set of channels fixed. A bound, a deferred
// message, a memory queue with room, and any error all make it true.
func (t *Topic) publish(msgs []Message, delay time.Duration) (kept bool, err error) {
	now := t.nsqd.clock.Now()
	if delay > 0 {
		deliverAt := now.Add(delay).UnixNano()
		for i := range msgs {
			msgs[i].DeliverAt = deliverAt
		}
	}
	return t.putMessagesAt(msgs, now)
}

func (t *Topic) putMessagesAt(msgs []Message, now time.Time) (kept bool, err error) {
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
		return true, errExiting
	}
	if t.distributingLocked() {
		late, kept, err := t.fanOutLocked(msgs, first)
		t.mu.RUnlock()
		killLate(late)
		if err != nil {
			return true, err
		}
		t.count(len(msgs), bytes)
		return kept, nil
	}
	if t.policy().Bound().On() {
		// A bound judges what is held: holdBounded takes the locks
		// that keep it still (topic_bound.go). Its drop-oldest may hand
		// held bodies to a dead-letter topic: kept.
		t.mu.RUnlock()
		return true, t.holdBounded(msgs, first, bytes)
	}
	// Held. Under the read lock, so that no hand-off (which takes the
	// write lock) runs between the decision and the memory append. The
	// held messages count their bytes themselves (Held.CountBodyBytes).
	p, dropped, inMemory := t.held.Put(msgs)
	if p == nil {
		t.mu.RUnlock()
		t.droppedCount.Add(uint64(dropped))
		t.count(len(msgs), bytes)
		return inMemory, nil
	}
	t.holdWrites.Add(1)
	t.mu.RUnlock()
	// The hand-off holdOverflow may start moves only the memory part:
	// the disk part reaches channels by the drain, read into memory of
	// the drain's own.
	if err := t.holdOverflow(p); err != nil {
		return true, err
	}
	t.count(len(msgs), bytes)
	return inMemory, nil
}

func (t *Topic) count(n int, bytes uint64) {
	t.messageCount.Add(uint64(n))
	t.messageBytes.Add(bytes)
}

// fanOutLocked gives every channel its copy. A channel that fails (its disk
// refused the overflow) does not stop the others; the first error is
// returned so the publisher is told, and may publish again (at least once).
//
// Each channel's put runs under its own lock, one after another; the disk
// work they leave (overflow to the backlog, deferred messages to the store)
// is committed after all of them, side by side (fanout_commit.go), so that
// the channels' writes and fsyncs overlap rather than add up. Every commit
// has ended (and settled) when fanOutLocked returns.
//
// late lists the channels whose drop-oldest victims wait to be published
// to their dead_letter_topic: the caller calls killLate on each once it
// has released t.mu (nil, without allocating, in the common case).
//
// kept is whether any channel may still refer to a body of the batch
// (Channel.putShared); the records the channels did not queue are read by
// no one once the hold on them ends.
//
// The IDs of msgs are protocol.FormatID(first+i), as putMessagesAt wrote
// them: the records read back only the first and last.
func (t *Topic) fanOutLocked(msgs []Message, first uint64) (late []*Channel, kept bool, err error) {
	reserved, err := t.reserveLocked(msgs) // a batch is refused whole (topic_bound.go)
	if err != nil {
		return nil, true, err
	}
	// One copy of the batch for every channel: a published batch is packed
	// into 8 bytes a message (nsqd/queue/packed.go), other batches into
	// whole records, and each channel queues one run over it
	// (nsqd/queue/ready.go), not a copy. msgs must stay unchanged until
	// shared.Release, since a packed batch keeps it. The hold on the records
	// ends once every channel has queued them (queue.SharedRecords.Copy).
	shared := t.records.CopyPublished(msgs, first)
	defer shared.Release()
	var room [fanOutCommitRoom]channelCommit
	commits := room[:0]
	var firstErr error
	lf := t.beginLogLocked(msgs) // the topic log's (fanout_log.go)
	for _, c := range t.channels {
		if lf.logs(c) {
			continue // its copy is in the log, written by endLog
		}
		p, keptHere, err := reserved.begin(c, shared)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		kept = kept || keptHere
		if p != nil {
			commits = append(commits, channelCommit{channel: c, pending: p})
		}
		if c.latePending() {
			late = append(late, c)
		}
	}
	if len(commits) > 0 {
		if frames := t.frameForCommits(shared.Msgs, commits); frames != nil {
			defer t.releaseFrames(frames)
		}
		if err := t.commitFanOut(commits, commitsOverlap(msgs)); err != nil {
			kept = true // a refused batch: as putShared says
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	if err := t.endLog(lf, shared.Msgs); err != nil {
		kept = true
		if firstErr == nil {
			firstErr = err
		}
	}
	return late, kept, firstErr
}

// killLate runs the dead-letter publishes fanOutLocked left (no topic
// lock held).
func killLate(late []*Channel) {
	for _, c := range late {
		c.killLate()
	}
}

// handOverLocked queues a batch of the topic's disk backlog in every
// channel: as the records were read where a channel puts them all on its
// own disk, else decoded (Channel.putBacklogRecords). A channel whose disk
// refuses its copies keeps them in memory; the first refusal is returned,
// so the topic can keep its own records of them. Caller holds mu (read or
// write).
func (t *Topic) handOverLocked(backlog *queue.BacklogBatch) error {
	var refused error
	for _, c := range t.channels {
		if err := c.putBacklogRecords(backlog); err != nil && refused == nil {
			refused = err
		}
	}
	return refused
}

// releaseHeldLocked hands the backlog to the channels present now: the
// memory part at once, so it keeps its place before later publishes, the
// disk part through the drain goroutine. Caller holds mu for writing.
func (t *Topic) releaseHeldLocked() {
	if t.exiting || !t.distributingLocked() {
		return
	}
	t.startDrainLocked()
	// Every channel points at the held records (queue.Held.HandOverMemory),
	// run by run, instead of a copy of the whole memory part being made
	// and copied again into each channel. Memory backlog has no record to
	// keep: a refusal is logged by the channel, which holds the messages
	// in memory.
	t.held.HandOverMemory(func(run queue.Shared) {
		for _, c := range t.channels {
			c.putBacklogShared(run)
		}
	})
}

// GetChannel returns the named channel, creating it if needed. A new
// channel's queues are opened (recovery included) with mu released, so
// publishers, lookups and the creation of other channels do not wait for
// the files: the first caller for a name opens them, and concurrent callers
// for the same name wait for that one (channelOpening) instead of opening
// them twice.
func (t *Topic) GetChannel(name string) (*Channel, error) {
	if c, err := t.existingChannel(name); c != nil || err != nil {
		return c, err
	}
	t.mu.Lock()
	if c, ok := t.channels[name]; ok {
		t.mu.Unlock()
		return c, nil
	}
	if t.exiting {
		t.mu.Unlock()
		return nil, errExiting
	}
	if o, ok := t.opening[name]; ok {
		o.waiters++
		t.mu.Unlock()
		<-o.done
		return o.channel, o.err
	}
	o := &channelOpening{done: make(chan struct{})}
	t.opening[name] = o
	t.openers.Add(1)
	t.mu.Unlock()

	c, err := t.openChannel(name, o)
	// close waits for the files only: once the channel is in the map,
	// close closes it with the others.
	t.openers.Done()
	if err != nil {
		return nil, err
	}
	// The hooks run with no lock of the topic held (LOCKS.md).
	t.nsqd.logf(infoLevel, "TOPIC(%s): new channel(%s)", t.name, name)
	t.nsqd.channelCreated(t, c)
	return c, nil
}

// channelOpening is a channel being created by its first GetChannel; done
// is closed once channel or err is set (both under Topic.mu).
type channelOpening struct {
	done    chan struct{}
	channel *Channel
	err     error
	waiters int // callers waiting on done (read by tests)
}

// openChannel opens the channel's files with no lock held, then adds it,
// unless the topic began to close meanwhile: then the channel is closed
// again, or deleted with the topic (close waits for this, so no channel's
// files are left open past it, nor left behind by a deleted topic).
func (t *Topic) openChannel(name string, o *channelOpening) (*Channel, error) {
	if hook := t.nsqd.diskOpenHook; hook != nil {
		hook(t.name + ":" + name) // the channel's queue name
	}
	c, err := newChannel(t.name, name, t.nsqd)
	if err == nil {
		err = t.attachLogCursor(c) // fanout_log.go
	}
	t.mu.Lock()
	delete(t.opening, name)
	exiting, deleted := err == nil && t.exiting, t.deleted
	if exiting {
		err = errExiting
	} else if err == nil {
		t.channels[name] = c
		t.releaseHeldLocked()
		o.channel = c
	}
	o.err = err
	close(o.done)
	t.mu.Unlock()
	if exiting {
		c.close(deleted)
		return nil, errExiting
	}
	return c, err
}

// existingChannel returns the channel if it exists, errExiting once the
// topic is closing, or neither.
func (t *Topic) existingChannel(name string) (*Channel, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if c, ok := t.channels[name]; ok {
		return c, nil
	}
	if t.exiting {
		return nil, errExiting
	}
	return nil, nil
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
	// Not inside a drain step: a batch read for the channel set that
	// included it is handed over, or not yet read.
	t.drainMu.Lock()
	t.mu.Lock()
	c, ok := t.channels[name]
	if !ok {
		t.mu.Unlock()
		t.drainMu.Unlock()
		return errChannelNotFound
	}
	delete(t.channels, name)
	remaining := len(t.channels)
	t.mu.Unlock()
	t.drainMu.Unlock()

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
	// Not inside a drain step: once Pause returns, no more of the disk
	// backlog reaches the channels.
	t.drainMu.Lock()
	t.mu.Lock()
	t.paused = paused
	t.releaseHeldLocked()
	t.mu.Unlock()
	t.drainMu.Unlock()
	t.nsqd.metadataChanged()
}

// IsPaused reports the paused state.
func (t *Topic) IsPaused() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.paused
}

// Empty drops the messages held on the topic itself (not its channels').
// The files are emptied with mu released (nsqd/queue's Held.Empty); a held
// batch being written meanwhile is emptied or kept whole, and the byte
// bound's count is zeroed with the memory part, so a publish during the
// Empty stays counted. drainMu keeps a batch read before from being handed
// over after.
func (t *Topic) Empty() error {
	t.drainMu.Lock()
	defer t.drainMu.Unlock()
	return t.held.Empty()
}

// Depth is the number of messages held on the topic itself.
func (t *Topic) Depth() int64 { return t.held.Depth() }

// BackendDepth is the part of Depth on disk.
func (t *Topic) BackendDepth() int64 { return t.held.BacklogDepth() }

// close stops the topic and its channels; delete also removes their data.
func (t *Topic) close(deleted bool) error {
	t.mu.Lock()
	if t.exiting {
		t.mu.Unlock()
		return nil
	}
	t.exiting = true
	t.deleted = deleted
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
	// No fan-out runs now, nor will: its committers are idle.
	t.committers.stop()
	// Publishers writing held batches finish first: what they were told
	// was accepted is then in memory or on disk, and flushHeld keeps it.
	t.holdWrites.Wait()
	t.drainers.Wait()
	// Channels whose files are being opened are closed by their openers.
	t.openers.Wait()
	if !deleted {
		t.flushHeld()
	}

	var firstErr error
	for _, c := range channels {
		if err := c.close(deleted); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	closeHeld := t.held.Close
	if deleted {
		closeHeld = t.held.Delete
	}
	if err := closeHeld(); err != nil && firstErr == nil {
		firstErr = err
	}
	if err := t.closeLog(deleted); err != nil && firstErr == nil {
		firstErr = err
	}
	return firstErr
}

// startDrainLocked starts moving the topic's disk backlog to its channels,
// unless there is nothing to move; when a drain is under way already, it
// tells that drain to read again before it stops. Caller holds mu for
// writing.
func (t *Topic) startDrainLocked() {
	if t.exiting || t.held.BacklogDepth() == 0 {
		return
	}
	if t.draining {
		t.drainAgain = true
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
	// One batch for every step: its slices, and the backlog's read memory
	// (queue.Held.ReleaseRecords), are reused.
	var batch queue.BacklogBatch
	for t.drainStep(&batch) {
	}
}

// drainStep reads one batch from disk and hands it to the channels. The
// read runs with mu released, so publishers never wait for it; the
// hand-off takes the read lock, as a publisher's fan-out does. It reports
// false once the drain has ended (draining is then false).
func (t *Topic) drainStep(batch *queue.BacklogBatch) bool {
	t.drainMu.Lock()
	defer t.drainMu.Unlock()
	t.mu.RLock()
	run := !t.exiting && t.distributingLocked()
	t.mu.RUnlock()
	if !run {
		return t.endDrain(nil)
	}
	// The channels keep their own copies: the topic's records are
	// released once every channel has queued the batch.
	err := t.held.ReadRecords(batch, maxDeliveryBatch)
	if err != nil {
		t.nsqd.logf(errorLevel, "TOPIC(%s): %s", t.name, err)
	}
	if batch.Len() == 0 {
		return t.endDrain(err)
	}
	t.mu.RLock()
	if t.exiting {
		// Closing: the records stay unacknowledged, and the disk queue
		// delivers them again after the restart.
		t.mu.RUnlock()
		return t.endDrain(nil)
	}
	// Still distributing: everything that stops it but close takes
	// drainMu, held here since the check above.
	refused := t.handOverLocked(batch)
	t.mu.RUnlock()
	t.bound.released(batch.BodyBytes())
	if refused == nil {
		t.held.ReleaseRecords(batch)
	} else {
		// A channel whose disk refused its copies keeps them in memory;
		// the topic then keeps its records, so a crash delivers them
		// again rather than losing them (and a restart, as duplicates).
		t.nsqd.logf(errorLevel, "TOPIC(%s): keeping %d records on disk: a channel could not store them: %s", t.name, batch.Len(), refused)
	}
	return true
}

// endDrain stops the drain, unless more backlog was written while it ran
// and the topic still distributes. A drain whose read failed tries again
// after a delay.
func (t *Topic) endDrain(readErr error) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	again := t.drainAgain && readErr == nil && !t.exiting && t.distributingLocked()
	t.drainAgain = false
	if again {
		return true
	}
	t.draining = false
	if readErr != nil && !t.exiting {
		t.retryDrainLocked()
	}
	return false
}
