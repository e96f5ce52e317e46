package queue

import (
	"sync"
	"unsafe"

	"github.com/nsqgo/nsq/internal/hugepage"
)

// Records keeps copies of messages at stable addresses, so that queues can
// hold pointers to them (readyRing, ready.go) instead of a 72-byte copy
// each. A topic copies every published batch into its Records once and
// each of its channels queues pointers to the same copies: fanning a
// message out to n channels costs one record and n pointers, not n
// records. A record is never written again once handed out, and lives as
// long as any queue points into its block.
//
// Copies are carved from blocks sized for several batches of the size
// being copied, so a batch costs no allocation of its own (a PUB of one
// message neither) and the unused tail of a block abandoned for a batch
// that did not fit is under an eighth of it. A block is kept by any one of
// its records, so a queue holding one batch of each block keeps at most
// eight times the records it holds (queues copy the parts of batches they
// keep only in part, queue.go's enqueueFrom). Not safe for concurrent use;
// SharedRecords is.
type Records struct {
	free  []Message // the current block's unused part
	fresh *hugepage.Advisor
}

const (
	// recordBlockMinBytes and recordBlockMaxBytes bound a block: at least
	// a ring block's worth, at most what eight batches need up to 1 MB.
	recordBlockMinBytes = 16 << 10
	recordBlockMaxBytes = 1 << 20
	recordBlockBatches  = 8
	recordBytes         = int(unsafe.Sizeof(Message{}))
)

// AdviseFresh makes new blocks be shown to a before they are written
// (internal/hugepage).
func (r *Records) AdviseFresh(a *hugepage.Advisor) { r.fresh = a }

// Copy returns copies of msgs, in order and contiguous, that stay where
// they are until nothing refers to them.
func (r *Records) Copy(msgs []Message) []Message {
	n := len(msgs)
	if n == 0 {
		return nil
	}
	if n > len(r.free) {
		blockLen := max(recordBlockMinBytes/recordBytes, min(recordBlockBatches*n, recordBlockMaxBytes/recordBytes))
		if n > blockLen {
			// A batch bigger than a block gets a block of its own.
			blockLen = n
		}
		block := make([]Message, blockLen)
		hugepage.Fresh(r.fresh, block)
		if blockLen == n {
			copy(block, msgs)
			return block
		}
		r.free = block
	}
	out := r.free[:n:n]
	copy(out, msgs)
	r.free = r.free[n:]
	return out
}

// SharedRecords is Records for concurrent callers (a topic's publishers,
// which fan out under the topic's read lock).
type SharedRecords struct {
	mu      sync.Mutex
	records Records
}

// AdviseFresh is Records.AdviseFresh; call it before any Copy.
func (s *SharedRecords) AdviseFresh(a *hugepage.Advisor) { s.records.AdviseFresh(a) }

// Copy is Records.Copy.
func (s *SharedRecords) Copy(msgs []Message) []Message {
	s.mu.Lock()
	out := s.records.Copy(msgs)
	s.mu.Unlock()
	return out
}
