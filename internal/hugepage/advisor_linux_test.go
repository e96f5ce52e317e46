package hugepage

import (
	"syscall"
	"testing"
	"unsafe"
)

func errEINVALForTest() error { return syscall.EINVAL }

// TestFreshMarksTheHeapWindow checks with the kernel itself: the window
// of a fresh Go allocation gets the hg (MADV_HUGEPAGE) VmFlag and is
// THP-eligible.
func TestFreshMarksTheHeapWindow(t *testing.T) {
	if m := Mode(); m != ModeMadvise {
		t.Skipf("transparent huge pages are %v here, not madvise", m)
	}
	a := New(Config{Enabled: true, MinHeapBytes: 1})
	if !a.Active() {
		t.Fatal("advisor inactive with THP in madvise mode")
	}
	body := make([]byte, 256<<10)
	before, err := Marked(body)
	if err != nil {
		t.Fatal(err)
	}
	Fresh(a, body)
	after, err := Marked(body)
	if err != nil {
		t.Fatal(err)
	}
	if !after {
		t.Fatal("the allocation's mapping is not marked for huge pages")
	}
	if before {
		t.Log("the window was marked already before Fresh")
	}
	if a.Windows() != 1 {
		t.Fatalf("Windows() = %d, want 1", a.Windows())
	}
}

func TestMadviseIgnoresUnmappedParts(t *testing.T) {
	mem, err := syscall.Mmap(-1, 0, 4<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	start := uintptr(unsafe.Pointer(&mem[0]))
	// Unmap the second half: the range is now half mapped.
	if _, _, errno := syscall.Syscall(syscall.SYS_MUNMAP, start+2<<20, 2<<20, 0); errno != 0 {
		t.Fatal(errno)
	}
	defer syscall.Syscall(syscall.SYS_MUNMAP, start, 2<<20, 0)
	err = madviseHuge(start, 4<<20)
	if Mode() == ModeUnavailable {
		return // EINVAL expected: no THP in this kernel
	}
	if err != nil {
		t.Fatalf("madvise over a half-unmapped range: %v", err)
	}
	if marked, err := Marked(mem[:1]); err != nil || !marked {
		t.Fatalf("mapped half not marked (%v)", err)
	}
}
