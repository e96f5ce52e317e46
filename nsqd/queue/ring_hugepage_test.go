package queue

import (
	"testing"
	"unsafe"

	"github.com/nsqgo/nsq/internal/hugepage"
)

// A ring shows each block it allocates to its advisor before writing it,
// and keeps the advisor across Clear.
func TestRingAdvisesItsNewBlocks(t *testing.T) {
	if m := hugepage.Mode(); m != hugepage.ModeMadvise {
		t.Skipf("transparent huge pages are %v here, not madvise", m)
	}
	a := hugepage.New(hugepage.Config{Enabled: true, MinHeapBytes: 1})
	var r Ring[Message]
	r.AdviseFresh(a)
	r.Push(Message{Body: []byte("x")})
	marked, err := hugepage.Marked(r.blocks[0])
	if err != nil {
		t.Fatal(err)
	}
	if !marked || a.Windows() == 0 {
		t.Fatalf("the first block's mapping marked %v, %d windows advised", marked, a.Windows())
	}

	r.Clear()
	before := a.Windows()
	// Enough blocks to leave the window the first one was in.
	batch := make([]Message, 1000)
	for r.Len()*int(unsafe.Sizeof(Message{})) < 2*hugepage.WindowBytes {
		r.Push(batch...)
	}
	if a.Windows() <= before {
		t.Fatalf("a cleared ring advised no new window (%d before, %d after)", before, a.Windows())
	}
	last := r.blocks[len(r.blocks)-1]
	if marked, err := hugepage.Marked(last); err != nil || !marked {
		t.Fatalf("the last block's mapping marked %v (%v)", marked, err)
	}
}
