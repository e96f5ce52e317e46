package metricsutil

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/promexpo"
	"github.com/nsqgo/nsq/internal/version"
)

// The shared part of every exposition: build info with the version /info
// reports and the commit --version shows, Go and process collectors, and
// the daemon's own collector beside them.
func TestHandlerServesBuildInfoGoProcessAndOwnCollector(t *testing.T) {
	desc := promexpo.NewDesc(promexpo.Counter, "nsq_test_total", "A test counter.")
	own := promexpo.CollectorFunc(func(s *promexpo.Scrape) error {
		s.Value(desc, 3)
		return nil
	})
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

// A failing collector is logged with the daemons' METRICS: prefix, and
// the rest is still served.
func TestHandlerLogsAFailingCollector(t *testing.T) {
	var logged []string
	h := Handler(func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) },
		promexpo.CollectorFunc(func(*promexpo.Scrape) error { return errors.New("stats unavailable") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), "\nnsq_build_info{")
	require.Len(t, logged, 1)
	require.True(t, strings.HasPrefix(logged[0], "METRICS: "), logged[0])
	require.Contains(t, logged[0], "stats unavailable")
}
