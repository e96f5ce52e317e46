package hugepage

import (
	"errors"
	"sync"
	"testing"
	"unsafe"
)

// recorder is a fake madvise that records the ranges it was given.
type recorder struct {
	mu     sync.Mutex
	ranges [][2]uintptr
	err    error
}

func (r *recorder) madvise(start, length uintptr) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ranges = append(r.ranges, [2]uintptr{start, length})
	return r.err
}

func (r *recorder) calls() [][2]uintptr {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][2]uintptr(nil), r.ranges...)
}

// fakeAdvisor is an active advisor with a fake madvise and heap size.
func fakeAdvisor(heap *uint64) (*Advisor, *recorder) {
	rec := &recorder{}
	a := newAdvisor(Config{Enabled: true, MinHeapBytes: 64 << 20}, rec.madvise)
	a.heapMapped = func() uint64 { return *heap }
	a.active.Store(true)
	return a, rec
}

// freshAt is Fresh for n bytes at addr (addresses made up by the test).
func freshAt(a *Advisor, addr uintptr, n int) {
	if a.Active() {
		a.fresh(addr, addr+uintptr(n))
	}
}

func TestFreshAdvisesEachWindowOnce(t *testing.T) {
	heap := uint64(1 << 30)
	a, rec := fakeAdvisor(&heap)
	base := uintptr(0xc000000000)
	for i := 0; i < 100; i++ {
		freshAt(a, base+uintptr(i)*(64<<10), 64<<10) // 100 slabs: 6.25 MB, two windows
	}
	want := [][2]uintptr{{base, WindowBytes}, {base + WindowBytes, WindowBytes}}
	if got := rec.calls(); !equal(got, want) {
		t.Fatalf("madvise calls %x, want %x", got, want)
	}
	// Back in the first window after many others evicted it from the cache.
	for w := uintptr(2); w < 2+2*recentSlots; w++ {
		freshAt(a, base+w*WindowBytes, 16<<10)
	}
	freshAt(a, base+100, 100)
	if got := len(rec.calls()); got != 2+2*recentSlots {
		t.Fatalf("%d madvise calls, want %d (one per window)", got, 2+2*recentSlots)
	}
	if a.Windows() != 2+2*recentSlots {
		t.Fatalf("Windows() = %d", a.Windows())
	}
}

func TestFreshTakesTheSlicesWindows(t *testing.T) {
	heap := uint64(1 << 30)
	a, rec := fakeAdvisor(&heap)
	blocks := make([]struct{ a, b, c uint64 }, 3000) // 72,000 bytes
	Fresh(a, blocks[:0])                             // the capacity counts
	start := uintptr(unsafe.Pointer(&blocks[0]))
	end := start + 72000
	var want [][2]uintptr
	for w := start / WindowBytes; w <= (end-1)/WindowBytes; w++ {
		want = append(want, [2]uintptr{w * WindowBytes, WindowBytes})
	}
	if got := rec.calls(); !equal(got, want) {
		t.Fatalf("madvise calls %x for a slice at %#x-%#x, want %x", got, start, end, want)
	}
}

func TestFreshAdvisesEveryWindowABodySpans(t *testing.T) {
	heap := uint64(1 << 30)
	a, rec := fakeAdvisor(&heap)
	start := uintptr(0xc000000000) + WindowBytes - 4096
	freshAt(a, start, 2*WindowBytes) // ends inside the third window
	want := [][2]uintptr{
		{0xc000000000, WindowBytes},
		{0xc000000000 + WindowBytes, WindowBytes},
		{0xc000000000 + 2*WindowBytes, WindowBytes},
	}
	if got := rec.calls(); !equal(got, want) {
		t.Fatalf("madvise calls %x, want %x", got, want)
	}
}

func TestFreshLeavesWindowsSeenWhileTheHeapIsSmall(t *testing.T) {
	heap := uint64(10 << 20)
	a, rec := fakeAdvisor(&heap)
	small := uintptr(0xc000000000)
	freshAt(a, small, 32<<10)
	if got := rec.calls(); len(got) != 0 {
		t.Fatalf("advised %x with a 10 MB heap", got)
	}
	heap = 100 << 20
	freshAt(a, small+(32<<10), 32<<10) // same window: decided already
	big := small + 20*WindowBytes
	freshAt(a, big, 32<<10)
	want := [][2]uintptr{{big, WindowBytes}}
	if got := rec.calls(); !equal(got, want) {
		t.Fatalf("madvise calls %x, want %x", got, want)
	}
}

// A big allocation (a 64 KB body, a full slab) is advised from a smaller
// heap than the rest, and reconsiders a window that a small allocation
// left alone; each window is still advised once.
func TestBigAllocationsAreAdvisedFromASmallerHeap(t *testing.T) {
	heap := uint64(10 << 20) // under both thresholds
	a, rec := fakeAdvisor(&heap)
	base := uintptr(0xc000000000)
	freshAt(a, base, BigBytes)
	freshAt(a, base+WindowBytes, 16<<10)
	if got := rec.calls(); len(got) != 0 {
		t.Fatalf("advised %x with a 10 MB heap", got)
	}

	heap = DefaultMinHeapBytesBig                 // past the big threshold, under the other
	freshAt(a, base+WindowBytes+(16<<10), 16<<10) // small, decided: left alone
	freshAt(a, base+2*WindowBytes, BigBytes-1)    // small, new window: left alone
	if got := rec.calls(); len(got) != 0 {
		t.Fatalf("advised %x for small allocations under %d bytes mapped", got, DefaultMinHeapBytes)
	}
	freshAt(a, base+(64<<10), BigBytes)          // big: its window is reconsidered
	freshAt(a, base+WindowBytes+(32<<10), 1<<20) // likewise
	freshAt(a, base+3*WindowBytes, BigBytes)     // a new window
	freshAt(a, base+2*WindowBytes+4096, 16<<10)  // small: still decided
	want := [][2]uintptr{{base, WindowBytes}, {base + WindowBytes, WindowBytes}, {base + 3*WindowBytes, WindowBytes}}
	if got := rec.calls(); !equal(got, want) {
		t.Fatalf("madvise calls %x, want %x", got, want)
	}

	// Advised windows are not advised again, whatever comes.
	for i := 0; i < 10; i++ {
		freshAt(a, base+uintptr(i)*(64<<10), BigBytes)
		freshAt(a, base+WindowBytes+uintptr(i)*4096, 4096)
	}
	if got := rec.calls(); !equal(got, want) {
		t.Fatalf("madvise calls %x after repeats, want %x", got, want)
	}
	if a.Windows() != 3 {
		t.Fatalf("Windows() = %d, want 3", a.Windows())
	}
}

func TestInactiveAdvisorsDoNothing(t *testing.T) {
	var nilAdvisor *Advisor
	Fresh(nilAdvisor, make([]byte, 10))
	if nilAdvisor.Active() || nilAdvisor.Windows() != 0 {
		t.Fatal("a nil advisor is active")
	}
	if New(Config{Enabled: false}).Active() {
		t.Fatal("a disabled advisor is active")
	}

	rec := &recorder{}
	a := newAdvisor(Config{Enabled: false}, rec.madvise) // never activated
	a.heapMapped = func() uint64 { return 1 << 40 }
	Fresh(a, make([]byte, 64<<10))
	if got := rec.calls(); len(got) != 0 {
		t.Fatalf("a disabled advisor called madvise: %x", got)
	}
	Fresh(New(Config{Enabled: true}), []byte{}) // nothing allocated: nothing to do
}

func TestAdvisorTurnsItselfOffWhenTheKernelRefuses(t *testing.T) {
	heap := uint64(1 << 30)
	a, rec := fakeAdvisor(&heap)
	rec.err = errEINVALForTest()
	freshAt(a, 0xc000000000, 64<<10)
	if a.Active() {
		t.Fatal("still active after EINVAL")
	}
	freshAt(a, 0xc000000000+WindowBytes, 64<<10)
	if got := len(rec.calls()); got != 1 {
		t.Fatalf("%d madvise calls after EINVAL, want 1", got)
	}
	if a.Windows() != 0 {
		t.Fatalf("Windows() = %d after a refusal", a.Windows())
	}

	// Any other error skips the window but keeps the advisor on.
	b, rec2 := fakeAdvisor(&heap)
	rec2.err = errors.New("EAGAIN-like")
	freshAt(b, 0xc000000000, 64<<10)
	if !b.Active() || b.Windows() != 0 {
		t.Fatalf("active %v windows %d after a passing error", b.Active(), b.Windows())
	}
}

func TestFreshConcurrently(t *testing.T) {
	heap := uint64(1 << 30)
	a, rec := fakeAdvisor(&heap)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				freshAt(a, 0xc000000000+uintptr(i%40)*WindowBytes+uintptr(g)*4096, 4096)
			}
		}()
	}
	wg.Wait()
	if got := len(rec.calls()); got != 40 {
		t.Fatalf("%d madvise calls for 40 windows", got)
	}
}

func TestGodebugDisablethpTurnsAdviceOff(t *testing.T) {
	for godebug, want := range map[string]bool{
		"":                            false,
		"disablethp=1":                true,
		"madvdontneed=1,disablethp=1": true,
		"disablethp=1,disablethp=0":   false,
		"disablethp=0":                false,
		"gctrace=1, disablethp=1":     true,
		"notdisablethp=1,gctrace=1":   false,
	} {
		if got := godebugDisablesTHP(godebug); got != want {
			t.Errorf("godebugDisablesTHP(%q) = %v, want %v", godebug, got, want)
		}
	}
	t.Setenv("GODEBUG", "disablethp=1")
	if New(Config{Enabled: true}).Active() {
		t.Fatal("active with GODEBUG=disablethp=1")
	}
}

func TestParseMode(t *testing.T) {
	for content, want := range map[string]THPMode{
		"always [madvise] never\n": ModeMadvise,
		"[always] madvise never\n": ModeAlways,
		"always madvise [never]\n": ModeNever,
		"":                         ModeUnavailable,
		"always madvise never":     ModeUnavailable,
	} {
		if got, ok := parseMode(content); got != want || !ok {
			t.Errorf("parseMode(%q) = %v, %v; want %v", content, got, ok, want)
		}
	}
	if _, ok := parseMode("always [inherit] madvise never\n"); ok {
		t.Error("inherit is not a mode of its own")
	}
}

func equal(a, b [][2]uintptr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
