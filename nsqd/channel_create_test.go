package nsqd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// channelWaitersOf is how many GetChannel calls wait for the named
// channel's opening.
func channelWaitersOf(topic *Topic, name string) int {
	topic.mu.RLock()
	defer topic.mu.RUnlock()
	if o, ok := topic.opening[name]; ok {
		return o.waiters
	}
	return -1
}

// filesOf lists the files in the data path whose names start with prefix.
func filesOf(t *testing.T, n *NSQD, prefix string) []string {
	t.Helper()
	entries, err := os.ReadDir(n.opts.DataPath)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, filepath.Join(n.opts.DataPath, e.Name()))
		}
	}
	return names
}

// Creating a channel opens its files with no lock of the topic held:
// publishers, lookups and the creation of other channels of the topic go
// on meanwhile. A second GetChannel of the same name waits for the first
// and gets the same channel; the files are opened once.
func TestCreatingAChannelDoesNotBlockItsTopic(t *testing.T) {
	n := startDaemon(t, nil)
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	existing, err := topic.GetChannel("existing")
	require.NoError(t, err)
	disk := newSlowTopicDisk(t, n, "t:slow") // the channel's queue name

	type result struct {
		channel *Channel
		err     error
	}
	first := make(chan result, 1)
	go func() { c, err := topic.GetChannel("slow"); first <- result{c, err} }()
	awaitSignal(t, disk.entered, "the first creator's disk open")

	second := make(chan result, 1)
	go func() { c, err := topic.GetChannel("slow"); second <- result{c, err} }()
	waitFor(t, "the second creator to wait for the first", func() bool { return channelWaitersOf(topic, "slow") == 1 })

	require.NoError(t, within(t, "a publish while a channel opens", func() error {
		return topic.PutMessages([]Message{{Body: []byte("during")}})
	}))
	require.EqualValues(t, 1, existing.Depth(), "the existing channel got the message")
	got := within(t, "a lookup of another channel while one opens", func() result {
		c, err := topic.GetExistingChannel("existing")
		return result{c, err}
	})
	require.NoError(t, got.err)
	require.Same(t, existing, got.channel)
	got = within(t, "creating another channel while one opens", func() result {
		c, err := topic.GetChannel("other")
		return result{c, err}
	})
	require.NoError(t, got.err)
	require.Len(t, within(t, "listing channels while one opens", topic.Channels), 2, "the opening channel is not listed yet")
	_, err = topic.GetExistingChannel("slow")
	require.ErrorIs(t, err, errChannelNotFound)

	disk.open()
	a := awaitSignal(t, first, "the first creator")
	b := awaitSignal(t, second, "the second creator")
	require.NoError(t, a.err)
	require.NoError(t, b.err)
	require.Same(t, a.channel, b.channel, "both creators get the one channel")
	require.Equal(t, 1, disk.openings(), "its files were opened once")
	slow, err := topic.GetExistingChannel("slow")
	require.NoError(t, err)
	require.Same(t, a.channel, slow)
}

// A channel whose files open while its topic is deleted is deleted with
// it, and the deletion waits for it: no file of it is left open, nor left
// behind.
func TestChannelOpeningDuringTopicDeletionIsDeleted(t *testing.T) {
	n := startDaemon(t, nil)
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	// A channel's files exist once it is opened: their absence below says
	// that the late one was deleted, not that it never wrote any.
	_, err = topic.GetChannel("early")
	require.NoError(t, err)
	require.NotEmpty(t, filesOf(t, n, "t:early."), "an opened channel's files")
	disk := newSlowTopicDisk(t, n, "t:late")
	created := make(chan error, 1)
	go func() { _, err := topic.GetChannel("late"); created <- err }()
	awaitSignal(t, disk.entered, "the creator's disk open")

	deleted := make(chan error, 1)
	go func() { deleted <- n.DeleteExistingTopic("t") }()
	waitFor(t, "the topic to start closing", func() bool {
		topic.mu.RLock()
		defer topic.mu.RUnlock()
		return topic.exiting
	})
	select {
	case err := <-deleted:
		t.Fatalf("the topic's deletion returned (%v) while a channel's files were being opened", err)
	default:
	}
	disk.open()
	require.ErrorIs(t, awaitSignal(t, created, "the creator"), errExiting)
	require.NoError(t, awaitSignal(t, deleted, "the deletion"))
	require.Empty(t, filesOf(t, n, "t:late."), "the late channel's files")
	require.Empty(t, filesOf(t, n, "t:early."), "the early channel's files")
}
