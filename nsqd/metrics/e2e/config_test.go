package e2e

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestValidateIsUpstreamsCheck(t *testing.T) {
	require.NoError(t, Validate(nil, 0), "nothing tracked, any window")
	require.NoError(t, Validate([]float64{1, 0.5}, time.Minute))
	for _, bad := range []float64{0, -0.5, 1.01, math.NaN()} {
		require.ErrorContains(t, Validate([]float64{bad}, time.Minute), "invalid E2E processing latency percentile")
	}
	require.EqualError(t, Validate([]float64{0.5}, 0), "--e2e-processing-latency-window-time must be > 0")
}

func TestConfigSortsACopyOfThePercentilesDescending(t *testing.T) {
	given := []float64{0.5, 1, 0.99}
	cfg := NewConfig(given, time.Minute)
	require.Equal(t, []float64{1, 0.99, 0.5}, cfg.Percentiles())
	require.Equal(t, []float64{0.5, 1, 0.99}, given, "the caller's slice is left as given")
}

func TestNothingTrackedWithoutPercentiles(t *testing.T) {
	cfg := NewConfig(nil, time.Minute)
	require.False(t, cfg.Enabled())
	require.Nil(t, cfg.NewRecorder(), "FIN then skips even the clock")
	require.Equal(t, []float64{}, cfg.Percentiles(), "/config shows [] rather than null")
	require.Equal(t, Summary{}, cfg.Summarize(time.Now()))
	var unset *Config
	require.False(t, unset.Enabled())
}

// A topic's summary merges its channels' windows exactly: counters add.
func TestSummarizeMergesRecorders(t *testing.T) {
	cfg := NewConfig([]float64{1, 0.5}, 2*time.Minute)
	now := time.Unix(1_700_000_000, 0)
	a, b := cfg.NewRecorder(), cfg.NewRecorder()
	at := now.UnixNano()
	a.Record(at, at-int64(10*time.Millisecond))
	b.Record(at, at-int64(20*time.Millisecond))
	b.Record(at, at-int64(30*time.Millisecond))
	got := cfg.Summarize(now, a, b, nil)
	require.Equal(t, 3, got.Count)
	require.Len(t, got.Percentiles, 2)
	require.Equal(t, 1.0, got.Percentiles[0].Quantile)
	require.Equal(t, float64(30*time.Millisecond), got.Percentiles[0].Value, "the 100th percentile is the exact maximum")
	require.InEpsilon(t, float64(20*time.Millisecond), got.Percentiles[1].Value, 1.0/32)
	require.Zero(t, cfg.Summarize(now.Add(2*time.Minute), a, b).Count, "a whole window later nothing is left")
}
