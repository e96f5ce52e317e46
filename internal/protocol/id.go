package protocol

import (
	"encoding/hex"
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

// Fill writes a fresh ID into each element of ids with one clock read and one
// lock, which is what makes batch publishes cheap.
func (g *IDGenerator) Fill(ids []MessageID, now time.Time) {
	base := ((uint64(now.UnixNano())>>20)-idEpochMillis)<<22 | g.node<<12
	g.mu.Lock()
	next := g.last + 1
	if base > next {
		next = base
	}
	g.last = next + uint64(len(ids)) - 1
	g.mu.Unlock()
	var raw [8]byte
	for i := range ids {
		v := next + uint64(i)
		for b := 7; b >= 0; b-- {
			raw[b] = byte(v)
			v >>= 8
		}
		hex.Encode(ids[i][:], raw[:])
	}
}
