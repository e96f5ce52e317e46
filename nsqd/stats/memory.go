package stats

import (
	"math"
	"runtime"
	"slices"
)

// Memory is the memory section of /stats: Go runtime figures and
// percentiles of the recent GC pauses in microseconds.
type Memory struct {
	HeapObjects       uint64 `json:"heap_objects"`
	HeapIdleBytes     uint64 `json:"heap_idle_bytes"`
	HeapInUseBytes    uint64 `json:"heap_in_use_bytes"`
	HeapReleasedBytes uint64 `json:"heap_released_bytes"`
	GCPauseUsec100    uint64 `json:"gc_pause_usec_100"`
	GCPauseUsec99     uint64 `json:"gc_pause_usec_99"`
	GCPauseUsec95     uint64 `json:"gc_pause_usec_95"`
	NextGCBytes       uint64 `json:"next_gc_bytes"`
	GCTotalRuns       uint32 `json:"gc_total_runs"`
}

// ReadMemory samples the runtime. ReadMemStats stops the world briefly,
// which is why /stats lets a caller skip it with include_mem=false.
func ReadMemory() Memory {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)

	// PauseNs is a ring of the last 256 pauses; until it wraps only the
	// first NumGC entries are real.
	pauses := ms.PauseNs[:min(int(ms.NumGC), len(ms.PauseNs))]
	sorted := slices.Clone(pauses)
	slices.Sort(sorted)

	return Memory{
		HeapObjects:       ms.HeapObjects,
		HeapIdleBytes:     ms.HeapIdle,
		HeapInUseBytes:    ms.HeapInuse,
		HeapReleasedBytes: ms.HeapReleased,
		GCPauseUsec100:    percentile(100, sorted) / 1000,
		GCPauseUsec99:     percentile(99, sorted) / 1000,
		GCPauseUsec95:     percentile(95, sorted) / 1000,
		NextGCBytes:       ms.NextGC,
		GCTotalRuns:       ms.NumGC,
	}
}

// percentile picks from sorted values with upstream's nearest-rank rule
// (index rounded half up, clamped to the last element).
func percentile(perc float64, sorted []uint64) uint64 {
	if len(sorted) == 0 {
		return 0
	}
	index := int(math.Floor(perc/100*float64(len(sorted)) + 0.5))
	if index >= len(sorted) {
		index = len(sorted) - 1
	}
	return sorted[index]
}
