package nsqd

// deferredHeap is a min-heap of messages ordered by DeliverAt. It is
// hand-rolled on a value slice because container/heap boxes every pushed
// value into an interface, which would allocate per deferred message.
type deferredHeap []Message

func (h deferredHeap) Len() int { return len(h) }

// Next returns the earliest DeliverAt, or 0 when empty.
func (h deferredHeap) Next() int64 {
	if len(h) == 0 {
		return 0
	}
	return h[0].DeliverAt
}

func (h *deferredHeap) Push(m Message) {
	*h = append(*h, m)
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if s[parent].DeliverAt <= s[i].DeliverAt {
			break
		}
		s[parent], s[i] = s[i], s[parent]
		i = parent
	}
}

// PopDue moves every message due at or before now into dst.
func (h *deferredHeap) PopDue(now int64, dst []Message) []Message {
	for len(*h) > 0 && (*h)[0].DeliverAt <= now {
		dst = append(dst, h.pop())
	}
	return dst
}

func (h *deferredHeap) pop() Message {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s[last] = Message{}
	s = s[:last]
	for i := 0; ; {
		smallest, left, right := i, 2*i+1, 2*i+2
		if left < len(s) && s[left].DeliverAt < s[smallest].DeliverAt {
			smallest = left
		}
		if right < len(s) && s[right].DeliverAt < s[smallest].DeliverAt {
			smallest = right
		}
		if smallest == i {
			break
		}
		s[i], s[smallest] = s[smallest], s[i]
		i = smallest
	}
	*h = s
	return top
}
