package promexpo

import (
	"bytes"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

// scrapeOurs is one scrape of collectors, parsed by the client library.
func scrapeOurs(t *testing.T, collectors ...Collector) map[string]*dto.MetricFamily {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, NewRegistry(t.Logf, collectors...).Write(&buf))
	families, err := textParse(&buf)
	require.NoError(t, err)
	return families
}

// scrapeClientGolang is one gather of client_golang v1.25's default Go and
// process collectors, as /metrics served them before this package.
func scrapeClientGolang(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	families, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]*dto.MetricFamily{}
	for _, f := range families {
		out[f.GetName()] = f
	}
	return out
}

type familyShape struct {
	typ    dto.MetricType
	help   string
	labels string // the label names of the first series
	series int
}

func shapes(families map[string]*dto.MetricFamily) map[string]familyShape {
	out := map[string]familyShape{}
	for name, f := range families {
		var labels []string
		for _, l := range f.GetMetric()[0].GetLabel() {
			labels = append(labels, l.GetName())
		}
		out[name] = familyShape{f.GetType(), f.GetHelp(), strings.Join(labels, ","), len(f.GetMetric())}
	}
	return out
}

// The Go and process collectors serve client_golang's families: the same
// names, types, help texts and labels, so dashboards built on them keep
// working; and the figures that do not move between two reads are equal.
func TestGoAndProcessFamiliesAreClientGolangs(t *testing.T) {
	theirs := scrapeClientGolang(t)
	ours := scrapeOurs(t, NewGoCollector(), NewProcessCollector())
	require.Equal(t, shapes(theirs), shapes(ours))
	require.Len(t, ours, 38, "29 Go and 9 process families (README)")

	value := func(f *dto.MetricFamily) float64 {
		m := f.GetMetric()[0]
		if f.GetType() == dto.MetricType_COUNTER {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	for _, name := range []string{"go_info", "go_gc_gogc_percent", "go_gc_gomemlimit_bytes", "go_sched_gomaxprocs_threads",
		"process_max_fds", "process_virtual_memory_max_bytes", "process_start_time_seconds"} {
		require.Equal(t, value(theirs[name]), value(ours[name]), name)
	}
	require.Equal(t, runtime.Version(), ours["go_info"].GetMetric()[0].GetLabel()[0].GetValue())
	var quantiles, theirQuantiles []float64
	for _, q := range ours["go_gc_duration_seconds"].GetMetric()[0].GetSummary().GetQuantile() {
		quantiles = append(quantiles, q.GetQuantile())
	}
	for _, q := range theirs["go_gc_duration_seconds"].GetMetric()[0].GetSummary().GetQuantile() {
		theirQuantiles = append(theirQuantiles, q.GetQuantile())
	}
	require.Equal(t, theirQuantiles, quantiles)
}

// The Go collector's figures follow the runtime: a GC is counted, the
// allocation counters grow, and GOGC and GOMAXPROCS are what the runtime
// was told.
func TestGoCollectorFollowsTheRuntime(t *testing.T) {
	c := NewGoCollector()
	before := scrapeOurs(t, c)
	sink := make([][]byte, 0, 64)
	for range 64 {
		sink = append(sink, make([]byte, 64<<10))
	}
	runtime.KeepAlive(sink)
	runtime.GC()
	old := debug.SetGCPercent(73)
	t.Cleanup(func() { debug.SetGCPercent(old) })
	after := scrapeOurs(t, c)

	gcs := func(f map[string]*dto.MetricFamily) uint64 {
		return f["go_gc_duration_seconds"].GetMetric()[0].GetSummary().GetSampleCount()
	}
	counter := func(f map[string]*dto.MetricFamily, name string) float64 {
		return f[name].GetMetric()[0].GetCounter().GetValue()
	}
	gauge := func(f map[string]*dto.MetricFamily, name string) float64 {
		return f[name].GetMetric()[0].GetGauge().GetValue()
	}
	require.Greater(t, gcs(after), gcs(before))
	require.GreaterOrEqual(t, counter(after, "go_memstats_alloc_bytes_total")-counter(before, "go_memstats_alloc_bytes_total"), float64(64*64<<10))
	require.Greater(t, counter(after, "go_memstats_mallocs_total"), counter(before, "go_memstats_mallocs_total"))
	require.Greater(t, gauge(after, "go_memstats_last_gc_time_seconds"), float64(0))
	require.Equal(t, float64(73), gauge(after, "go_gc_gogc_percent"))
	require.Equal(t, float64(runtime.GOMAXPROCS(0)), gauge(after, "go_sched_gomaxprocs_threads"))
	require.Greater(t, gauge(after, "go_memstats_heap_sys_bytes"), gauge(after, "go_memstats_heap_inuse_bytes")-1)
	require.Equal(t, gauge(after, "go_memstats_alloc_bytes"), gauge(after, "go_memstats_heap_alloc_bytes"))
	require.Greater(t, gauge(after, "go_goroutines"), float64(0))
	require.Greater(t, gauge(after, "go_threads"), float64(0))
}
