package queue

import (
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
	"unsafe"
)

// resident reports, page by page, whether the pages holding s are mapped
// (mincore). A page read but never written counts too (the zero page).
func resident[T any](t *testing.T, s []T) []bool {
	t.Helper()
	var zero T
	page := uintptr(syscall.Getpagesize())
	start := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	end := start + uintptr(cap(s))*unsafe.Sizeof(zero)
	first := start &^ (page - 1)
	vec := make([]byte, (end-first+page-1)/page)
	if _, _, errno := syscall.Syscall(syscall.SYS_MINCORE, first, end-first, uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	out := make([]bool, len(vec))
	for i, v := range vec {
		out[i] = v&1 != 0
	}
	return out
}

// mapped returns n zero values of T in fresh anonymous memory outside the
// Go heap, at offset bytes into it (no page of it touched yet), and the
// function that unmaps it.
func mapped[T any](t *testing.T, n int, offset uintptr) ([]T, func()) {
	t.Helper()
	var zero T
	size := int(offset) + n*int(unsafe.Sizeof(zero))
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	s := unsafe.Slice((*T)(unsafe.Pointer(&mem[offset])), n)
	return s, func() { syscall.Munmap(mem) }
}

// prefault writes every page of a block, the first and the last partly
// covered ones included, and leaves it all zero.
func TestPrefaultTouchesEveryPage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      int
		offset uintptr
	}{
		{"one record", 1, 0},
		{"page-aligned", 1000, 0},
		{"ends just past a page", 57, 0},     // 4104 bytes
		{"starts late in a page", 200, 4000}, // first page holds 96 bytes
		{"ring of pointers", 2048, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(t *testing.T, pages []bool) {
				t.Helper()
				for i, in := range pages {
					if !in {
						t.Errorf("page %d of %d not resident after prefault", i, len(pages))
					}
				}
			}
			if tc.name == "ring of pointers" {
				s, unmap := mapped[*Message](t, tc.n, tc.offset)
				defer unmap()
				prefault(s)
				check(t, resident(t, s))
				for i := range s {
					if s[i] != nil {
						t.Fatalf("entry %d written: %p", i, s[i])
					}
				}
				return
			}
			s, unmap := mapped[Message](t, tc.n, tc.offset)
			defer unmap()
			if pages := resident(t, s); pages[0] {
				t.Fatalf("fresh mapping already resident")
			}
			prefault(s)
			check(t, resident(t, s))
			for i := range s {
				if s[i].Body != nil || s[i].Timestamp != 0 || s[i].ID != ([16]byte{}) {
					t.Fatalf("record %d written: %+v", i, s[i])
				}
			}
		})
	}
}

// A fresh record block is resident as a whole once its first batch is
// copied, not only the pages that batch filled: the rest is not read
// (by the collector or a write barrier) before it is written.
func TestRecordsFreshBlockIsPrefaulted(t *testing.T) {
	// Start from an empty heap given back to the system, so that the block
	// is fresh memory (the runtime zeroes, and so touches, only memory it
	// used before).
	runtime.GC()
	debug.FreeOSMemory()
	var r Records
	batch := make([]Message, 1800) // an 8-batch block: about 1 MB
	out, block := r.copy(batch)
	if len(out) != len(batch) || len(block.msgs) <= 4*len(batch) {
		t.Fatalf("block of %d records for a batch of %d", len(block.msgs), len(batch))
	}
	pages := resident(t, block.msgs)
	for i, in := range pages {
		if !in {
			t.Fatalf("page %d of the block's %d not resident after its first copy", i, len(pages))
		}
	}
}
