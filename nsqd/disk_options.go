package nsqd

import (
	"github.com/nsqgo/nsq/internal/diskqueue"
	"github.com/nsqgo/nsq/internal/protocol"
)

// diskQueueOptions are the disk queue settings every topic and channel
// shares (their queues are nsqd/queue's Held and Queue); the name is each
// queue's own, "<topic>" for a topic and "<topic>:<channel>" for a
// channel, as upstream names them.
func (n *NSQD) diskQueueOptions() diskqueue.Options {
	return diskqueue.Options{
		Dir:             n.dataPath(),
		MaxBytesPerFile: n.opts.MaxBytesPerFile,
		MinMsgSize:      protocol.MessageHeaderLength,
		MaxMsgSize:      int32(n.opts.MaxMsgSize) + protocol.MessageHeaderLength + diskRecordHeader,
		SyncEvery:       n.opts.SyncEvery,
		SyncTimeout:     n.opts.SyncTimeout,
		SyncObserver:    n.metrics.fsync.observe,
		Logf: func(format string, args ...any) {
			n.logf(warnLevel, format, args...)
		},
	}
}
