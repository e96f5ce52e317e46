package nsqd

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// slowTopicDisk holds the opening of the named topic's disk queue until
// released, as a slow disk (a long recovery) would, and counts openings.
type slowTopicDisk struct {
	name    string
	entered chan struct{}
	release chan struct{}
	once    sync.Once

	mu     sync.Mutex
	opened int
}

func newSlowTopicDisk(t *testing.T, n *NSQD, name string) *slowTopicDisk {
	d := &slowTopicDisk{name: name, entered: make(chan struct{}, 1), release: make(chan struct{})}
	n.diskOpenHook = d.hook
	t.Cleanup(d.open)
	return d
}

func (d *slowTopicDisk) hook(name string) {
	if name != d.name {
		return
	}
	d.mu.Lock()
	d.opened++
	d.mu.Unlock()
	d.entered <- struct{}{}
	<-d.release
}

func (d *slowTopicDisk) open() { d.once.Do(func() { close(d.release) }) }

func (d *slowTopicDisk) openings() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.opened
}

// waitersOf is how many GetTopic calls wait for the named topic's opening.
func waitersOf(n *NSQD, name string) int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if o, ok := n.opening[name]; ok {
		return o.waiters
	}
	return -1
}

// Creating a topic opens its files with NSQD.mu released: other topics are
// looked up and created meanwhile. A second GetTopic of the same name waits
// for the first and gets the same topic; the files are opened once.
func TestCreatingATopicDoesNotBlockOtherTopics(t *testing.T) {
	n := startDaemon(t, nil)
	existing, err := n.GetTopic("existing")
	require.NoError(t, err)
	disk := newSlowTopicDisk(t, n, "slow")

	type result struct {
		topic *Topic
		err   error
	}
	first := make(chan result, 1)
	go func() { topic, err := n.GetTopic("slow"); first <- result{topic, err} }()
	awaitSignal(t, disk.entered, "the first creator's disk open")

	second := make(chan result, 1)
	go func() { topic, err := n.GetTopic("slow"); second <- result{topic, err} }()
	waitFor(t, "the second creator to wait for the first", func() bool { return waitersOf(n, "slow") == 1 })

	got := within(t, "a lookup of another topic while one opens", func() result {
		topic, err := n.GetExistingTopic("existing")
		return result{topic, err}
	})
	require.NoError(t, got.err)
	require.Same(t, existing, got.topic)
	got = within(t, "creating another topic while one opens", func() result {
		topic, err := n.GetTopic("other")
		return result{topic, err}
	})
	require.NoError(t, got.err)
	require.Len(t, within(t, "listing topics while one opens", n.Topics), 2, "the opening topic is not listed yet")
	_, err = n.GetExistingTopic("slow")
	require.ErrorIs(t, err, errTopicNotFound)

	disk.open()
	a := awaitSignal(t, first, "the first creator")
	b := awaitSignal(t, second, "the second creator")
	require.NoError(t, a.err)
	require.NoError(t, b.err)
	require.Same(t, a.topic, b.topic, "both creators get the one topic")
	require.Equal(t, 1, disk.openings(), "its files were opened once")
	slow, err := n.GetExistingTopic("slow")
	require.NoError(t, err)
	require.Same(t, a.topic, slow)
}

// A topic whose files open while the daemon exits is closed again, and
// Exit waits for it: no file is left open past Exit.
func TestTopicOpeningDuringExitIsClosed(t *testing.T) {
	n := startDaemon(t, nil)
	disk := newSlowTopicDisk(t, n, "late")
	created := make(chan error, 1)
	go func() { _, err := n.GetTopic("late"); created <- err }()
	awaitSignal(t, disk.entered, "the creator's disk open")

	exited := make(chan struct{})
	go func() { n.Exit(); close(exited) }()
	waitFor(t, "Exit to mark the daemon exiting", n.exiting.Load)
	select {
	case <-exited:
		t.Fatal("Exit returned while a topic's files were being opened")
	default:
	}
	disk.open()
	require.ErrorIs(t, awaitSignal(t, created, "the creator"), errExiting)
	awaitSignal(t, exited, "Exit")
	_, err := n.GetExistingTopic("late")
	require.ErrorIs(t, err, errTopicNotFound)
}
