package nsqd

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCountAttemptSaturates(t *testing.T) {
	require.Equal(t, uint16(1), countAttempt(0))
	require.Equal(t, uint16(65535), countAttempt(65534))
	require.Equal(t, uint16(65535), countAttempt(65535))
}

// A message at the last attempt number is delivered, requeued and
// delivered again with attempts 65535 both times: upstream's counter wraps
// to 0 there.
func TestAttemptsDoNotWrapOnRedelivery(t *testing.T) {
	n := startDaemon(t, nil)
	conn := dialV2(t, n)
	conn.subscribe("worn", "work")
	conn.send("RDY 1")
	awaitSubscribers(t, n, "worn", "work", 1)
	tp, err := n.GetExistingTopic("worn")
	require.NoError(t, err)
	require.NoError(t, tp.PutMessages([]Message{{Body: []byte("again"), Attempts: 65534}}))

	first := conn.readMessage()
	require.Equal(t, uint16(65535), first.Attempts)
	conn.req(first.ID, 0)
	second := conn.readMessage()
	require.Equal(t, first.ID, second.ID)
	require.Equal(t, uint16(65535), second.Attempts, "saturated, not wrapped to 0")
	conn.fin(second.ID)
}
