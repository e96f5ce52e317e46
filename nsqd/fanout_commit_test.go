package nsqd

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/nsqd/queue"
)

// rendezvous makes the first write of each of its channels' backlogs in a
// round wait until every other one of them has begun its write too, for
// a bounded time: when a fan-out commits its channels one after another,
// the first write waits for a write that only starts after it returned, so
// it times out and fails the publish.
type rendezvous struct {
	wait time.Duration

	mu    sync.Mutex
	disks []*rendezvousDisk
}

// rendezvousDisk is one channel's backlog in a rendezvous.
type rendezvousDisk struct {
	queue.Disk
	name  string
	group *rendezvous
	began chan struct{} // closed by the round's first write; guarded by group.mu
}

// join wraps ch's backlog (with no write of it under way).
func (r *rendezvous) join(t *testing.T, ch *Channel) *rendezvousDisk {
	t.Helper()
	d := &rendezvousDisk{name: ch.name, group: r, began: make(chan struct{})}
	ch.mu.Lock()
	ch.queue.ReplaceBacklog(func(inner queue.Disk) queue.Disk { d.Disk = inner; return d })
	ch.mu.Unlock()
	r.mu.Lock()
	r.disks = append(r.disks, d)
	r.mu.Unlock()
	return d
}

// nextRound makes every disk wait for the others again at its next write.
func (r *rendezvous) nextRound() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.disks {
		d.began = make(chan struct{})
	}
}

// allBegan reports whether every disk has written in this round.
func (r *rendezvous) allBegan() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.disks {
		select {
		case <-d.began:
		default:
			return false
		}
	}
	return true
}

func (d *rendezvousDisk) Put(records [][]byte) (uint64, error) {
	r := d.group
	r.mu.Lock()
	select {
	case <-d.began: // not the round's first write of this disk
		r.mu.Unlock()
		return d.Disk.Put(records)
	default:
	}
	close(d.began)
	others := make([]*rendezvousDisk, 0, len(r.disks))
	for _, o := range r.disks {
		if o != d {
			others = append(others, o)
		}
	}
	waits := make([]chan struct{}, len(others))
	for i, o := range others {
		waits[i] = o.began
	}
	r.mu.Unlock()
	deadline := time.NewTimer(r.wait)
	defer deadline.Stop()
	for i, began := range waits {
		select {
		case <-began:
		case <-deadline.C:
			return 0, fmt.Errorf("channel %s's write waited %s for channel %s's to begin: the commits ran one after another", d.name, r.wait, others[i].name)
		}
	}
	return d.Disk.Put(records)
}

// bodiesOfSize returns count bodies of size bytes each, "<i>:" then
// padding.
func bodiesOfSize(count, size int) []string {
	bodies := make([]string, count)
	for i := range bodies {
		prefix := fmt.Sprintf("%d:", i)
		bodies[i] = prefix + strings.Repeat("x", size-len(prefix))
	}
	return bodies
}

// ownBacklogsOnly configures a daemon whose channels spill past a memory
// bound of 0 to their own backlogs: these tests are about how a fan-out
// commits a batch to each channel's backlog (side by side, on committers),
// which is the path with --fanout-log off. With the log on (the default),
// a batch several channels would spill is written once, to the topic log
// (fanout_log.go), and no channel's backlog is written; fanout_log_test.go
// tests that path, and TestFanoutLogWriteErrorReachesThePublisher the
// refusal of its write.
func ownBacklogsOnly(o *Options) {
	o.MemQueueSize = 0
	o.FanoutLog = false
}

// fanOutTopic creates topic with the named channels.
func fanOutTopic(t *testing.T, n *NSQD, topic string, names ...string) []*Channel {
	t.Helper()
	tp, err := n.GetTopic(topic)
	require.NoError(t, err)
	var channels []*Channel
	for _, name := range names {
		c, err := tp.GetChannel(name)
		require.NoError(t, err)
		channels = append(channels, c)
	}
	return channels
}

// A fan-out's disk writes to its channels run side by side: every channel's
// write has begun before any of them ends, for each way of publishing a
// batch (TCP PUB, MPUB and DPUB, HTTP /pub and /mpub, and the topic's own
// PutMessages). Committed one after another, the first write would wait in
// vain for the second and the publish would fail.
func TestFanOutCommitsChannelsSideBySide(t *testing.T) {
	n := startDaemon(t, ownBacklogsOnly)
	channels := fanOutTopic(t, n, "clicks", "metrics", "spam_analysis", "archive")
	group := &rendezvous{wait: 3 * time.Second}
	for _, c := range channels {
		group.join(t, c)
	}
	producer := dialV2(t, n)
	big := strings.Repeat("b", 2*minOverlapBytes)
	batch := bodiesOfSize(20, 2*minOverlapBytes/20+1) // together over minOverlapBytes

	depth := int64(0)
	publishes := []struct {
		name    string
		count   int64
		publish func()
	}{
		{"PUB", 1, func() { producer.pub("clicks", big) }},
		{"MPUB", 20, func() { producer.mpub("clicks", batch...) }},
		{"HTTP pub", 1, func() {
			status, body := httpPost(t, n, "/pub?topic=clicks", big)
			requireOK(t, "OK", status, body)
		}},
		{"HTTP mpub", 20, func() {
			status, body := httpPost(t, n, "/mpub?topic=clicks", strings.Join(batch, "\n"))
			requireOK(t, "OK", status, body)
		}},
		{"PutMessages", 20, func() {
			msgs := make([]Message, len(batch))
			for i := range batch {
				msgs[i] = Message{Body: []byte(batch[i])}
			}
			topic, err := n.GetExistingTopic("clicks")
			require.NoError(t, err)
			require.NoError(t, topic.PutMessages(msgs))
		}},
	}
	for _, p := range publishes {
		group.nextRound()
		p.publish()
		require.True(t, group.allBegan(), "%s: every channel wrote", p.name)
		depth += p.count
		for _, c := range channels {
			require.EqualValues(t, depth, c.Depth(), "%s: %s", p.name, c.name)
			require.EqualValues(t, depth, c.BackendDepth(), "%s: %s", p.name, c.name)
		}
	}

	// DPUB's messages go to each channel's deferred store, not the
	// backlog: committed side by side too, and deferred in every channel.
	producer.send("DPUB clicks 60000", []byte(big))
	producer.expectResponse("OK")
	for _, c := range channels {
		c.mu.Lock()
		deferred := c.queue.DeferredCount()
		c.mu.Unlock()
		require.Equal(t, 1, deferred, c.name)
	}
}

// A batch too small to be worth a hand-over (a PUB of a few bytes) is
// committed on the publisher's goroutine, one channel after another: the
// rendezvous times out, and the publisher is told.
func TestFanOutCommitsSmallBatchOnThePublisher(t *testing.T) {
	n := startDaemon(t, ownBacklogsOnly)
	channels := fanOutTopic(t, n, "clicks", "a", "b")
	group := &rendezvous{wait: 50 * time.Millisecond}
	for _, c := range channels {
		group.join(t, c)
	}
	topic, err := n.GetExistingTopic("clicks")
	require.NoError(t, err)
	err = topic.PutMessages([]Message{{Body: []byte("small")}})
	require.ErrorContains(t, err, "the commits ran one after another")
}

// When one channel's disk refuses a fan-out's batch, the other channels
// still store it, and the publisher gets the refusal (and may publish
// again): whichever channel's commit the publisher ran itself and which a
// committer ran.
func TestFanOutCommitErrorReachesThePublisher(t *testing.T) {
	n := startDaemon(t, ownBacklogsOnly)
	channels := fanOutTopic(t, n, "clicks", "a", "b", "c", "d")
	broken := channels[2]
	breakChannelDisk(t, broken)
	producer := dialV2(t, n)
	batch := bodiesOfSize(20, 300)
	for round := 1; round <= 4; round++ {
		producer.send("MPUB clicks", mpubBody(batch...))
		producer.expectError("E_MPUB_FAILED MPUB failed write to disk: disk full")
		producer = dialV2(t, n) // the refusal is fatal, as upstream's
		for _, c := range channels {
			want := int64(20 * round)
			if c == broken {
				want = 0
			}
			require.EqualValues(t, want, c.Depth(), "round %d: %s", round, c.name)
		}
	}

	// Two broken channels: the first refusal is returned, the others store.
	breakChannelDisk(t, channels[0])
	topic, err := n.GetExistingTopic("clicks")
	require.NoError(t, err)
	msgs := make([]Message, len(batch))
	for i := range batch {
		msgs[i] = Message{Body: []byte(batch[i])}
	}
	err = topic.PutMessages(msgs)
	require.ErrorContains(t, err, "disk full")
	require.EqualValues(t, 100, channels[1].Depth())
	require.EqualValues(t, 100, channels[3].Depth())
}

// Bounded channels keep their own puts (reservations, drop-oldest and its
// late dead letters) while the topic's other channels commit side by side:
// a batch a reject-new channel refuses is refused whole, one it admits
// reaches every channel.
func TestFanOutCommitsWithBoundedChannels(t *testing.T) {
	n := startDaemon(t, ownBacklogsOnly)
	adminPost(t, n, "/topic/create?topic=dl")
	adminPost(t, n, "/channel/create?topic=dl&channel=c")
	bounded := boundedChannel(t, n, "orders", "bounded", "max_depth=30&overflow=reject-new")
	dropper := boundedChannel(t, n, "orders", "dropper", "max_depth=10&overflow=drop-oldest&dead_letter_topic=dl")
	open := fanOutTopic(t, n, "orders", "open1", "open2")
	dl := existingChannel(t, n, "dl", "c")
	group := &rendezvous{wait: 3 * time.Second}
	for _, c := range open {
		group.join(t, c)
	}
	producer := dialV2(t, n)
	batch := bodiesOfSize(20, 300)

	producer.mpub("orders", batch...)
	require.True(t, group.allBegan())
	require.EqualValues(t, 20, bounded.Depth())
	require.EqualValues(t, 10, dropper.Depth())
	for _, c := range open {
		require.EqualValues(t, 20, c.Depth(), c.name)
	}
	waitFor(t, "10 dead letters", func() bool { return dl.Depth() == 10 })

	group.nextRound()
	producer.send("MPUB orders", mpubBody(batch...))
	producer.expectError("E_MPUB_FAILED MPUB failed channel orders:bounded: queue is full (depth 20 + 20 > max_depth 30)")
	require.False(t, group.allBegan(), "a refused batch is written nowhere")
	for _, c := range open {
		require.EqualValues(t, 20, c.Depth(), c.name)
	}
	require.EqualValues(t, 10, dropper.Depth())

	producer.mpub("orders", bodiesOfSize(10, 2*minOverlapBytes/10)...)
	require.True(t, group.allBegan())
	require.EqualValues(t, 30, bounded.Depth())
	for _, c := range open {
		require.EqualValues(t, 30, c.Depth(), c.name)
	}
	require.EqualValues(t, 10, dropper.Depth())
	waitFor(t, "20 dead letters", func() bool { return dl.Depth() == 20 })
}

// Closing a topic stops the committers its fan-outs started, and a closed
// topic's publish refuses without them.
func TestFanOutCommittersStopWithTheTopic(t *testing.T) {
	n := startDaemon(t, ownBacklogsOnly)
	fanOutTopic(t, n, "clicks", "a", "b", "c")
	topic, err := n.GetExistingTopic("clicks")
	require.NoError(t, err)
	batch := bodiesOfSize(20, 300)
	msgs := make([]Message, len(batch))
	for i := range batch {
		msgs[i] = Message{Body: []byte(batch[i])}
	}
	require.NoError(t, topic.PutMessages(msgs))
	topic.committers.mu.Lock()
	started := topic.committers.started
	topic.committers.mu.Unlock()
	require.Equal(t, 2, started, "one committer for each channel after the first")

	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		topic.committers.running.Wait()
	}()
	require.NoError(t, n.DeleteExistingTopic("clicks"))
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the topic's committers did not stop with it")
	}
	require.True(t, errors.Is(topic.PutMessages(msgs), errExiting))
}

// A topic deleted while publishers fan out to it stops its committers once
// the fan-outs under way have ended; every publish either succeeded or was
// refused, and none waits for ever. Run with -race, this also checks the
// committers' hand-over against close.
func TestFanOutCommittersStopWhilePublishing(t *testing.T) {
	n := startDaemon(t, ownBacklogsOnly)
	fanOutTopic(t, n, "clicks", "a", "b", "c")
	topic, err := n.GetExistingTopic("clicks")
	require.NoError(t, err)
	batch := bodiesOfSize(20, 300)
	const publishers = 3
	published := make(chan struct{}, publishers*1000)
	results := make(chan error, publishers)
	for p := 0; p < publishers; p++ {
		go func() {
			for i := 0; i < 1000; i++ {
				msgs := make([]Message, len(batch))
				for j := range batch {
					msgs[j] = Message{Body: []byte(batch[j])}
				}
				if err := topic.PutMessages(msgs); err != nil {
					results <- err
					return
				}
				published <- struct{}{}
			}
			results <- nil
		}()
	}
	for i := 0; i < 10; i++ { // a few fan-outs in, so committers exist
		select {
		case <-published:
		case <-time.After(10 * time.Second):
			t.Fatal("no fan-out completed")
		}
	}
	require.NoError(t, n.DeleteExistingTopic("clicks"))
	for p := 0; p < publishers; p++ {
		select {
		case err := <-results:
			if err != nil {
				require.ErrorIs(t, err, errExiting)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a publisher did not return after the topic was deleted")
		}
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		topic.committers.running.Wait()
	}()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the topic's committers did not stop with it")
	}
	topic.committers.mu.Lock()
	defer topic.committers.mu.Unlock()
	require.True(t, topic.committers.stopped)
	require.Empty(t, topic.committers.idle)
	require.NotZero(t, topic.committers.started)
}
