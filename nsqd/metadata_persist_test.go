package nsqd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// nsqd.dat is written when topics and channels change, not only at exit:
// these tests read it while the daemon runs (every restart test goes
// through Exit, which writes it anyway). Upstream persists at once so that
// a crash does not undo a change.

// readMetadataFile decodes the nsqd.dat the running daemon last wrote.
func readMetadataFile(t *testing.T, n *NSQD) metadata {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(n.opts.DataPath, metadataFile))
	require.NoError(t, err)
	var md metadata
	require.NoError(t, json.Unmarshal(data, &md), "nsqd.dat: %s", data)
	return md
}

// topicInMetadata returns the named topic of md, and whether it is there.
func topicInMetadata(md metadata, name string) (topicMetadata, bool) {
	for _, tm := range md.Topics {
		if tm.Name == name {
			return tm, true
		}
	}
	return topicMetadata{}, false
}

// channelInMetadata returns topic/channel of md, and whether it is there.
func channelInMetadata(md metadata, topic, channel string) (channelMetadata, bool) {
	tm, ok := topicInMetadata(md, topic)
	if !ok {
		return channelMetadata{}, false
	}
	for _, cm := range tm.Channels {
		if cm.Name == channel {
			return cm, true
		}
	}
	return channelMetadata{}, false
}

func TestHTTPTopicPauseAndUnpauseAreWrittenToMetadataAtOnce(t *testing.T) {
	n := startDaemon(t, nil)
	adminPost(t, n, "/topic/create?topic=t")

	adminPost(t, n, "/topic/pause?topic=t")
	tm, ok := topicInMetadata(readMetadataFile(t, n), "t")
	require.True(t, ok, "topic t in nsqd.dat")
	require.True(t, tm.Paused, "pause is in nsqd.dat before shutdown")

	adminPost(t, n, "/topic/unpause?topic=t")
	tm, ok = topicInMetadata(readMetadataFile(t, n), "t")
	require.True(t, ok, "topic t in nsqd.dat")
	require.False(t, tm.Paused, "unpause is in nsqd.dat before shutdown")
}

func TestHTTPChannelPauseAndUnpauseAreWrittenToMetadataAtOnce(t *testing.T) {
	n := startDaemon(t, nil)
	adminPost(t, n, "/topic/create?topic=t")
	adminPost(t, n, "/channel/create?topic=t&channel=c")

	adminPost(t, n, "/channel/pause?topic=t&channel=c")
	cm, ok := channelInMetadata(readMetadataFile(t, n), "t", "c")
	require.True(t, ok, "channel t/c in nsqd.dat")
	require.True(t, cm.Paused, "pause is in nsqd.dat before shutdown")

	adminPost(t, n, "/channel/unpause?topic=t&channel=c")
	cm, ok = channelInMetadata(readMetadataFile(t, n), "t", "c")
	require.True(t, ok, "channel t/c in nsqd.dat")
	require.False(t, cm.Paused, "unpause is in nsqd.dat before shutdown")
}

func TestTopicCreatedByPubIsWrittenToMetadataAtOnce(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.pub("created", "body")
	_, ok := topicInMetadata(readMetadataFile(t, n), "created")
	require.True(t, ok, "a topic is in nsqd.dat once PUB has answered OK")
}

func TestHTTPTopicDeleteIsWrittenToMetadataAtOnce(t *testing.T) {
	n := startDaemon(t, nil)
	adminPost(t, n, "/topic/create?topic=gone")
	_, ok := topicInMetadata(readMetadataFile(t, n), "gone")
	require.True(t, ok, "created topic in nsqd.dat")

	adminPost(t, n, "/topic/delete?topic=gone")
	_, ok = topicInMetadata(readMetadataFile(t, n), "gone")
	require.False(t, ok, "a deleted topic leaves nsqd.dat before shutdown")
}

func TestHTTPChannelCreateIsWrittenToMetadataAtOnce(t *testing.T) {
	n := startDaemon(t, nil)
	adminPost(t, n, "/topic/create?topic=t")
	adminPost(t, n, "/channel/create?topic=t&channel=c")
	_, ok := channelInMetadata(readMetadataFile(t, n), "t", "c")
	require.True(t, ok, "a created channel is in nsqd.dat before shutdown")
}

func TestHTTPChannelDeleteIsWrittenToMetadataAtOnce(t *testing.T) {
	n := startDaemon(t, nil)
	adminPost(t, n, "/topic/create?topic=t")
	adminPost(t, n, "/channel/create?topic=t&channel=c")
	_, ok := channelInMetadata(readMetadataFile(t, n), "t", "c")
	require.True(t, ok, "created channel in nsqd.dat")

	adminPost(t, n, "/channel/delete?topic=t&channel=c")
	md := readMetadataFile(t, n)
	_, ok = topicInMetadata(md, "t")
	require.True(t, ok, "the topic stays")
	_, ok = channelInMetadata(md, "t", "c")
	require.False(t, ok, "a deleted channel leaves nsqd.dat before shutdown")
}
