package timermetrics

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recorder collects log lines.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

func TestStatusLogsOnceEveryNRequests(t *testing.T) {
	var rec recorder
	m := New(3, "[aggregate]:", rec.logf)
	start := time.Now()
	for range 7 {
		m.Status(start)
	}
	require.Len(t, rec.lines, 2)
	require.Regexp(t, `^\[aggregate\]: finished 3 - 99th: [0-9.]+ms - 95th: [0-9.]+ms - avg: [0-9.]+ms$`, rec.lines[0])
}

func TestStatusEveryZeroNeverLogs(t *testing.T) {
	var rec recorder
	m := New(0, "", rec.logf)
	for range 10 {
		m.Status(time.Now())
	}
	require.Empty(t, rec.lines)
}

func TestPercentileIsNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	require.Equal(t, 95*time.Millisecond, percentile(d, 95))
	require.Equal(t, 99*time.Millisecond, percentile(d, 99))
	require.Equal(t, 7*time.Millisecond, percentile([]time.Duration{7 * time.Millisecond}, 99))
}
