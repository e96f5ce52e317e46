package nsqd

import (
	"sync"

	"github.com/nsqgo/nsq/nsqd/queue"
)

// A fan-out's disk commits, side by side.
//
// Once a channel's memory is full, every channel of a topic writes each
// message of a fan-out to its own disk queue, and each fsyncs every
// --sync-every records: the channels receive the same messages, so they
// reach their sync on the same batch. Committed one after another, the
// publisher waits for every channel's write and fsync in turn. Topic.
// fanOutLocked therefore first puts the batch in every channel (each under
// its own lock, as before), then commits the disk work they left together:
// the publisher's goroutine commits the first channel's, and committers of
// the topic's crew commit the others' at the same time. The writes go to
// different files, so they overlap: the encoding and checksums on the
// other core, the fsyncs in the file system (whose journal batches
// concurrent fdatasyncs). The publisher waits for all of them, so that its
// answer, its body reuse (body_alloc.go) and the records' hold are as
// before; each commit settles under its own channel's lock
// (Channel.commit), and a channel's close waits for it (writers).
//
// The committers are the topic's, started when first needed (at most
// maxCommitters at once), kept idle between fan-outs, and stopped by
// Topic.close, which runs once no fan-out can be under way (it has set
// exiting under Topic.mu held for writing, which every fan-out holds at
// least for reading until its commits ended). A batch is one unit of work:
// once the committers exist, nothing is allocated per batch or message (for
// up to fanOutCommitRoom channels with disk work; more grow one slice).

// beginShared is putShared's part under c.mu: it queues the batch and
// returns the disk work left, a Pending the caller must commit (c.commit,
// with no channel lock held; close waits for it) before the batch's bodies
// may change. A fan-out begins every channel's put this way and then
// commits their disk work side by side (Topic.commitFanOut). kept is
// putShared's, for when the commit succeeds; an error of the commit makes
// it true.
//
// A channel with a bound commits its own write before it returns (p is
// then nil): its drop-oldest victims follow the write (putBoundedLocked).
func (c *Channel) beginShared(shared queue.Shared) (p *queue.Pending, kept bool, err error) {
	msgs := shared.Msgs
	c.mu.Lock()
	if c.exiting {
		c.mu.Unlock()
		return nil, true, errExiting
	}
	if b := c.policy().Bound(); b.On() {
		return nil, true, c.putBoundedLocked(msgs, b, false)
	}
	c.messageCount.Add(uint64(len(msgs)))
	p, inMemory := c.queue.PutShared(shared, c.now())
	if !c.releaseLocked(p) {
		return nil, inMemory, nil
	}
	return p, inMemory, nil
}

// releaseLocked is finishLocked up to the commit: consumers are woken, the
// timer follows the next deadline, and c.mu is released. It reports
// whether p has disk work to commit; if so, the commit is counted in
// writers (so close waits for it), and the caller must run c.commit(p).
func (c *Channel) releaseLocked(p *queue.Pending) bool {
	c.changedLocked()
	if p == nil {
		c.mu.Unlock()
		return false
	}
	c.writers.Add(1)
	c.mu.Unlock()
	return true
}

// channelCommit is a channel's disk work from one fan-out: its put ran
// under its lock (Channel.beginShared), the Pending is to be committed
// with that lock released.
type channelCommit struct {
	channel *Channel
	pending *queue.Pending
}

// fanOutCommitRoom is how many channels' commits a fan-out collects without
// allocating (on the publisher's stack); a topic with more channels that
// write grows the slice.
const fanOutCommitRoom = 8

// maxCommitters bounds a topic's committers: its concurrent fan-outs share
// them, and a commit that finds none free runs on the publisher's goroutine
// after its first.
const maxCommitters = 16

// minOverlapBytes is the least a batch's bodies weigh for its commits to
// be handed to committers: below it (a PUB of a small message), a commit is
// one short write whose hand-over would cost about as much as it saves.
// Such commits still share each disk queue's group commit with the other
// publishers' (internal/diskqueue's Put).
const minOverlapBytes = 4 << 10

// commitsOverlap reports whether the commits of msgs' fan-out are worth
// running side by side.
func commitsOverlap(msgs []Message) bool {
	var size int
	for i := range msgs {
		if size += len(msgs[i].Body); size >= minOverlapBytes {
			return true
		}
	}
	return false
}

// commitFanOut commits the disk work of a fan-out's channels and returns
// the first error, in the order of commits. With overlap, the commits after
// the first go to the topic's committers while the caller commits the
// first; it returns once every commit has ended. Caller holds Topic.mu
// (read or write); the committers take only each channel's Channel.mu, to
// settle (LOCKS.md).
func (t *Topic) commitFanOut(commits []channelCommit, overlap bool) error {
	var crew [fanOutCommitRoom]*committer
	hired := 0
	if overlap {
		for _, cc := range commits[1:] {
			if hired == len(crew) {
				break
			}
			w := t.committers.hire()
			if w == nil {
				break
			}
			w.work <- cc
			crew[hired] = w
			hired++
		}
	}
	first := commits[0].channel.commit(commits[0].pending)
	var inline error // of the commits no committer took
	for _, cc := range commits[1+hired:] {
		if err := cc.channel.commit(cc.pending); err != nil && inline == nil {
			inline = err
		}
	}
	for _, w := range crew[:hired] {
		err := <-w.done
		t.committers.release(w)
		if err != nil && first == nil {
			first = err
		}
	}
	if first == nil {
		first = inline
	}
	return first
}

// committers are a topic's goroutines that commit channels' disk work for
// its fan-outs (commitFanOut).
type committers struct {
	mu      sync.Mutex
	idle    []*committer
	started int
	stopped bool
	running sync.WaitGroup // one per committer started; stop waits
}

// committer commits one channel's disk work at a time: work brings it,
// done returns Channel.commit's error.
type committer struct {
	work chan channelCommit
	done chan error
}

// hire returns an idle committer, a new one if none is idle and fewer than
// maxCommitters exist, or nil: the caller then commits itself.
func (cs *committers) hire() *committer {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.stopped {
		return nil
	}
	if n := len(cs.idle); n > 0 {
		w := cs.idle[n-1]
		cs.idle[n-1] = nil
		cs.idle = cs.idle[:n-1]
		return w
	}
	if cs.started == maxCommitters {
		return nil
	}
	cs.started++
	w := &committer{work: make(chan channelCommit, 1), done: make(chan error, 1)}
	cs.running.Add(1)
	go w.run(&cs.running)
	return w
}

// release makes w idle again, once its done was received.
func (cs *committers) release(w *committer) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.stopped {
		close(w.work)
		return
	}
	cs.idle = append(cs.idle, w)
}

// stop ends the committers and waits for them. Topic.close calls it once
// no fan-out can run: every committer is idle then.
func (cs *committers) stop() {
	cs.mu.Lock()
	cs.stopped = true
	idle := cs.idle
	cs.idle = nil
	cs.mu.Unlock()
	for _, w := range idle {
		close(w.work)
	}
	cs.running.Wait()
}

func (w *committer) run(running *sync.WaitGroup) {
	defer running.Done()
	for cc := range w.work {
		w.done <- cc.channel.commit(cc.pending)
	}
}

// frameForCommits encodes a fan-out's batch once, as framed disk records,
// for the commits that write it to two or more channels' disks, and points
// their Pendings at it (queue.Frames): each channel's writer then copies the
// records instead of encoding and checksumming every message again. It
// returns the Frames for the caller to release once every commit has
// ended, or nil when fewer than two commits write to disk or the batch is
// not framed (over queue.MaxFramedBytes).
func (t *Topic) frameForCommits(msgs []Message, commits []channelCommit) *queue.Frames {
	writers := 0
	for i := range commits {
		if commits[i].pending.DiskRecords() > 0 {
			writers++
		}
	}
	if writers < 2 {
		return nil
	}
	frames, _ := t.frames.Get().(*queue.Frames)
	if frames == nil {
		frames = new(queue.Frames)
	}
	if !frames.Frame(msgs) {
		t.frames.Put(frames)
		return nil
	}
	for i := range commits {
		commits[i].pending.UseFrames(frames)
	}
	return frames
}

// releaseFrames keeps frames for a later fan-out, forgetting its batch.
func (t *Topic) releaseFrames(frames *queue.Frames) {
	frames.Reset()
	t.frames.Put(frames)
}
