package nsqd

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/nsqd/httpserver"

	"github.com/nsqgo/nsq/internal/clock"
)

// deadChannel makes a channel whose dead set holds the given bodies (drop-
// oldest with max_depth=1 pushes each out as the next arrives), then lifts
// the bound. The last body published stays ready.
func deadChannel(t *testing.T, n *NSQD, bodies ...string) *Channel {
	t.Helper()
	c := boundedChannel(t, n, "orders", "work", "max_depth=1&overflow=drop-oldest")
	publish(t, n, "orders", bodies...)
	postOK(t, n, "/channel/config?topic=orders&channel=work&max_depth=0")
	require.EqualValues(t, len(bodies)-1, c.deadDepth())
	return c
}

func redriveJSONOf(t *testing.T, n *NSQD, path string) httpserver.RedriveAnswer {
	t.Helper()
	status, body := httpPost(t, n, path, "")
	require.Equal(t, http.StatusOK, status, "%s: %s", path, body)
	var answer httpserver.RedriveAnswer
	require.NoError(t, json.Unmarshal(body, &answer))
	return answer
}

// Redrive moves dead messages back, oldest first, with attempts reset; the
// rest stay dead. Consumers get them on their first attempt.
func TestDeadRedriveResetsAttempts(t *testing.T) {
	n := startDaemon(t, nil)
	c := deadChannel(t, n, "d0", "d1", "d2", "d3", "d4")

	answer := redriveJSONOf(t, n, "/channel/dead/redrive?topic=orders&channel=work&n=2")
	require.Equal(t, httpserver.RedriveAnswer{Redriven: 2, DeadCount: 2}, answer)
	require.EqualValues(t, 3, c.Depth())
	require.EqualValues(t, 2, c.BackendDepth(), "redriven messages are stored on disk")
	require.Equal(t, []string{"d2", "d3"}, peekBodies(peekJSONOf(t, n, "/channel/peek?topic=orders&channel=work&state=dead")))
	ready := peekJSONOf(t, n, "/channel/peek?topic=orders&channel=work")
	require.Equal(t, []string{"d4", "d0", "d1"}, peekBodies(ready))
	for _, m := range ready.Messages {
		require.Zero(t, m.Attempts)
	}

	consumer := dialV2(t, n)
	consumer.subscribe("orders", "work")
	consumer.send("RDY 3")
	var got []string
	for _, m := range consumer.readMessages(3) {
		require.EqualValues(t, 1, m.Attempts)
		got = append(got, string(m.Body))
	}
	require.ElementsMatch(t, []string{"d4", "d0", "d1"}, got)

	// Without n, everything left.
	require.Equal(t, httpserver.RedriveAnswer{Redriven: 2, DeadCount: 0}, redriveJSONOf(t, n, "/channel/dead/redrive?topic=orders&channel=work"))
	require.EqualValues(t, 4, c.bound.redriven.Load())
}

func TestDeadEmpty(t *testing.T) {
	n := startDaemon(t, nil)
	c := deadChannel(t, n, "d0", "d1", "d2")
	adminPost(t, n, "/channel/dead/empty?topic=orders&channel=work")
	require.Zero(t, c.deadDepth())
	require.Empty(t, peekJSONOf(t, n, "/channel/peek?topic=orders&channel=work&state=dead").Messages)
	require.EqualValues(t, 1, c.Depth(), "the queue is not the dead set's")
	require.EqualValues(t, 2, c.bound.emptied.Load())
	require.Equal(t, httpserver.RedriveAnswer{}, redriveJSONOf(t, n, "/channel/dead/redrive?topic=orders&channel=work"))
}

// rate paces a redrive by the daemon's clock: a second batch waits until
// the clock has moved on.
func TestDeadRedriveRateFollowsTheClock(t *testing.T) {
	fake := clock.NewFake(time.Now())
	n := startDaemon(t, func(o *Options) { o.Clock = fake })
	c := deadChannel(t, n, "d0", "d1", "d2")

	done := make(chan httpserver.RedriveAnswer, 1)
	go func() {
		status, body := httpPost(t, n, "/channel/dead/redrive?topic=orders&channel=work&rate=1", "")
		var answer httpserver.RedriveAnswer
		if status == http.StatusOK && json.Unmarshal(body, &answer) == nil {
			done <- answer
		}
		close(done)
	}()
	waitFor(t, "the first message redriven", func() bool { return c.bound.redriven.Load() == 1 })
	select {
	case <-done:
		t.Fatal("the redrive finished without the clock moving")
	default:
	}
	for c.bound.redriven.Load() < 2 {
		fake.Advance(time.Second)
		waitFor(t, "the clock's effect", func() bool { return c.bound.redriven.Load() >= 1 })
	}
	fake.Advance(time.Second)
	select {
	case answer, ok := <-done:
		require.True(t, ok, "redrive failed")
		require.Equal(t, httpserver.RedriveAnswer{Redriven: 2, DeadCount: 0}, answer)
	case <-time.After(10 * time.Second):
		t.Fatal("the redrive did not finish")
	}
}
