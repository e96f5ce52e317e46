package nsqd

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The topic log is on by default (README, "Fan-out: the topic log"): a
// daemon given no --fanout-log writes a fan-out past its channels' memory
// bound once, to the log, and no channel writes its own backlog.
func TestFanoutLogIsOnByDefault(t *testing.T) {
	require.True(t, NewOptions().FanoutLog)
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 10 })
	channels := fanOutTopic(t, n, "clicks", logChannels...)
	dialV2(t, n).mpub("clicks", numbered("m", 50)...)
	for _, c := range channels {
		require.EqualValues(t, 50, c.Depth(), c.name)
		require.Zero(t, ownBacklogDepth(c), "%s wrote nothing of its own", c.name)
		require.EqualValues(t, 50, c.queue.CursorDepth(), "%s: the whole batch, since memory had no room for it", c.name)
	}
	require.NotEmpty(t, logSegments(t, n, "clicks"))
}

// When the log refuses a batch, the publisher is told (fatally, as when a
// channel's own disk refuses it: TestFanOutCommitErrorReachesThePublisher
// with the log off), and no joined channel counts the batch.
func TestFanoutLogWriteErrorReachesThePublisher(t *testing.T) {
	n := fanoutLogDaemon(t, 0, nil)
	channels := fanOutTopic(t, n, "clicks", "a", "b")
	producer := dialV2(t, n)
	producer.mpub("clicks", numbered("ok", 5)...)
	topic, err := n.GetExistingTopic("clicks")
	require.NoError(t, err)
	require.NoError(t, topic.log.q.Close()) // every later write fails
	producer.send("MPUB clicks", mpubBody(numbered("refused", 5)...))
	producer.expectError("E_MPUB_FAILED MPUB failed topic clicks: write to the topic log: diskqueue: closed")
	for _, c := range channels {
		require.EqualValues(t, 5, c.Depth(), c.name)
	}
}
