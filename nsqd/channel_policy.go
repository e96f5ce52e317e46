package nsqd

import "github.com/nsqgo/nsq/nsqd/queue"

// policy is the channel's effective queue policy: its own settings, then
// its topic's TTL, then the flags (queue.ResolveChannel). It is what the
// channel's queue enforces (attempts limit, TTL, bound, dead letters); one
// atomic load once resolved, so it may be read per message and under the
// channel's lock.
func (c *Channel) policy() queue.Policy { return c.effectivePolicy().Policy }

// effectivePolicy is the policy with where each value comes from.
func (c *Channel) effectivePolicy() queue.Effective {
	if r := c.queuePolicy.resolved.Load(); r != nil {
		return r.Effective
	}
	// Only between the channel's creation and channelCreated, which
	// resolves it with its topic (nsqd.go): the topic's TTL is not known
	// here, and a resolution stored meanwhile is not replaced.
	own := c.queuePolicy.own.Load()
	r := &resolvedPolicy{channelOwn: own}
	r.Effective = queue.ResolveChannel(c.nsqd.policyDefaults(), queue.Settings{}, derefSettings(own))
	c.queuePolicy.resolved.CompareAndSwap(nil, r)
	return r.Effective
}

// resolvePolicy resolves the channel's policy with its topic t and stores
// it (see topic_policy.go for why the loop ends with the latest inputs).
func (c *Channel) resolvePolicy(t *Topic) {
	defaults := c.nsqd.policyDefaults()
	for {
		old := c.queuePolicy.resolved.Load()
		topicOwn := t.queuePolicy.own.Load()
		channelOwn := c.queuePolicy.own.Load()
		r := &resolvedPolicy{topicOwn: topicOwn, channelOwn: channelOwn}
		r.Effective = queue.ResolveChannel(defaults, derefSettings(topicOwn), derefSettings(channelOwn))
		if c.queuePolicy.resolved.CompareAndSwap(old, r) &&
			t.queuePolicy.own.Load() == topicOwn && c.queuePolicy.own.Load() == channelOwn {
			return
		}
	}
}

// settings are the channel's own settings (unset fields inherit).
func (c *Channel) settings() queue.Settings { return c.queuePolicy.settings() }

// updateSettings changes the channel's own settings (t is its topic) and
// re-resolves its policy. It does not write nsqd.dat: the caller does.
func (c *Channel) updateSettings(t *Topic, set queue.Settings, clear []queue.Field) error {
	validate := func(s queue.Settings) error { return s.ValidateChannel(c.topicName) }
	if _, err := c.queuePolicy.update(set, clear, validate); err != nil {
		return err
	}
	c.resolvePolicy(t)
	return nil
}
