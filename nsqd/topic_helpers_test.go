package nsqd

// swapTopicBackend replaces the topic's backend with swap(backend), for a
// test that stands a failing or slow disk in for the real one. The topic
// must be idle: no drain running and no publisher writing.
func swapTopicBackend(topic *Topic, swap func(BackendQueue) BackendQueue) {
	topic.mu.Lock()
	defer topic.mu.Unlock()
	topic.held.writeMu.Lock()
	defer topic.held.writeMu.Unlock()
	topic.held.backend = swap(topic.held.backend)
}
