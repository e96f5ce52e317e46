package nsqd

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A fan-out whose batch every channel writes to its own disk encodes it once
// (Topic.frameForCommits); each channel's queue stores every message, and
// after a restart each channel delivers all of them, in order, with the
// publisher's bodies. (That the framed records are what the channels' disks
// are given is nsqd/queue's TestPendingWritesARunOfTheFramesAsFramed: the
// topic's pool of Frames cannot be watched here, as the race detector
// drops pooled items at random.)
func TestFanOutFramedOnceEveryChannelStoresEveryMessage(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 0 })
	channels := fanOutTopic(t, n, "clicks", "metrics", "spam_analysis", "archive")
	producer := dialV2(t, n)
	first, second := numbered("first", 120), numbered("second", 80)
	producer.mpub("clicks", first...)
	producer.mpub("clicks", second...)
	for _, c := range channels {
		require.EqualValues(t, 200, c.BackendDepth(), c.name)
	}
	n = restartDaemon(t, n, func(o *Options) { o.MemQueueSize = 0 })
	want := append(append([]string(nil), first...), second...)
	for _, name := range []string{"metrics", "spam_analysis", "archive"} {
		consumer := dialV2(t, n)
		consumer.subscribe("clicks", name)
		consumer.send("RDY 200")
		msgs := consumer.readMessages(len(want))
		for i, m := range msgs {
			require.Equal(t, want[i], string(m.Body), "%s: message %d", name, i)
		}
	}
}
