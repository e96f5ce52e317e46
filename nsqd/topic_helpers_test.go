package nsqd

import "github.com/nsqgo/nsq/nsqd/queue"

// swapTopicBackend replaces the disk queue behind the topic's held
// messages with swap(disk), for a test that makes it slow or fail. Call it
// while nothing reads or writes the topic's held messages.
func swapTopicBackend(topic *Topic, swap func(queue.Disk) queue.Disk) {
	topic.held.ReplaceBacklog(swap)
}
