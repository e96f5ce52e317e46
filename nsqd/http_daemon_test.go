package nsqd

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/nsqd/httpserver"
	"github.com/nsqgo/nsq/nsqd/queue"
)

// The adapter's own logic: error translation, the name lookups, the copy
// of a batch's bodies and the ephemeral channel's missing dead set. The
// endpoints themselves are tested over HTTP (nsqd/httpserver's tests, and
// the http_*_test.go files here).

func TestHTTPDaemonTranslatesErrorsKeepingTheirText(t *testing.T) {
	err := httpError(fmt.Errorf("topic t: %w", errExiting))
	require.ErrorIs(t, err, httpserver.ErrExiting)
	require.ErrorIs(t, err, errExiting)
	require.Equal(t, "topic t: exiting", err.Error(), "the log keeps the daemon's text")
	require.ErrorIs(t, httpError(errTopicNotFound), httpserver.ErrTopicNotFound)
	require.ErrorIs(t, httpError(errChannelNotFound), httpserver.ErrChannelNotFound)
	require.NotErrorIs(t, httpError(errChannelNotFound), httpserver.ErrTopicNotFound)

	full := fmt.Errorf("channel c: %w", queue.ErrFull)
	require.Equal(t, full, httpError(full), "shared errors pass unchanged")
	require.NoError(t, httpError(nil))
}

func TestHTTPDaemonFindsTopicsAndChannelsByName(t *testing.T) {
	d := httpDaemon{startDaemon(t, nil)}
	require.False(t, d.TopicExists("t"))
	require.ErrorIs(t, d.Publish("t", []byte("x"), 0), httpserver.ErrExiting, "the handler creates the topic first")
	require.ErrorIs(t, d.PublishBatch("t", [][]byte{[]byte("x")}), httpserver.ErrExiting)
	for name, err := range map[string]error{
		"EmptyTopic":    d.EmptyTopic("t"),
		"PauseTopic":    d.PauseTopic("t", true),
		"DeleteTopic":   d.DeleteTopic("t"),
		"CreateChannel": d.CreateChannel("t", "c"),
		"EmptyDead":     d.EmptyDead("t", "c"),
	} {
		require.ErrorIs(t, err, httpserver.ErrTopicNotFound, name)
	}
	_, err := d.TopicConfig("t")
	require.ErrorIs(t, err, httpserver.ErrTopicNotFound)

	require.NoError(t, d.CreateTopic("t"))
	require.True(t, d.TopicExists("t"))
	for name, err := range map[string]error{
		"EmptyChannel":  d.EmptyChannel("t", "c"),
		"PauseChannel":  d.PauseChannel("t", "c", true),
		"DeleteChannel": d.DeleteChannel("t", "c"),
		"EmptyDead":     d.EmptyDead("t", "c"),
	} {
		require.ErrorIs(t, err, httpserver.ErrChannelNotFound, name)
	}
	_, err = d.PeekChannel("t", "c", httpserver.PeekReady, 1, 0)
	require.ErrorIs(t, err, httpserver.ErrChannelNotFound)

	require.NoError(t, d.CreateChannel("t", "c"))
	require.NoError(t, d.PauseChannel("t", "c", true))
	topic, err := d.nsqd.GetExistingTopic("t")
	require.NoError(t, err)
	channel, err := topic.GetExistingChannel("c")
	require.NoError(t, err)
	require.True(t, channel.IsPaused())
	cfg, err := d.ChannelConfig("t", "c")
	require.NoError(t, err)
	require.Equal(t, "t", cfg.Topic)
	require.Equal(t, "c", cfg.Channel)
}

// A batch's bodies alias the request buffer; what the channel keeps must
// not.
func TestHTTPDaemonPublishBatchCopiesBodiesOutOfTheRequestBuffer(t *testing.T) {
	d := httpDaemon{startDaemon(t, nil)}
	require.NoError(t, d.CreateTopic("t"))
	require.NoError(t, d.CreateChannel("t", "c"))
	request := []byte("aa\nbb")
	require.NoError(t, d.PublishBatch("t", [][]byte{request[0:2:2], request[3:5:5]}))
	copy(request, "zzzzz")

	msgs, err := d.PeekChannel("t", "c", httpserver.PeekReady, 10, 0)
	require.NoError(t, err)
	require.Len(t, msgs, 2)
	require.Equal(t, "aa", string(msgs[0].Body))
	require.Equal(t, "bb", string(msgs[1].Body))
}

// An ephemeral channel keeps no dead set: redrive and empty find nothing
// to do rather than fail.
func TestHTTPDaemonEphemeralChannelHasAnEmptyDeadSet(t *testing.T) {
	d := httpDaemon{startDaemon(t, nil)}
	require.NoError(t, d.CreateTopic("t"))
	require.NoError(t, d.CreateChannel("t", "c#ephemeral"))
	moved, dead, err := d.RedriveDead(context.Background(), "t", "c#ephemeral", 0, 0)
	require.NoError(t, err)
	require.Zero(t, moved)
	require.Zero(t, dead)
	require.NoError(t, d.EmptyDead("t", "c#ephemeral"))
}
