package nsqd

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/nsqgo/nsq/internal/protocol"
)

// metadataFile is upstream's name for the topic/channel list.
const metadataFile = "nsqd.dat"

// metadata is nsqd.dat, in upstream's JSON shape (null lists included).
type metadata struct {
	Topics  []topicMetadata `json:"topics"`
	Version string          `json:"version"`
}

type topicMetadata struct {
	Name     string            `json:"name"`
	Paused   bool              `json:"paused"`
	Channels []channelMetadata `json:"channels"`
	// Config (ours) is the object's own queue settings (queue.Settings,
	// topic_policy.go), absent when it has none, so a daemon with no
	// settings writes upstream's bytes. Upstream's loader ignores keys it
	// does not know. Raw, so that a bad value costs only the settings.
	Config json.RawMessage `json:"config,omitempty"`
}

type channelMetadata struct {
	Name   string          `json:"name"`
	Paused bool            `json:"paused"`
	Config json.RawMessage `json:"config,omitempty"`
}

func (n *NSQD) metadataPath() string { return filepath.Join(n.dataPath(), metadataFile) }

// dataPath is --data-path, or the working directory when it is empty.
func (n *NSQD) dataPath() string {
	if n.opts.DataPath == "" {
		return "."
	}
	return n.opts.DataPath
}

// snapshotMetadata lists the durable topics and channels with their state.
func (n *NSQD) snapshotMetadata() metadata {
	md := metadata{Version: Version}
	for _, t := range n.Topics() {
		if t.ephemeral {
			continue
		}
		tm := topicMetadata{Name: t.name, Paused: t.IsPaused(), Config: settingsMetadata(t.settings())}
		for _, c := range t.Channels() {
			if c.ephemeral {
				continue
			}
			tm.Channels = append(tm.Channels, channelMetadata{Name: c.name, Paused: c.IsPaused(), Config: settingsMetadata(c.settings())})
		}
		md.Topics = append(md.Topics, tm)
	}
	return md
}

// saveMetadata writes nsqd.dat atomically: temp file, fsync, rename.
// Saves are serialised so that an older snapshot never overwrites a newer.
func (n *NSQD) saveMetadata() error {
	n.metadataMu.Lock()
	defer n.metadataMu.Unlock()
	data, err := json.Marshal(n.snapshotMetadata())
	if err != nil {
		return fmt.Errorf("encode metadata: %w", err)
	}
	path := n.metadataPath()
	tmp := fmt.Sprintf("%s.%d.tmp", path, rand.Int())
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write metadata: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write metadata %s: %w", path, err)
	}
	return nil
}

// loadMetadata recreates the topics and channels of nsqd.dat with their
// paused state. A missing file is a fresh start; unparsable JSON is fatal;
// a topic or channel that cannot be opened is logged and skipped.
func (n *NSQD) loadMetadata() error {
	path := n.metadataPath()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to load metadata - %w", err)
	}
	var md metadata
	if err := json.Unmarshal(data, &md); err != nil {
		return fmt.Errorf("failed to load metadata - failed to parse metadata in %s - %w", path, err)
	}
	for _, tm := range md.Topics {
		if !protocol.ValidName(tm.Name) {
			n.logf(warnLevel, "skipping creation of invalid topic %s", tm.Name)
			continue
		}
		// One topic that cannot be restored (its files unreadable, say)
		// must not keep the others from being served: it is logged and
		// skipped, and its files are left as they are.
		t, err := n.GetTopic(tm.Name)
		if err != nil {
			n.logf(errorLevel, "skipping topic %s from %s: %s", tm.Name, metadataFile, err)
			continue
		}
		if tm.Paused {
			t.Pause()
		}
		n.restoreTopicSettings(t, tm.Config)
		for _, cm := range tm.Channels {
			if !protocol.ValidName(cm.Name) {
				n.logf(warnLevel, "skipping creation of invalid channel %s", cm.Name)
				continue
			}
			c, err := t.GetChannel(cm.Name)
			if err != nil {
				n.logf(errorLevel, "skipping channel %s:%s from %s: %s", tm.Name, cm.Name, metadataFile, err)
				continue
			}
			if cm.Paused {
				c.Pause()
			}
			n.restoreChannelSettings(t, c, cm.Config)
		}
	}
	return nil
}
