package promexpo

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

var testGaugeDesc = NewDesc(Gauge, "test_gauge", "A gauge.", "k")

func gaugeCollector(values ...string) Collector {
	return CollectorFunc(func(s *Scrape) error {
		for i, v := range values {
			s.Value(testGaugeDesc, float64(i), v)
		}
		return nil
	})
}

func get(t *testing.T, h http.Handler, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	return rec
}

// The answer is gzipped exactly when Accept-Encoding allows gzip, and
// then decompresses to the plain answer.
func TestGzipNegotiation(t *testing.T) {
	reg := NewRegistry(t.Logf, gaugeCollector("a", "b"))
	plain := get(t, reg, nil)
	require.Empty(t, plain.Header().Get("Content-Encoding"))
	require.Contains(t, plain.Body.String(), `test_gauge{k="b"} 1`)
	for header, gzipped := range map[string]bool{
		"gzip":                         true,
		"GZIP":                         true,
		"deflate, gzip;q=1.0, *;q=0.5": true,
		"br;q=1.0, gzip;q=0.8":         true,
		"x-gzip":                       true,
		"*":                            true,
		" gzip ; q=0.001":              true,
		"identity":                     false,
		"deflate, br":                  false,
		"gzip;q=0":                     false,
		"gzip;q=0.000, *":              false,
		"*;q=0":                        false,
		"gzip;q=nonsense":              false,
		"gzip;q=2":                     false,
		"gzipped":                      false,
		"":                             false,
	} {
		rec := get(t, reg, map[string]string{"Accept-Encoding": header})
		require.Equal(t, ContentType, rec.Header().Get("Content-Type"), header)
		require.Contains(t, rec.Header().Values("Vary"), "Accept-Encoding", header)
		if !gzipped {
			require.Empty(t, rec.Header().Get("Content-Encoding"), header)
			require.Equal(t, plain.Body.String(), rec.Body.String(), header)
			continue
		}
		require.Equal(t, "gzip", rec.Header().Get("Content-Encoding"), header)
		zr, err := gzip.NewReader(rec.Body)
		require.NoError(t, err, header)
		body, err := io.ReadAll(zr)
		require.NoError(t, err, header)
		require.Equal(t, plain.Body.String(), string(body), header)
	}
}

// Whatever format the scraper asks for, it gets the text format, which
// Prometheus falls back to.
func TestAnswersTextWhateverTheAcceptHeader(t *testing.T) {
	reg := NewRegistry(t.Logf, gaugeCollector("a"))
	for _, accept := range []string{
		"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3",
		"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5",
		"application/json", "", "*/*",
	} {
		rec := get(t, reg, map[string]string{"Accept": accept})
		require.Equal(t, ContentType, rec.Header().Get("Content-Type"), accept)
		_, err := textParse(rec.Body)
		require.NoError(t, err, accept)
	}
}

// A collector that fails is logged, and everything else, including what
// it recorded before failing, is served; so is everything when a series
// does not fit its desc, a family is claimed by two different descs, or a
// series comes twice.
func TestFailingCollectorIsLoggedAndTheRestServed(t *testing.T) {
	other := NewDesc(Counter, "test_gauge", "Another family under the same name.", "k")
	fine := NewDesc(Counter, "fine_total", "Fine.")
	var mu sync.Mutex
	var logged []string
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, fmt.Sprintf(format, args...))
	}
	reg := NewRegistry(logf,
		CollectorFunc(func(s *Scrape) error {
			s.Value(testGaugeDesc, 7, "before-failing")
			return errors.New("the disk is on fire")
		}),
		CollectorFunc(func(s *Scrape) error {
			s.Value(testGaugeDesc, 1, "too", "many")        // two values for one label
			s.Value(other, 1, "x")                          // a counter where test_gauge is a gauge
			s.Value(testGaugeDesc, 8, "before-failing")     // a series again
			s.Value(testGaugeDesc, 9, "bad\xffutf8")        // not UTF-8
			s.Histogram(testGaugeDesc, nil, nil, 0, 0, "h") // a gauge given as a histogram
			s.Value(fine, 3)
			return nil
		}),
	)
	rec := get(t, reg, nil)
	require.Equal(t, "# HELP fine_total Fine.\n# TYPE fine_total counter\nfine_total 3\n"+
		"# HELP test_gauge A gauge.\n# TYPE test_gauge gauge\ntest_gauge{k=\"before-failing\"} 7\n", rec.Body.String())
	require.Len(t, logged, 6, strings.Join(logged, "\n"))
	for _, want := range []string{"the disk is on fire", "2 label values", "another desc names a gauge", "collected twice", "not valid UTF-8", "Histogram given for a gauge"} {
		require.True(t, containsSubstring(logged, want), "no log line with %q in\n%s", want, strings.Join(logged, "\n"))
	}
	require.Error(t, reg.Write(io.Discard), "Write returns what ServeHTTP logs")
}

func containsSubstring(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// A family with no series this scrape is left out, as client_golang left
// it out; one scrape's series do not leak into the next.
func TestEachScrapeStartsEmpty(t *testing.T) {
	var mu sync.Mutex
	values := []string{"a", "b"}
	reg := NewRegistry(t.Logf, CollectorFunc(func(s *Scrape) error {
		mu.Lock()
		defer mu.Unlock()
		for i, v := range values {
			s.Value(testGaugeDesc, float64(i), v)
		}
		return nil
	}))
	require.Equal(t, "# HELP test_gauge A gauge.\n# TYPE test_gauge gauge\ntest_gauge{k=\"a\"} 0\ntest_gauge{k=\"b\"} 1\n", get(t, reg, nil).Body.String())
	mu.Lock()
	values = []string{"c"}
	mu.Unlock()
	require.Equal(t, "# HELP test_gauge A gauge.\n# TYPE test_gauge gauge\ntest_gauge{k=\"c\"} 0\n", get(t, reg, nil).Body.String())
	mu.Lock()
	values = nil
	mu.Unlock()
	require.Empty(t, get(t, reg, nil).Body.String())
}

// Scrapes at once each get their own series (run with -race).
func TestConcurrentScrapes(t *testing.T) {
	reg := NewRegistry(t.Logf, NewGoCollector(), NewProcessCollector(), gaugeCollector("a", "b", "c"))
	want := `test_gauge{k="c"} 2`
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			for range 10 {
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				if i%2 == 0 {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				rec := httptest.NewRecorder()
				reg.ServeHTTP(rec, req)
				body := rec.Body.String()
				if i%2 == 0 {
					zr, err := gzip.NewReader(rec.Body)
					if err != nil {
						errs <- err
						return
					}
					b, err := io.ReadAll(zr)
					if err != nil {
						errs <- err
						return
					}
					body = string(b)
				}
				if !strings.Contains(body, want) || strings.Count(body, "# TYPE go_goroutines ") != 1 {
					errs <- fmt.Errorf("scrape %d: %q", i, body)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// Enough series to span several flushes come out whole and in order.
func TestLargeExpositionIsWrittenWhole(t *testing.T) {
	const n = 5000
	values := make([]string, n)
	for i := range values {
		values[i] = fmt.Sprintf("series-%05d-%s", i, strings.Repeat("x", 20))
	}
	text := renderOne(t, gaugeCollector(values...).Collect)
	require.Greater(t, len(text), 4*flushAt)
	families, err := textParse(strings.NewReader(text))
	require.NoError(t, err)
	metrics := families["test_gauge"].GetMetric()
	require.Len(t, metrics, n)
	for i, m := range metrics {
		require.Equal(t, values[i], m.GetLabel()[0].GetValue())
		require.Equal(t, float64(i), m.GetGauge().GetValue())
	}
}

// A histogram or summary whose points Prometheus could not read is left
// out and logged: bounds out of order or not finite, counts that do not
// match the bounds, quantiles outside [0, 1] or out of order.
func TestMalformedHistogramsAndSummariesAreRefused(t *testing.T) {
	h := NewDesc(Histogram, "test_seconds", "A histogram.", "k")
	sm := NewDesc(Summary, "test_summary_seconds", "A summary.", "k")
	var logged []string
	reg := NewRegistry(func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) },
		CollectorFunc(func(s *Scrape) error {
			s.Histogram(h, []float64{1, 0.5}, []uint64{1, 2}, 2, 1, "descending")
			s.Histogram(h, []float64{1, 1}, []uint64{1, 2}, 2, 1, "repeated")
			s.Histogram(h, []float64{1, math.Inf(1)}, []uint64{1, 2}, 2, 1, "infinite")
			s.Histogram(h, []float64{math.NaN()}, []uint64{1}, 2, 1, "nan")
			s.Histogram(h, []float64{1, 2}, []uint64{1}, 2, 1, "short")
			s.Histogram(h, []float64{0.5, 1}, []uint64{1, 2}, 3, 1.5, "fine")
			s.Summary(sm, []float64{0.5, 1.5}, []float64{1, 2}, 2, 3, "above-one")
			s.Summary(sm, []float64{0.9, 0.5}, []float64{1, 2}, 2, 3, "descending")
			s.Summary(sm, []float64{0.5}, []float64{1, 2}, 2, 3, "short")
			s.Summary(sm, []float64{0.5, 0.99}, []float64{1, 2}, 2, 3, "fine")
			s.Value(h, 1, "a histogram given a value")
			return nil
		}))
	rec := get(t, reg, nil)
	require.Equal(t, `# HELP test_seconds A histogram.
# TYPE test_seconds histogram
test_seconds_bucket{k="fine",le="0.5"} 1
test_seconds_bucket{k="fine",le="1"} 2
test_seconds_bucket{k="fine",le="+Inf"} 3
test_seconds_sum{k="fine"} 1.5
test_seconds_count{k="fine"} 3
# HELP test_summary_seconds A summary.
# TYPE test_summary_seconds summary
test_summary_seconds{k="fine",quantile="0.5"} 1
test_summary_seconds{k="fine",quantile="0.99"} 2
test_summary_seconds_sum{k="fine"} 3
test_summary_seconds_count{k="fine"} 2
`, rec.Body.String())
	require.Len(t, logged, 9, strings.Join(logged, "\n"))
}
