package nsqd

// What the topic's bound (topic_bound.go) and GET /topic/peek
// (topic_peek.go) need of the held messages.

// eachInMemory calls fn with each message held in memory, oldest first,
// under h.mu: fn must not call back into h.
func (h *heldMessages) eachInMemory(fn func(m *Message)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.memory.Each(fn)
}

// dropOldestInMemory removes the oldest message held in memory, if any.
func (h *heldMessages) dropOldestInMemory() (Message, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.memory.Len() == 0 {
		return Message{}, false
	}
	var one [1]Message
	h.memory.PopInto(one[:0], 1)
	return one[0], true
}

// diskQueue is the topic's disk backend, nil for an ephemeral topic (or a
// backend of another kind, in tests).
func (h *heldMessages) diskQueue() *diskBackend {
	disk, _ := h.backend.(*diskBackend)
	return disk
}
