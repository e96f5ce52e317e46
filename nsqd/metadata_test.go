package nsqd

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// restartDaemon stops n and starts a new daemon on the same data path.
func restartDaemon(t *testing.T, n *NSQD, configure func(*Options)) *NSQD {
	t.Helper()
	dataPath := n.opts.DataPath
	n.Exit()
	return startDaemon(t, func(o *Options) {
		o.DataPath = dataPath
		if configure != nil {
			configure(o)
		}
	})
}

func TestFreshDataPathGetsEmptyMetadata(t *testing.T) {
	n := startDaemon(t, nil)
	data, err := os.ReadFile(filepath.Join(n.opts.DataPath, metadataFile))
	require.NoError(t, err)
	require.Equal(t, `{"topics":null,"version":"1.3.0"}`, string(data))
}

func TestMetadataRestoresTopicsChannelsAndPausedState(t *testing.T) {
	n := startDaemon(t, nil)
	topic, err := n.GetTopic("orders")
	require.NoError(t, err)
	_, err = topic.GetChannel("billing")
	require.NoError(t, err)
	shipping, err := topic.GetChannel("shipping")
	require.NoError(t, err)
	shipping.Pause()
	_, err = topic.GetChannel("tail#ephemeral")
	require.NoError(t, err)
	paused, err := n.GetTopic("audit")
	require.NoError(t, err)
	paused.Pause()
	_, err = n.GetTopic("scratch#ephemeral")
	require.NoError(t, err)

	n = restartDaemon(t, n, nil)

	names := []string{}
	for _, topic := range n.Topics() {
		names = append(names, topic.Name())
	}
	require.Equal(t, []string{"audit", "orders"}, names, "ephemeral topics are not persisted")
	audit, err := n.GetExistingTopic("audit")
	require.NoError(t, err)
	require.True(t, audit.IsPaused())
	orders, err := n.GetExistingTopic("orders")
	require.NoError(t, err)
	channels := []string{}
	for _, c := range orders.Channels() {
		channels = append(channels, c.Name())
	}
	require.Equal(t, []string{"billing", "shipping"}, channels)
	shipping, err = orders.GetExistingChannel("shipping")
	require.NoError(t, err)
	require.True(t, shipping.IsPaused())
}

func TestMetadataReadsUpstreamFile(t *testing.T) {
	dir := t.TempDir()
	upstream := `{"topics":[{"name":"t2","paused":false,"channels":null},{"name":"t3","paused":true,"channels":[{"name":"c1","paused":true}]},{"name":"bad name","paused":false,"channels":null}],"version":"1.3.0"}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, metadataFile), []byte(upstream), 0o600))
	n := startDaemon(t, func(o *Options) { o.DataPath = dir })
	t3, err := n.GetExistingTopic("t3")
	require.NoError(t, err)
	require.True(t, t3.IsPaused())
	c1, err := t3.GetExistingChannel("c1")
	require.NoError(t, err)
	require.True(t, c1.IsPaused())
	_, err = n.GetExistingTopic("t2")
	require.NoError(t, err)
	require.Len(t, n.Topics(), 2, "invalid names are skipped")
}

func TestCorruptMetadataRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, metadataFile), []byte("{not json"), 0o600))
	opts := NewOptions()
	opts.DataPath = dir
	opts.TCPAddress = "127.0.0.1:0"
	opts.HTTPAddress = "127.0.0.1:0"
	_, err := New(opts)
	require.ErrorContains(t, err, "failed to parse metadata in")
}

func TestSecondDaemonOnSameDataPathRefusesToStart(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no data-path lock on Windows, as upstream has none there (nsqd/datadir_windows.go)")
	}
	n := startDaemon(t, nil)
	opts := NewOptions()
	opts.DataPath = n.opts.DataPath
	opts.TCPAddress = "127.0.0.1:0"
	opts.HTTPAddress = "127.0.0.1:0"
	_, err := New(opts)
	require.ErrorContains(t, err, "possibly in use by another instance of nsqd")
}

func TestMissingDataPathRefusesToStart(t *testing.T) {
	opts := NewOptions()
	opts.DataPath = filepath.Join(t.TempDir(), "missing")
	opts.TCPAddress = "127.0.0.1:0"
	opts.HTTPAddress = "127.0.0.1:0"
	_, err := New(opts)
	require.ErrorContains(t, err, "failed to lock data-path: open")
}
