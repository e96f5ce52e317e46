// Package exepages gives back the pages of the daemon's own executable that
// only its start-up needed.
//
// Why. The kernel maps a running program's code and read-only data from the
// page cache, and on a fault it maps not just the page asked for but the
// cached pages around it (fault-around, 64 KB by default). Parsing flags and
// the config file, validating options, loading metadata and binding the
// listeners runs code that a serving daemon never runs again, and each of
// those faults left up to sixteen pages mapped: they count in the process's
// resident set (VmRSS, and so its peak VmHWM) for as long as it runs. The
// nsqd binary is larger than upstream's, so this cost it about 1 MB more
// resident memory than upstream in every shape of bench/compare.sh (README,
// "Peak RSS").
//
// What it does. Release, called once the daemon has started, drops this
// process's mappings of those pages (madvise MADV_DONTNEED over the
// executable's read-only mappings): the pages stay in the page cache, and
// whatever the daemon runs afterwards is faulted back in as it runs. What
// start-up alone touched stays out of the resident set. A Trimmer (trim.go)
// calls Release again every TrimEvery while the daemon serves, so that the
// code of a phase that is over (publishing, a departure, start-up's
// stragglers) leaves the resident set too, not only start-up's.
//
// Safety. MADV_DONTNEED on a private file mapping throws away any page the
// process modified (a copy-on-write copy) and reads the file's bytes again
// on the next access. Release therefore only touches mappings of the
// executable that are not writable and hold no anonymous (copied) pages at
// all, as /proc/self/smaps reports them: for those, dropping a page loses
// nothing, and the next access maps the same bytes back. The Go linker
// writes no relocations into code or read-only data of an executable, so
// this holds for every build of the daemon; a mapping that ever has a
// copied page (a dynamic loader's relocated read-only data, say) is left
// alone.
//
// Where it does nothing. On operating systems other than Linux, and when
// /proc/self/smaps cannot be read.
//
// Reading smaps. It also owns the module's one reader of the
// /proc/PID/smaps format (SmapsScanner, smaps.go), which allocates nothing
// per line; internal/hugepage's Marked reads a mapping's VmFlags with it.
// It imports internal/clock (the Trimmer) and nothing else of the module,
// so internal/hugepage may import it.
package exepages
