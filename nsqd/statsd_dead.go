package nsqd

import "github.com/nsqgo/nsq/nsqd/metrics/statsd"

// statsdDead is a channel's dead-path figures (channel_dead.go) for the
// statsd push; nil for a channel whose dead path is off (DeadCount unset),
// so that with every rule off the packets are upstream's.
func statsdDead(d DeadStats) *statsd.Dead {
	if d.DeadCount == nil {
		return nil
	}
	return &statsd.Dead{
		Count:               *d.DeadCount,
		LetteredMaxAttempts: d.DeadLetteredMaxAttempts,
		LetteredExpired:     d.DeadLetteredExpired,
		LetteredOverflow:    d.DeadLetteredOverflow,
		Expired:             d.ExpiredCount,
		Dropped:             d.DeadDroppedCount,
	}
}
