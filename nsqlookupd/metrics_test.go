package nsqlookupd

import (
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

func scrapeLookupd(t *testing.T, l *NSQLookupd) map[string]*dto.MetricFamily {
	t.Helper()
	res := httpGet(t, l, "/metrics")
	require.Equal(t, http.StatusOK, res.status, res.body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(res.body))
	require.NoError(t, err, res.body)
	return families
}

func gaugeValue(t *testing.T, families map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	require.Contains(t, families, name)
	require.Equal(t, dto.MetricType_GAUGE, families[name].GetType())
	return families[name].GetMetric()[0].GetGauge().GetValue()
}

func commandCount(t *testing.T, families map[string]*dto.MetricFamily, command string) float64 {
	t.Helper()
	require.Equal(t, dto.MetricType_COUNTER, families["nsq_lookupd_commands_total"].GetType())
	for _, m := range families["nsq_lookupd_commands_total"].GetMetric() {
		if m.GetLabel()[0].GetValue() == command {
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no command %s", command)
	return 0
}

// Two nsqds register topics and channels; one is tombstoned. /metrics
// reports the registry as /nodes and /topics see it, and the commands sent.
func TestLookupdMetricsReportRegistryAndCommands(t *testing.T) {
	l := startLookupd(t, nil)
	a := dialV1(t, l)
	a.identify("a", 4150, 4151)
	require.Equal(t, "OK", a.cmd("REGISTER t1 c1"))
	require.Equal(t, "OK", a.cmd("REGISTER t1 c2"))
	require.Equal(t, "OK", a.cmd("REGISTER t2"))
	require.Equal(t, "OK", a.cmd("PING"))
	b := dialV1(t, l)
	b.identify("b", 4150, 4151)
	require.Equal(t, "OK", b.cmd("REGISTER t1 c1"))
	require.Equal(t, "OK", b.cmd("UNREGISTER t1 c1"))
	require.Equal(t, http.StatusOK, httpPost(t, l, "/topic/tombstone?topic=t1&node=a:4151").status)

	families := scrapeLookupd(t, l)
	require.Equal(t, float64(2), gaugeValue(t, families, "nsq_lookupd_producers"))
	require.Equal(t, float64(2), gaugeValue(t, families, "nsq_lookupd_topics"))
	require.Equal(t, float64(2), gaugeValue(t, families, "nsq_lookupd_channels"))
	require.Equal(t, float64(1), gaugeValue(t, families, "nsq_lookupd_tombstones"))
	require.Equal(t, float64(2), commandCount(t, families, "IDENTIFY"))
	require.Equal(t, float64(4), commandCount(t, families, "REGISTER"))
	require.Equal(t, float64(1), commandCount(t, families, "UNREGISTER"))
	require.Equal(t, float64(1), commandCount(t, families, "PING"))
	require.Equal(t, float64(0), commandCount(t, families, "invalid"))
	require.Equal(t, float64(1), gaugeValue(t, families, "nsq_build_info"))
	require.Contains(t, families, "go_goroutines")
	// The shared Go and process families, with client_golang's types
	// (internal/promexpo).
	for name, typ := range map[string]dto.MetricType{
		"go_gc_duration_seconds": dto.MetricType_SUMMARY, "go_memstats_frees_total": dto.MetricType_COUNTER,
		"go_gc_gogc_percent": dto.MetricType_GAUGE, "process_cpu_seconds_total": dto.MetricType_COUNTER,
		"process_start_time_seconds": dto.MetricType_GAUGE,
	} {
		require.Contains(t, families, name)
		require.Equal(t, typ, families[name].GetType(), name)
	}
	for name, f := range families {
		require.NotEmpty(t, f.GetHelp(), name)
	}
}

func TestLookupdProbes(t *testing.T) {
	l := startLookupd(t, nil)
	res := httpGet(t, l, "/healthz")
	require.Equal(t, http.StatusOK, res.status)
	require.JSONEq(t, `{"status":"ok"}`, res.body)
	res = httpGet(t, l, "/readyz")
	require.Equal(t, http.StatusOK, res.status)
	require.JSONEq(t, `{"status":"ready","checks":{"listeners":"ok"}}`, res.body)
}
