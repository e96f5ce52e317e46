package nsqd

import "github.com/nsqgo/nsq/nsqd/queue"

// Message is one published message as a topic or channel holds it
// (nsqd/queue/message.go). The disk bookkeeping of a channel's copy is the
// queue's own.
type Message = queue.Message

// diskRecordHeader is the part of a disk record before upstream's payload.
const diskRecordHeader = queue.RecordHeader
