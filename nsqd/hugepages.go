package nsqd

import "github.com/nsqgo/nsq/internal/hugepage"

// newHugePageAdvisor builds the advisor that the places allocating message
// memory (body_alloc.go's slabs and big bodies, the queues' ring blocks)
// show fresh allocations to, so that a heap growing to hold messages is
// faulted in 2 MB pages (internal/hugepage; README, "Huge pages:
// --huge-pages"). It is inactive with --huge-pages=false and wherever the
// kernel does not hand out huge pages on request.
func newHugePageAdvisor(opts *Options) *hugepage.Advisor {
	return hugepage.New(hugepage.Config{Enabled: opts.HugePages})
}
