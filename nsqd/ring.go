package nsqd

// ring is a growable FIFO of values. It is not safe for concurrent use: its
// owner guards it with its own mutex. Storing values rather than pointers
// keeps a queued message free of per-message garbage.
type ring[T any] struct {
	buf  []T
	head int
	size int
}

func (r *ring[T]) Len() int { return r.size }

// Push appends items, growing the buffer by doubling.
func (r *ring[T]) Push(items ...T) {
	if need := r.size + len(items); need > len(r.buf) {
		r.grow(need)
	}
	for _, item := range items {
		r.buf[(r.head+r.size)%len(r.buf)] = item
		r.size++
	}
}

// Front returns the first item; the ring must not be empty.
func (r *ring[T]) Front() *T { return &r.buf[r.head] }

// PopInto moves up to max items from the front into dst.
func (r *ring[T]) PopInto(dst []T, max int) []T {
	var zero T
	for n := 0; n < max && r.size > 0; n++ {
		dst = append(dst, r.buf[r.head])
		r.buf[r.head] = zero // drop references for the GC
		r.head = (r.head + 1) % len(r.buf)
		r.size--
	}
	if r.size == 0 {
		r.head = 0
	}
	return dst
}

// DropFront removes the first item; the ring must not be empty.
func (r *ring[T]) DropFront() {
	var zero T
	r.buf[r.head] = zero
	r.head = (r.head + 1) % len(r.buf)
	r.size--
	if r.size == 0 {
		r.head = 0
	}
}

// Filter keeps, in order, only the items for which keep returns true.
func (r *ring[T]) Filter(keep func(*T) bool) {
	var zero T
	kept := 0
	for i := 0; i < r.size; i++ {
		item := r.buf[(r.head+i)%len(r.buf)]
		if keep(&item) {
			r.buf[(r.head+kept)%len(r.buf)] = item
			kept++
		}
	}
	for i := kept; i < r.size; i++ {
		r.buf[(r.head+i)%len(r.buf)] = zero
	}
	r.size = kept
	if kept == 0 {
		r.head = 0
	}
}

// Clear drops everything and releases the buffer.
func (r *ring[T]) Clear() { *r = ring[T]{} }

// Each calls fn for every item in order.
func (r *ring[T]) Each(fn func(*T)) {
	for i := 0; i < r.size; i++ {
		fn(&r.buf[(r.head+i)%len(r.buf)])
	}
}

func (r *ring[T]) grow(need int) {
	capacity := len(r.buf) * 2
	if capacity < 64 {
		capacity = 64
	}
	for capacity < need {
		capacity *= 2
	}
	grown := make([]T, capacity)
	for i := 0; i < r.size; i++ {
		grown[i] = r.buf[(r.head+i)%len(r.buf)]
	}
	r.buf = grown
	r.head = 0
}
