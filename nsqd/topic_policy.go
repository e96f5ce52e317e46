package nsqd

import (
	"encoding/json"
	"sync/atomic"

	"github.com/nsqgo/nsq/nsqd/queue"
)

// A topic's and a channel's queue policy (issue 12): the object's own
// settings, set over HTTP (nsqd/httpserver/object_config.go) and kept in nsqd.dat
// (metadata.go), and the effective policy resolved from them, the topic's
// and the flags (queue.ResolveTopic, queue.ResolveChannel).
//
// Readers are on the hot path, so the effective policy is resolved once per
// change and read with one atomic load; no lock is involved. A change
// stores the new settings first and then resolves again; a resolution
// that raced with a newer change sees it on its re-check and resolves
// once more, so the last change always wins.

// objectPolicy is the state a Topic and a Channel each hold.
type objectPolicy struct {
	own      atomic.Pointer[queue.Settings] // nil: nothing set on the object
	resolved atomic.Pointer[resolvedPolicy] // nil: not resolved yet
}

// resolvedPolicy is an effective policy and the inputs it came from.
type resolvedPolicy struct {
	queue.Effective
	topicOwn   *queue.Settings // the topic's settings it was resolved with
	channelOwn *queue.Settings // the channel's (nil for a topic's)
}

func (p *objectPolicy) settings() queue.Settings {
	if s := p.own.Load(); s != nil {
		return *s
	}
	return queue.Settings{}
}

// update applies set and clear to the object's own settings, provided the
// result passes validate; concurrent updates each apply in full.
func (p *objectPolicy) update(set queue.Settings, clear []queue.Field, validate func(queue.Settings) error) (queue.Settings, error) {
	for {
		old := p.own.Load()
		var next queue.Settings
		if old != nil {
			next = *old
		}
		next = next.With(set).Without(clear...)
		if err := validate(next); err != nil {
			return queue.Settings{}, err
		}
		stored := &next
		if next.IsZero() {
			stored = nil
		}
		if p.own.CompareAndSwap(old, stored) {
			return next, nil
		}
	}
}

// policyDefaults are the flags' values, validated at New.
func (n *NSQD) policyDefaults() queue.Defaults {
	d, _ := n.opts.policyDefaults()
	return d
}

// policy is the topic's effective queue policy: what its own queue (the
// messages it holds while it has no channel or is paused) enforces. One
// atomic load once resolved.
func (t *Topic) policy() queue.Policy { return t.effectivePolicy().Policy }

// effectivePolicy is the policy with where each value comes from.
func (t *Topic) effectivePolicy() queue.Effective {
	if r := t.queuePolicy.resolved.Load(); r != nil {
		return r.Effective
	}
	return t.resolvePolicy().Effective
}

// resolvePolicy resolves the topic's policy and stores it.
func (t *Topic) resolvePolicy() *resolvedPolicy {
	for {
		old := t.queuePolicy.resolved.Load()
		own := t.queuePolicy.own.Load()
		r := &resolvedPolicy{topicOwn: own}
		r.Effective = queue.ResolveTopic(t.nsqd.policyDefaults(), derefSettings(own))
		if t.queuePolicy.resolved.CompareAndSwap(old, r) && t.queuePolicy.own.Load() == own {
			return r
		}
	}
}

// settings are the topic's own settings (unset fields inherit).
func (t *Topic) settings() queue.Settings { return t.queuePolicy.settings() }

// updateSettings changes the topic's own settings and re-resolves its
// policy and its channels' (which take its TTL). It does not write
// nsqd.dat: the caller does, once.
func (t *Topic) updateSettings(set queue.Settings, clear []queue.Field) error {
	if _, err := t.queuePolicy.update(set, clear, queue.Settings.ValidateTopic); err != nil {
		return err
	}
	t.resolvePolicy()
	for _, c := range t.Channels() {
		c.resolvePolicy(t)
	}
	return nil
}

func derefSettings(s *queue.Settings) queue.Settings {
	if s == nil {
		return queue.Settings{}
	}
	return *s
}

// settingsMetadata is the nsqd.dat form of an object's own settings: nil
// (no key at all) when it has none.
func settingsMetadata(s queue.Settings) json.RawMessage {
	if s.IsZero() {
		return nil
	}
	data, err := json.Marshal(s)
	if err != nil {
		return nil // only an out-of-range overflow, which validation refuses
	}
	return data
}

// restoreTopicSettings applies a topic's settings from nsqd.dat. Settings
// that do not parse or validate are logged and dropped; the topic is kept.
func (n *NSQD) restoreTopicSettings(t *Topic, raw json.RawMessage) {
	if len(raw) == 0 {
		return
	}
	var s queue.Settings
	err := json.Unmarshal(raw, &s)
	if err == nil {
		err = t.updateSettings(s, nil)
	}
	if err != nil {
		n.logf(warnLevel, "TOPIC(%s): ignoring its settings %s in %s: %s", t.name, raw, metadataFile, err)
	}
}

// restoreChannelSettings is restoreTopicSettings for a channel of t.
func (n *NSQD) restoreChannelSettings(t *Topic, c *Channel, raw json.RawMessage) {
	if len(raw) == 0 {
		return
	}
	var s queue.Settings
	err := json.Unmarshal(raw, &s)
	if err == nil {
		err = c.updateSettings(t, s, nil)
	}
	if err != nil {
		n.logf(warnLevel, "TOPIC(%s): ignoring channel(%s)'s settings %s in %s: %s", t.name, c.name, raw, metadataFile, err)
	}
}
