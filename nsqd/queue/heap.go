package queue

import (
	"cmp"
	"slices"
)

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
	s.down(0)
	*h = s
	return top
}

// Count is how many messages match.
func (h deferredHeap) Count(match func(*Message) bool) int {
	count := 0
	for i := range h {
		if match(&h[i]) {
			count++
		}
	}
	return count
}

// TakeIf moves every message for which match holds into dst and restores
// the heap order of the rest.
func (h *deferredHeap) TakeIf(match func(*Message) bool, dst []Message) []Message {
	s := *h
	kept := 0
	for i := range s {
		if match(&s[i]) {
			dst = append(dst, s[i])
			continue
		}
		s[kept] = s[i]
		kept++
	}
	clear(s[kept:])
	s = s[:kept]
	for i := len(s)/2 - 1; i >= 0; i-- {
		s.down(i)
	}
	*h = s
	return dst
}

// down sifts element i toward the leaves until its children are later.
func (h deferredHeap) down(i int) {
	for {
		smallest, left, right := i, 2*i+1, 2*i+2
		if left < len(h) && h[left].DeliverAt < h[smallest].DeliverAt {
			smallest = left
		}
		if right < len(h) && h[right].DeliverAt < h[smallest].DeliverAt {
			smallest = right
		}
		if smallest == i {
			return
		}
		h[i], h[smallest] = h[smallest], h[i]
		i = smallest
	}
}

// Earliest appends up to n messages in DeliverAt order to dst without
// removing them (a copy of the heap is sorted: Peek is rare).
func (h deferredHeap) Earliest(dst []Message, n int) []Message {
	sorted := slices.Clone(h)
	slices.SortStableFunc(sorted, func(a, b Message) int { return cmp.Compare(a.DeliverAt, b.DeliverAt) })
	return append(dst, sorted[:min(n, len(sorted))]...)
}
