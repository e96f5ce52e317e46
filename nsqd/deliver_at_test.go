package nsqd

import (
	"testing"
	"time"

	"github.com/nsqgo/nsq/nsqd/queue"
	"github.com/stretchr/testify/require"
)

// A deferred message is never due before its publish timestamp plus its
// delay: DeliverAt and Timestamp come from one clock reading (before the
// fix DeliverAt was computed a few microseconds before the timestamp, so
// a DPUB of 2000 ms could be delivered 1999.99 ms after its timestamp).
func TestDeferredMessageIsDueExactlyDelayAfterItsTimestamp(t *testing.T) {
	n := startDaemon(t, nil)
	topic, err := n.GetTopic("t")
	require.NoError(t, err)
	ch, err := topic.GetChannel("c")
	require.NoError(t, err)

	dialV2(t, n).send("DPUB t 60000", []byte("tcp"))
	status, body := httpPost(t, n, "/pub?topic=t&defer=60000", "http")
	requireOK(t, "OK", status, body)
	waitFor(t, "both messages deferred", func() bool { return deferredLen(ch) == 2 })

	ch.mu.Lock()
	defer ch.mu.Unlock()
	for _, m := range ch.queue.Peek(nil, queue.Deferred, 10) {
		require.Equal(t, (60 * time.Second).Nanoseconds(), m.DeliverAt-m.Timestamp, "message %q", m.Body)
	}
}
