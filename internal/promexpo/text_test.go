package promexpo

import (
	"bytes"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// series is one sample of the comparison below, given to both this
// package and client_golang.
type series struct {
	value      float64
	labels     []string
	bounds     []float64 // histogram
	cumulative []uint64  // histogram
	quantiles  []float64 // summary
	qvalues    []float64 // summary
	count      uint64
	sum        float64
}

type familySpec struct {
	typ          Type
	name, help   string
	labels       []string
	series       []series
	secondHelper bool // a second desc of the same family, as two collectors may hold
}

// awkward are values whose text form Prometheus defines: names, signs,
// zero of either sign, the shortest form of fractions, large and small
// exponents, integers past 2^53.
var awkward = []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1.5, -2.25, 1e-7, 123456789, 1e21, 3e-300,
	math.MaxFloat64, math.SmallestNonzeroFloat64, float64(1 << 60), math.NaN(), math.Inf(1), math.Inf(-1)}

func comparisonFamilies() []familySpec {
	var values []series
	for i, v := range awkward {
		values = append(values, series{value: v, labels: []string{string(rune('a' + i)), "x"}})
	}
	return []familySpec{
		{typ: Gauge, name: "zz_values", help: "Every awkward value.", labels: []string{"which", "b_label"}, series: values},
		{typ: Counter, name: "aa_total", help: `Help with a backslash \ and a
newline and "quotes".`, series: []series{{value: 42}}},
		{typ: Gauge, name: "mm_escaped", help: "", labels: []string{"v"}, series: []series{
			{value: 1, labels: []string{`quote " here`}},
			{value: 2, labels: []string{`back\slash`}},
			{value: 3, labels: []string{"new\nline"}},
			{value: 4, labels: []string{"\\\"\n\\n"}},
			{value: 5, labels: []string{""}},
			{value: 6, labels: []string{"ünïcødé ✓"}},
		}},
		{typ: Gauge, name: "mm_order", help: "Series out of order, labels given out of name order.", labels: []string{"zeta", "alpha", "mid"},
			secondHelper: true, series: []series{
				{value: 1, labels: []string{"1", "b", "x"}},
				{value: 2, labels: []string{"0", "b", "x"}},
				{value: 3, labels: []string{"9", "a", "y"}},
				{value: 4, labels: []string{"9", "a", "x"}},
				{value: 5, labels: []string{"", "", ""}},
				{value: 6, labels: []string{"1", "ba", "x"}},
			}},
		{typ: Histogram, name: "hh_seconds", help: "A histogram.", labels: []string{"topic"}, series: []series{
			{labels: []string{"t2"}, bounds: []float64{0.0001, 0.00025, 0.5, 1, 2.5, 3600}, cumulative: []uint64{0, 1, 1, 5, 5, 9}, count: 11, sum: 7202.042},
			{labels: []string{"t1"}, bounds: []float64{-1, 0, 1e-9}, cumulative: []uint64{1, 2, 3}, count: 3, sum: -0.5},
			{labels: []string{"t0"}, count: 2, sum: 0},
		}},
		{typ: Histogram, name: "hh_unlabelled", help: "No labels.", series: []series{
			{bounds: []float64{1}, cumulative: []uint64{1 << 54}, count: 1<<54 + 1, sum: math.Inf(1)},
		}},
		{typ: Summary, name: "ss_seconds", help: "A summary.", labels: []string{"k"}, series: []series{
			{labels: []string{"v"}, quantiles: []float64{0, 0.25, 0.5, 0.75, 1}, qvalues: []float64{1e-5, 2e-5, 3e-5, math.NaN(), 0.1}, count: 12, sum: 0.25},
			{labels: []string{"u"}, count: 0, sum: 0},
		}},
	}
}

// ours renders specs through a registry of this package.
func ours(t *testing.T, specs []familySpec) string {
	t.Helper()
	var collectors []Collector
	for _, spec := range specs {
		d := NewDesc(spec.typ, spec.name, spec.help, spec.labels...)
		second := d
		if spec.secondHelper {
			second = NewDesc(spec.typ, spec.name, spec.help, spec.labels...)
		}
		collectors = append(collectors, CollectorFunc(func(s *Scrape) error {
			for i, smp := range spec.series {
				desc := d
				if i%2 == 1 {
					desc = second
				}
				switch spec.typ {
				case Counter, Gauge:
					s.Value(desc, smp.value, smp.labels...)
				case Histogram:
					s.Histogram(desc, smp.bounds, smp.cumulative, smp.count, smp.sum, smp.labels...)
				case Summary:
					s.Summary(desc, smp.quantiles, smp.qvalues, smp.count, smp.sum, smp.labels...)
				}
			}
			return nil
		}))
	}
	var buf bytes.Buffer
	require.NoError(t, NewRegistry(t.Logf, collectors...).Write(&buf))
	return buf.String()
}

// clientCollector gives a spec to client_golang as const metrics.
type clientCollector struct{ spec familySpec }

func (c clientCollector) desc() *prometheus.Desc {
	return prometheus.NewDesc(c.spec.name, c.spec.help, c.spec.labels, nil)
}

func (c clientCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc() }

func (c clientCollector) Collect(ch chan<- prometheus.Metric) {
	d := c.desc()
	for _, smp := range c.spec.series {
		switch c.spec.typ {
		case Counter:
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, smp.value, smp.labels...)
		case Gauge:
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, smp.value, smp.labels...)
		case Histogram:
			buckets := map[float64]uint64{}
			for i, b := range smp.bounds {
				buckets[b] = smp.cumulative[i]
			}
			ch <- prometheus.MustNewConstHistogram(d, smp.count, smp.sum, buckets, smp.labels...)
		case Summary:
			quantiles := map[float64]float64{}
			for i, q := range smp.quantiles {
				quantiles[q] = smp.qvalues[i]
			}
			ch <- prometheus.MustNewConstSummary(d, smp.count, smp.sum, quantiles, smp.labels...)
		}
	}
}

// theirs renders specs as client_golang's registry and expfmt's text
// encoder do, which is what /metrics served before this package.
func theirs(t *testing.T, specs []familySpec) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	for _, spec := range specs {
		reg.MustRegister(clientCollector{spec})
	}
	families, err := reg.Gather()
	require.NoError(t, err)
	var buf bytes.Buffer
	for _, f := range families {
		_, err := expfmt.MetricFamilyToText(&buf, f)
		require.NoError(t, err)
	}
	return buf.String()
}

// Byte for byte what client_golang served: family order, series order,
// label order, escaping, every awkward float, histograms (+Inf bucket
// added, le last) and summaries.
func TestTextIsClientGolangsByteForByte(t *testing.T) {
	specs := comparisonFamilies()
	require.Equal(t, theirs(t, specs), ours(t, specs))
}

// Label values and help text with a double quote, a backslash and a
// newline come back unchanged through the client library's parser.
func TestEscapingRoundTripsThroughTheParser(t *testing.T) {
	values := []string{`"`, `\`, "\n", `a\"b`, "\\n", "x\n\"y\"\\", `\\\`, "tab\there"}
	help := "Help: back\\slash, new\nline, \"quotes\" kept."
	d := NewDesc(Gauge, "escaped", help, "v")
	text := renderOne(t, func(s *Scrape) error {
		for i, v := range values {
			s.Value(d, float64(i), v)
		}
		return nil
	})
	families, err := textParse(strings.NewReader(text))
	require.NoError(t, err, text)
	f := families["escaped"]
	require.NotNil(t, f, text)
	require.Equal(t, help, f.GetHelp())
	got := map[string]float64{}
	for _, m := range f.GetMetric() {
		got[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
	}
	require.Len(t, got, len(values))
	for i, v := range values {
		require.Equal(t, float64(i), got[v], "%q", v)
	}
}

func renderOne(t *testing.T, collect func(s *Scrape) error) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, NewRegistry(t.Logf, CollectorFunc(collect)).Write(&buf))
	return buf.String()
}

func TestFloatFormatting(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{math.NaN(), "NaN"}, {math.Inf(1), "+Inf"}, {math.Inf(-1), "-Inf"}, {math.Copysign(0, -1), "0"}, {0, "0"},
		{1, "1"}, {-1, "-1"}, {0.25, "0.25"}, {1e-7, "1e-07"}, {123456789, "1.23456789e+08"}, {100000, "100000"},
		{1e21, "1e+21"},
	} {
		require.Equal(t, tc.want, string(appendFloat(nil, tc.v)), "%v", tc.v)
	}
}

// A desc Prometheus would refuse is a programming error, caught when the
// desc is made.
func TestInvalidDescsPanic(t *testing.T) {
	for _, tc := range []struct {
		typ    Type
		name   string
		labels []string
	}{
		{Gauge, "", nil}, {Gauge, "1abc", nil}, {Gauge, "a-b", nil}, {Gauge, "ok", []string{"__reserved"}},
		{Gauge, "ok", []string{"a", "a"}}, {Gauge, "ok", []string{"1x"}}, {Histogram, "h", []string{"le"}},
		{Summary, "s", []string{"quantile"}}, {Type(9), "ok", nil},
	} {
		require.Panics(t, func() { NewDesc(tc.typ, tc.name, "", tc.labels...) }, "%v %q %v", tc.typ, tc.name, tc.labels)
	}
	require.NotPanics(t, func() { NewDesc(Counter, "a:b_c1", "", "_x", "le", "quantile") })
}

// textParse reads an exposition with the client library's parser.
func textParse(r io.Reader) (map[string]*dto.MetricFamily, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(r)
}
