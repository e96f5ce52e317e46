// Package hugepage owns the daemon's use of transparent huge pages for the
// memory that messages fill.
//
// Why. A freshly mapped 4 KB page costs a page fault on its first write,
// and on a virtual machine whose host backs guest memory on demand that
// fault is expensive (README, "Where the time per message goes": about
// 11-30 us per 4 KB here). Holding messages in memory is mostly first
// touches of fresh heap. With the kernel's transparent huge pages in
// "madvise" mode, a range marked MADV_HUGEPAGE is faulted in 2 MB at a
// time: one fault per 512 pages.
//
// What it owns. An Advisor, created by the daemon and handed to the places
// that allocate memory for message bodies and queue blocks, marks the
// heap window holding such an allocation MADV_HUGEPAGE before the first
// write into it. The Go runtime does not do this itself (it maps its heap
// with mmap MAP_FIXED, a fresh mapping without the flag), so it has to
// happen after the runtime mapped the memory and before it is written.
//
// Windows. The runtime maps its heap in 4 MB steps aligned to 4 MB (its
// page allocator's chunks, runtime/mheap.go grow), and the part of an
// arena not yet mapped is a PROT_NONE reservation that a later mmap
// replaces, dropping any flag set on it. So the window is exactly the 4 MB
// chunk around the allocation: it is wholly mapped, since the allocation
// came from it, and it keeps the flag because the runtime never maps it
// again (the scavenger returns memory with madvise, which keeps the
// flag). Each window is advised once: one madvise per 4 MB, none per
// message; a lock-free cache of recent windows keeps the check off the
// allocation path's locks.
//
// What it does not do. It never allocates, frees or maps memory: the bytes
// stay ordinary Go heap memory with their ordinary lifetime. A 2 MB part of
// a window that was already partly written stays in 4 KB pages.
//
// Memory. A huge page is resident as a whole, so a sparsely used one costs
// up to 2 MB. Windows are therefore advised only once the runtime has
// mapped MinHeapBytes in all (a daemon holding few messages keeps its
// small footprint), and a window seen below that stays unadvised.
//
// Where it does nothing. On other operating systems (build tags), when the
// kernel has no transparent huge pages, when they are "never", or when
// they are "always" (every anonymous mapping gets them already), with
// GODEBUG=disablethp=1 (the user asked the runtime for no huge pages), an
// Advisor is inactive and costs one branch per call. A nil *Advisor is a
// valid inactive one.
//
// Checking. Marked (tests and diagnostics) reads a mapping's VmFlags from
// /proc/self/smaps with internal/exepages' reader of that format, the only
// package of the module it imports.
package hugepage
