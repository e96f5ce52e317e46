package nsqd

import (
	"fmt"

	"github.com/nsqgo/nsq/nsqd/queue"
)

// defaultOverflow refuses publishes to a full queue rather than drop: a
// bound set without a choice must not lose messages.
const defaultOverflow = "reject-new"

// defaultMaxDeadDepth bounds each channel's dead set. It is used only once
// a channel has an attempts limit, a TTL or drop-oldest, and is large
// enough to hold a real incident's poison messages for inspection and
// redrive, yet keeps a forgotten channel from filling the disk.
const defaultMaxDeadDepth = 100000

// validatePolicyOptions checks the queue policy flags at New.
func validatePolicyOptions(opts *Options) error {
	_, err := opts.policyDefaults()
	return err
}

// policyDefaults are the flags as the queue package takes them.
func (o *Options) policyDefaults() (queue.Defaults, error) {
	if o.MaxAttempts < 0 || o.MaxAttempts > 65535 {
		return queue.Defaults{}, fmt.Errorf("--max-attempts must be [0,65535] (got %d)", o.MaxAttempts)
	}
	name := o.Overflow
	if name == "" { // an Options built by hand rather than by NewOptions
		name = defaultOverflow
	}
	overflow, err := queue.ParseOverflow(name)
	if err != nil {
		return queue.Defaults{}, fmt.Errorf("--overflow: %w", err)
	}
	d := queue.Defaults{
		MaxAttempts:     uint16(o.MaxAttempts),
		MsgTTL:          o.MsgTTL,
		MaxChannelDepth: o.MaxChannelDepth,
		MaxChannelBytes: o.MaxChannelBytes,
		Overflow:        overflow,
		MaxDeadDepth:    o.MaxDeadDepth,
	}
	return d, d.Validate()
}
