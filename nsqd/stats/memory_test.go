package stats

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPercentileUsesNearestRankRoundedHalfUp(t *testing.T) {
	require.Zero(t, percentile(99, nil))
	sorted := []uint64{10, 20, 30, 40}
	require.EqualValues(t, 40, percentile(100, sorted), "clamped to the last")
	require.EqualValues(t, 40, percentile(95, sorted), "index floor(3.8+0.5)=4 clamps to 3")
	require.EqualValues(t, 30, percentile(50, sorted), "index floor(2+0.5)=2")
	require.EqualValues(t, 20, percentile(30, sorted), "index floor(1.2+0.5)=1")
}

func TestReadMemStatsReportsRuntimeFigures(t *testing.T) {
	runtime.GC()
	mem := ReadMemory()
	require.NotZero(t, mem.HeapObjects)
	require.NotZero(t, mem.HeapInUseBytes)
	require.NotZero(t, mem.GCTotalRuns)
	require.GreaterOrEqual(t, mem.GCPauseUsec100, mem.GCPauseUsec99)
	require.GreaterOrEqual(t, mem.GCPauseUsec99, mem.GCPauseUsec95)
}
