package metricsutil

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/version"
)

// The shared part of every exposition: build info with the version /info
// reports and the commit --version shows, Go and process collectors, and
// the daemon's own collector beside them.
func TestHandlerServesBuildInfoGoProcessAndOwnCollector(t *testing.T) {
	own := prometheus.NewCounter(prometheus.CounterOpts{Name: "nsq_test_total", Help: "A test counter."})
	own.Add(3)
	var logged []string
	h := Handler(func(format string, args ...any) { logged = append(logged, format) }, own)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	require.NoError(t, err)

	require.Equal(t, float64(3), families["nsq_test_total"].GetMetric()[0].GetCounter().GetValue())
	info := families["nsq_build_info"].GetMetric()
	require.Len(t, info, 1)
	labels := map[string]string{}
	for _, l := range info[0].GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	require.Equal(t, version.Version, labels["version"])
	require.Equal(t, version.Commit(), labels["revision"])
	require.True(t, strings.HasPrefix(labels["goversion"], "go"), labels["goversion"])
	require.Equal(t, float64(1), info[0].GetGauge().GetValue())
	require.Contains(t, families, "go_goroutines")
	require.Contains(t, families, "process_start_time_seconds")
	require.Empty(t, logged)
}
