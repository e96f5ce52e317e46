package hugepage

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"
)

// Marked reports whether the mapping holding s's first element is marked
// for huge pages (VmFlags "hg" in /proc/self/smaps) and THP-eligible. It
// reads the whole smaps file: for tests and diagnostics, never a hot path.
func Marked[T any](s []T) (bool, error) {
	if cap(s) == 0 {
		return false, fmt.Errorf("hugepage: an empty slice has no address")
	}
	addr := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(s))))
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return false, err
	}
	defer f.Close()
	in, eligible := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		// A mapping's header: "start-end perms offset dev inode [path]".
		if span, _, ok := strings.Cut(line, " "); ok && !strings.HasSuffix(span, ":") {
			if lo, hi, ok := strings.Cut(span, "-"); ok {
				start, err1 := strconv.ParseUint(lo, 16, 64)
				end, err2 := strconv.ParseUint(hi, 16, 64)
				if err1 == nil && err2 == nil {
					in = addr >= start && addr < end
					continue
				}
			}
		}
		if !in {
			continue
		}
		if v, ok := strings.CutPrefix(line, "THPeligible:"); ok {
			eligible = strings.TrimSpace(v) == "1"
		}
		if v, ok := strings.CutPrefix(line, "VmFlags:"); ok {
			return eligible && strings.Contains(" "+strings.TrimSpace(v)+" ", " hg "), nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, err
	}
	return false, fmt.Errorf("hugepage: no mapping holds %#x", addr)
}
