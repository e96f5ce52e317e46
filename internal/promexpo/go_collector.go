package promexpo

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"time"
)

// The Go collector's families are those of client_golang v1.25's default
// collectors.NewGoCollector(): the same names, types and help texts
// (go_collector_test.go compares them in one process), so dashboards built
// on them keep working. Every value but the GC pause summary and the last
// GC time is read from runtime/metrics, which does not stop the world;
// those two come from debug.ReadGCStats as client_golang reads them, which
// takes the heap lock briefly and does not stop the world either.
var (
	goGoroutinesDesc = NewDesc(Gauge, "go_goroutines", "Number of goroutines that currently exist.")
	goThreadsDesc    = NewDesc(Gauge, "go_threads", "Number of OS threads created.")
	goGCDurationDesc = NewDesc(Summary, "go_gc_duration_seconds",
		"A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.")
	goLastGCDesc = NewDesc(Gauge, "go_memstats_last_gc_time_seconds", "Number of seconds since 1970 of last garbage collection.")
	goInfoDesc   = NewDesc(Gauge, "go_info", "Information about the Go environment.", "version")
)

// The runtime/metrics samples the memstats families are computed from.
const (
	rmTinyAllocs    = "/gc/heap/tiny/allocs:objects"
	rmAllocs        = "/gc/heap/allocs:objects"
	rmFrees         = "/gc/heap/frees:objects"
	rmAllocBytes    = "/gc/heap/allocs:bytes"
	rmHeapObjects   = "/gc/heap/objects:objects"
	rmHeapGoal      = "/gc/heap/goal:bytes"
	rmTotal         = "/memory/classes/total:bytes"
	rmHeapInObjects = "/memory/classes/heap/objects:bytes"
	rmHeapUnused    = "/memory/classes/heap/unused:bytes"
	rmHeapReleased  = "/memory/classes/heap/released:bytes"
	rmHeapFree      = "/memory/classes/heap/free:bytes"
	rmHeapStacks    = "/memory/classes/heap/stacks:bytes"
	rmOSStacks      = "/memory/classes/os-stacks:bytes"
	rmMSpanInuse    = "/memory/classes/metadata/mspan/inuse:bytes"
	rmMSpanFree     = "/memory/classes/metadata/mspan/free:bytes"
	rmMCacheInuse   = "/memory/classes/metadata/mcache/inuse:bytes"
	rmMCacheFree    = "/memory/classes/metadata/mcache/free:bytes"
	rmBuckets       = "/memory/classes/profiling/buckets:bytes"
	rmMetadataOther = "/memory/classes/metadata/other:bytes"
	rmOther         = "/memory/classes/other:bytes"
)

// memstat is one go_memstats_* family: its value is the sum of the
// runtime/metrics samples named in sum.
type memstat struct {
	desc *Desc
	sum  []string
}

// memstats are the families runtime.MemStats used to fill, computed as
// their help texts say ("Equals to ...").
var memstats = []memstat{
	{NewDesc(Gauge, "go_memstats_alloc_bytes", "Number of bytes allocated in heap and currently in use. Equals to /memory/classes/heap/objects:bytes."),
		[]string{rmHeapInObjects}},
	{NewDesc(Counter, "go_memstats_alloc_bytes_total", "Total number of bytes allocated in heap until now, even if released already. Equals to /gc/heap/allocs:bytes."),
		[]string{rmAllocBytes}},
	{NewDesc(Gauge, "go_memstats_sys_bytes", "Number of bytes obtained from system. Equals to /memory/classes/total:byte."),
		[]string{rmTotal}},
	{NewDesc(Counter, "go_memstats_mallocs_total", "Total number of heap objects allocated, both live and gc-ed. Semantically a counter version for go_memstats_heap_objects gauge. Equals to /gc/heap/allocs:objects + /gc/heap/tiny/allocs:objects."),
		[]string{rmAllocs, rmTinyAllocs}},
	{NewDesc(Counter, "go_memstats_frees_total", "Total number of heap objects frees. Equals to /gc/heap/frees:objects + /gc/heap/tiny/allocs:objects."),
		[]string{rmFrees, rmTinyAllocs}},
	{NewDesc(Gauge, "go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and currently in use, same as go_memstats_alloc_bytes. Equals to /memory/classes/heap/objects:bytes."),
		[]string{rmHeapInObjects}},
	{NewDesc(Gauge, "go_memstats_heap_sys_bytes", "Number of heap bytes obtained from system. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes + /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes."),
		[]string{rmHeapInObjects, rmHeapUnused, rmHeapReleased, rmHeapFree}},
	{NewDesc(Gauge, "go_memstats_heap_idle_bytes", "Number of heap bytes waiting to be used. Equals to /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes."),
		[]string{rmHeapReleased, rmHeapFree}},
	{NewDesc(Gauge, "go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes"),
		[]string{rmHeapInObjects, rmHeapUnused}},
	{NewDesc(Gauge, "go_memstats_heap_released_bytes", "Number of heap bytes released to OS. Equals to /memory/classes/heap/released:bytes."),
		[]string{rmHeapReleased}},
	{NewDesc(Gauge, "go_memstats_heap_objects", "Number of currently allocated objects. Equals to /gc/heap/objects:objects."),
		[]string{rmHeapObjects}},
	{NewDesc(Gauge, "go_memstats_stack_inuse_bytes", "Number of bytes obtained from system for stack allocator in non-CGO environments. Equals to /memory/classes/heap/stacks:bytes."),
		[]string{rmHeapStacks}},
	{NewDesc(Gauge, "go_memstats_stack_sys_bytes", "Number of bytes obtained from system for stack allocator. Equals to /memory/classes/heap/stacks:bytes + /memory/classes/os-stacks:bytes."),
		[]string{rmHeapStacks, rmOSStacks}},
	{NewDesc(Gauge, "go_memstats_mspan_inuse_bytes", "Number of bytes in use by mspan structures. Equals to /memory/classes/metadata/mspan/inuse:bytes."),
		[]string{rmMSpanInuse}},
	{NewDesc(Gauge, "go_memstats_mspan_sys_bytes", "Number of bytes used for mspan structures obtained from system. Equals to /memory/classes/metadata/mspan/inuse:bytes + /memory/classes/metadata/mspan/free:bytes."),
		[]string{rmMSpanInuse, rmMSpanFree}},
	{NewDesc(Gauge, "go_memstats_mcache_inuse_bytes", "Number of bytes in use by mcache structures. Equals to /memory/classes/metadata/mcache/inuse:bytes."),
		[]string{rmMCacheInuse}},
	{NewDesc(Gauge, "go_memstats_mcache_sys_bytes", "Number of bytes used for mcache structures obtained from system. Equals to /memory/classes/metadata/mcache/inuse:bytes + /memory/classes/metadata/mcache/free:bytes."),
		[]string{rmMCacheInuse, rmMCacheFree}},
	{NewDesc(Gauge, "go_memstats_buck_hash_sys_bytes", "Number of bytes used by the profiling bucket hash table. Equals to /memory/classes/profiling/buckets:bytes."),
		[]string{rmBuckets}},
	{NewDesc(Gauge, "go_memstats_gc_sys_bytes", "Number of bytes used for garbage collection system metadata. Equals to /memory/classes/metadata/other:bytes."),
		[]string{rmMetadataOther}},
	{NewDesc(Gauge, "go_memstats_other_sys_bytes", "Number of bytes used for other system allocations. Equals to /memory/classes/other:bytes."),
		[]string{rmOther}},
	{NewDesc(Gauge, "go_memstats_next_gc_bytes", "Number of heap bytes when next garbage collection will take place. Equals to /gc/heap/goal:bytes."),
		[]string{rmHeapGoal}},
}

// runtimeMetricsExposed are the runtime/metrics client_golang's default Go
// collector exposes under names derived from theirs (runtimeFamily).
var runtimeMetricsExposed = []string{"/gc/gogc:percent", "/gc/gomemlimit:bytes", "/sched/gomaxprocs:threads"}

// gcPauseQuantiles are the quantiles of go_gc_duration_seconds: the
// minimum, the quartiles and the maximum of the recent pauses, as
// debug.ReadGCStats computes them for five PauseQuantiles.
var gcPauseQuantiles = [5]float64{0, 0.25, 0.5, 0.75, 1}

// goCollector reads the Go runtime's figures.
type goCollector struct {
	runtimeDescs []*Desc // one per runtimeMetricsExposed present in this Go
	runtimeIndex []int   // each one's sample in samples

	mu      sync.Mutex       // guards the buffers below, reused across scrapes
	samples []metrics.Sample // runtime/metrics read per scrape
	index   map[string]int   // a sample's position in samples, by name
	gc      debug.GCStats
}

// NewGoCollector is the Go runtime collector.
func NewGoCollector() Collector {
	c := &goCollector{index: map[string]int{}}
	add := func(name string) int {
		if i, ok := c.index[name]; ok {
			return i
		}
		c.samples = append(c.samples, metrics.Sample{Name: name})
		c.index[name] = len(c.samples) - 1
		return len(c.samples) - 1
	}
	known := map[string]metrics.Description{}
	for _, d := range metrics.All() {
		known[d.Name] = d
	}
	for _, name := range runtimeMetricsExposed {
		d, ok := known[name]
		if !ok || (d.Kind != metrics.KindUint64 && d.Kind != metrics.KindFloat64) {
			continue // an older or newer Go without it
		}
		c.runtimeDescs = append(c.runtimeDescs, runtimeFamily(d))
		c.runtimeIndex = append(c.runtimeIndex, add(name))
	}
	for _, m := range memstats {
		for _, name := range m.sum {
			add(name)
		}
	}
	c.gc.PauseQuantiles = make([]time.Duration, len(gcPauseQuantiles))
	return c
}

// runtimeFamily names a runtime/metrics metric as client_golang does:
// "/sched/gomaxprocs:threads" is go_sched_gomaxprocs_threads, its help the
// runtime's description and where it comes from; a cumulative one is a
// counter ending in _total.
func runtimeFamily(d metrics.Description) *Desc {
	path, unit, _ := strings.Cut(strings.TrimPrefix(d.Name, "/"), ":")
	name := "go_" + strings.NewReplacer("/", "_", "-", "_").Replace(path) + "_" +
		strings.NewReplacer("-", "_", "*", "_", "/", "_per_").Replace(unit)
	typ := Gauge
	if d.Cumulative {
		typ, name = Counter, name+"_total"
	}
	return NewDesc(typ, name, d.Description+" Sourced from "+d.Name+".")
}

func (c *goCollector) Collect(s *Scrape) error {
	s.Value(goGoroutinesDesc, float64(runtime.NumGoroutine()))
	threads, _ := runtime.ThreadCreateProfile(nil)
	s.Value(goThreadsDesc, float64(threads))
	s.Value(goInfoDesc, 1, runtime.Version())

	c.mu.Lock()
	defer c.mu.Unlock()
	debug.ReadGCStats(&c.gc)
	var pauses [len(gcPauseQuantiles)]float64
	for i, p := range c.gc.PauseQuantiles {
		pauses[i] = p.Seconds()
	}
	s.Summary(goGCDurationDesc, gcPauseQuantiles[:], pauses[:], uint64(c.gc.NumGC), c.gc.PauseTotal.Seconds())
	s.Value(goLastGCDesc, float64(c.gc.LastGC.UnixNano())/1e9)

	metrics.Read(c.samples)
	for i, d := range c.runtimeDescs {
		s.Value(d, sampleValue(c.samples[c.runtimeIndex[i]].Value))
	}
	for _, m := range memstats {
		var sum uint64
		for _, name := range m.sum {
			if v := c.samples[c.index[name]].Value; v.Kind() == metrics.KindUint64 {
				sum += v.Uint64()
			}
		}
		s.Value(m.desc, float64(sum))
	}
	return nil
}

// sampleValue is a scalar runtime/metrics value; 0 for one this Go does
// not have.
func sampleValue(v metrics.Value) float64 {
	switch v.Kind() {
	case metrics.KindUint64:
		return float64(v.Uint64())
	case metrics.KindFloat64:
		return v.Float64()
	}
	return 0
}
