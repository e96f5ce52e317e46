package nsqd

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// "." and ".." are valid NSQ names (upstream accepts and stores them). Their
// queues are files named as upstream names them, inside --data-path, and
// survive a restart.
func TestDotTopicNamesArePublishedStoredAndRestored(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "data")
	require.NoError(t, os.Mkdir(dir, 0o700))
	n := startDaemon(t, func(o *Options) { o.DataPath = dir; o.MemQueueSize = 0 })
	producer := dialV2(t, n)
	producer.pub(".", "one dot")
	producer.pub("..", "two dots")
	status, body := httpPost(t, n, "/pub?topic=..", "over http")
	requireOK(t, "OK", status, body)
	_, err := n.GetTopic(".")
	require.NoError(t, err)

	n = restartDaemon(t, n, func(o *Options) { o.MemQueueSize = 0 })
	require.Equal(t, []string{"one dot"}, drainBodies(t, n, ".", ".", 1))
	require.ElementsMatch(t, []string{"two dots", "over http"}, drainBodies(t, n, "..", "..", 2))

	files, err := os.ReadDir(dir)
	require.NoError(t, err)
	names := []string{}
	for _, f := range files {
		names = append(names, f.Name())
	}
	require.Contains(t, names, "..diskqueue.meta.dat", "topic . as upstream names it")
	require.Contains(t, names, "...diskqueue.meta.dat", "topic .. as upstream names it")
	require.Contains(t, names, ".:..diskqueue.meta.dat", "channel .:. as upstream names it")
	outside, err := os.ReadDir(parent)
	require.NoError(t, err)
	require.Len(t, outside, 1, "nothing is written outside --data-path")
}

// Upstream's files for topic "." are adopted: its queued messages are
// delivered.
func TestUpstreamDotTopicFilesAreAdopted(t *testing.T) {
	dir := t.TempDir()
	md := `{"topics":[{"name":".","paused":false,"channels":[{"name":"..","paused":false}]}],"version":"1.3.0"}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, metadataFile), []byte(md), 0o600))
	queued := numbered("queued", 3)
	writeUpstreamQueue(t, dir, ".:..", 1000, queued)
	n := startDaemon(t, func(o *Options) { o.DataPath = dir })
	require.ElementsMatch(t, queued, drainBodies(t, n, ".", "..", len(queued)))
}

// A topic of nsqd.dat that cannot be opened is logged and skipped: the
// daemon starts and serves the others.
func TestUnopenableTopicInMetadataIsSkipped(t *testing.T) {
	dir := t.TempDir()
	md := `{"topics":[{"name":"broken","paused":false,"channels":null},{"name":"fine","paused":false,"channels":[{"name":"c","paused":false}]}],"version":"1.3.0"}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, metadataFile), []byte(md), 0o600))
	// A directory where the topic's metadata file should be: it cannot be
	// read, so the topic's queue cannot open.
	require.NoError(t, os.Mkdir(filepath.Join(dir, "broken.diskqueue.meta.dat"), 0o700))
	logs := &lockedBuffer{}
	n := startDaemon(t, func(o *Options) { o.DataPath = dir; o.Logger = logs })
	_, err := n.GetExistingTopic("fine")
	require.NoError(t, err)
	_, err = n.GetExistingTopic("broken")
	require.Error(t, err)
	publish(t, n, "fine", "served")
	require.Equal(t, []string{"served"}, drainBodies(t, n, "fine", "c", 1))
	require.Contains(t, logs.String(), "skipping topic broken from nsqd.dat")
}
