package hugepage

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"unsafe"

	"github.com/nsqgo/nsq/internal/exepages"
)

// Marked reports whether the mapping holding s's first element is marked
// for huge pages (VmFlags "hg" in /proc/self/smaps) and THP-eligible. It
// reads the whole smaps file, with internal/exepages' reader of it: for
// tests and diagnostics, never a hot path.
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
	return markedIn(exepages.NewSmapsScanner(f), addr)
}

// markedIn is Marked over a listing: the VmFlags of the mapping holding
// addr name "hg", and its THPeligible (listed before VmFlags) is 1.
func markedIn(sc *exepages.SmapsScanner, addr uint64) (bool, error) {
	in, eligible := false, false
	for sc.Scan() {
		if h, ok := sc.Header(); ok {
			in = addr >= h.Start && addr < h.End
			continue
		}
		key, value, ok := sc.Field()
		if !in || !ok {
			continue
		}
		switch string(key) {
		case "THPeligible":
			eligible = string(bytes.TrimSpace(value)) == "1"
		case "VmFlags":
			hg := slices.ContainsFunc(bytes.Fields(value), func(flag []byte) bool { return string(flag) == "hg" })
			return eligible && hg, nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("hugepage: %w", err)
	}
	return false, fmt.Errorf("hugepage: no mapping holds %#x", addr)
}
