package hugepage

import (
	"os"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// WindowBytes is the span advised at a time: the Go runtime's heap mapping
// step and alignment (runtime/mheap.go: pallocChunkBytes), see doc.go.
const WindowBytes = 4 << 20

// DefaultMinHeapBytes is the memory the runtime must have mapped before
// windows are advised: below it the daemon's footprint is small and
// rounding parts of it up to 2 MB pages would cost more than the faults.
const DefaultMinHeapBytes = 64 << 20

// BigBytes is the size from which an allocation is big: a message body of
// 64 KB or more, or a full body slab (nsqd/body_alloc.go). A big
// allocation fills 1/32 of a 2 MB page by itself and the runtime gives
// each its own pages, next to the previous ones, so a window that big
// ones land in is filled densely.
const BigBytes = 64 << 10

// DefaultMinHeapBytesBig is the memory the runtime must have mapped
// before a window is advised for a big allocation: little more than an
// idle daemon maps (about 8 MB), so a daemon taking big bodies gets 2 MB
// pages almost from the start instead of after DefaultMinHeapBytes.
const DefaultMinHeapBytesBig = 16 << 20

// recentSlots is the size of the lock-free cache of decided windows.
const recentSlots = 64

// Config configures an Advisor.
type Config struct {
	// Enabled turns advice on (where the kernel supports it).
	Enabled bool
	// MinHeapBytes: windows first seen while the runtime has mapped less
	// than this in all are left alone; 0 means DefaultMinHeapBytes.
	MinHeapBytes uint64
	// MinHeapBytesBig is MinHeapBytes for big allocations (BigBytes):
	// such a window is advised once the runtime has mapped this much,
	// even if a smaller allocation left it alone before; 0 means
	// DefaultMinHeapBytesBig. It is capped at MinHeapBytes.
	MinHeapBytesBig uint64
}

// Advisor marks the windows holding fresh message memory MADV_HUGEPAGE,
// each once. It is safe for concurrent use; the nil *Advisor is inactive.
type Advisor struct {
	active atomic.Bool

	// recent caches windows already decided, direct-mapped by the window
	// number: the number shifted left once, plus 1 when it was advised;
	// 0 is empty (no heap address lies in the first window).
	recent [recentSlots]atomic.Uintptr

	mu         sync.Mutex
	decided    map[uintptr]bool // window number -> advised
	advised    int              // windows advised
	minHeap    uint64
	minHeapBig uint64
	sample     []metrics.Sample

	// Injected by tests; the OS's in production.
	madvise    func(start, length uintptr) error
	heapMapped func() uint64
}

// New returns an Advisor, inactive unless cfg.Enabled and the kernel
// wants huge pages asked for (see Mode).
func New(cfg Config) *Advisor {
	a := newAdvisor(cfg, madviseHuge)
	a.active.Store(cfg.Enabled && Mode() == ModeMadvise && !godebugDisablesTHP(os.Getenv("GODEBUG")))
	return a
}

// godebugDisablesTHP reports whether GODEBUG asks the runtime to keep its
// heap off huge pages (disablethp=1, runtime/mem_linux.go sysMapOS): the
// user's choice then stands for our windows too. The last setting wins,
// as in the runtime.
func godebugDisablesTHP(godebug string) bool {
	disabled := false
	for _, setting := range strings.Split(godebug, ",") {
		if value, ok := strings.CutPrefix(strings.TrimSpace(setting), "disablethp="); ok {
			disabled = value == "1"
		}
	}
	return disabled
}

func newAdvisor(cfg Config, madvise func(start, length uintptr) error) *Advisor {
	a := &Advisor{
		decided:    make(map[uintptr]bool),
		minHeap:    cfg.MinHeapBytes,
		minHeapBig: cfg.MinHeapBytesBig,
		madvise:    madvise,
		sample:     []metrics.Sample{{Name: "/memory/classes/total:bytes"}},
	}
	if a.minHeap == 0 {
		a.minHeap = DefaultMinHeapBytes
	}
	if a.minHeapBig == 0 {
		a.minHeapBig = DefaultMinHeapBytesBig
	}
	// A big allocation never waits for more than a small one would.
	a.minHeapBig = min(a.minHeapBig, a.minHeap)
	a.heapMapped = a.runtimeMapped
	return a
}

// Active reports whether the Advisor advises anything.
func (a *Advisor) Active() bool { return a != nil && a.active.Load() }

// Windows returns how many windows have been advised.
func (a *Advisor) Windows() int {
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.advised
}

// Fresh is called with memory just allocated and not yet written: it
// advises the window holding its first byte unless that window was
// decided before (a big allocation, of BigBytes or more, reconsiders a
// window left alone). An allocation crossing into the next window (only
// big bodies do) is advised there too.
func Fresh[T any](a *Advisor, s []T) {
	if !a.Active() || cap(s) == 0 {
		return
	}
	var zero T
	start := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	a.fresh(start, start+uintptr(cap(s))*unsafe.Sizeof(zero))
}

// fresh decides every window of [start, end), end > start.
func (a *Advisor) fresh(start, end uintptr) {
	big := end-start >= BigBytes
	for w := start / WindowBytes; w <= (end-1)/WindowBytes; w++ {
		a.window(w, big)
	}
}

// window decides window number w: once, or until it is advised when the
// allocation is big.
func (a *Advisor) window(w uintptr, big bool) {
	slot := &a.recent[w%recentSlots]
	switch slot.Load() {
	case w<<1 | 1:
		return
	case w << 1:
		if !big {
			return
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	advised, seen := a.decided[w]
	if !advised && (!seen || big) {
		minHeap := a.minHeap
		if big {
			minHeap = a.minHeapBig
		}
		if a.heapMapped() >= minHeap {
			if err := a.madvise(w*WindowBytes, WindowBytes); err != nil {
				if errUnsupported(err) {
					a.active.Store(false)
				}
			} else {
				a.advised++
				advised = true
			}
		}
		a.decided[w] = advised
	}
	if advised {
		slot.Store(w<<1 | 1)
	} else {
		slot.Store(w << 1)
	}
}

// runtimeMapped is how much memory the Go runtime has mapped; called under
// mu, which guards sample.
func (a *Advisor) runtimeMapped() uint64 {
	metrics.Read(a.sample)
	if a.sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return a.sample[0].Value.Uint64()
}
