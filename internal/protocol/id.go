package protocol

import (
	"sync"
	"time"
)

// idEpochMillis is upstream's custom epoch (in units of 2^20 ns) for IDs.
const idEpochMillis = 1288834974288

// IDGenerator makes unique, roughly time-ordered message IDs in upstream's
// layout: time units << 22 | node << 12 | sequence, hex-encoded. When more
// than 4096 IDs are asked for in one time unit the counter simply runs on
// into the time bits, so IDs stay unique without ever waiting for the clock.
type IDGenerator struct {
	mu   sync.Mutex
	node uint64
	last uint64
}

// NewIDGenerator returns a generator for a node ID in [0, 1024).
func NewIDGenerator(node int64) *IDGenerator {
	return &IDGenerator{node: uint64(node) & 0x3ff}
}

// Reserve claims n consecutive ID values with one clock read and one lock,
// which is what makes batch publishes cheap; FormatID renders each.
func (g *IDGenerator) Reserve(n int, now time.Time) uint64 {
	base := ((uint64(now.UnixNano())>>20)-idEpochMillis)<<22 | g.node<<12
	g.mu.Lock()
	next := g.last + 1
	if base > next {
		next = base
	}
	g.last = next + uint64(n) - 1
	g.mu.Unlock()
	return next
}

// FormatID writes v as 16 lower-case hex characters.
func FormatID(v uint64, id *MessageID) {
	const digits = "0123456789abcdef"
	for i := MsgIDLength - 1; i >= 0; i-- {
		id[i] = digits[v&0xf]
		v >>= 4
	}
}

// Fill writes a fresh ID into each element of ids.
func (g *IDGenerator) Fill(ids []MessageID, now time.Time) {
	first := g.Reserve(len(ids), now)
	for i := range ids {
		FormatID(first+uint64(i), &ids[i])
	}
}
