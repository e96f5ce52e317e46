package nsqd

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkScrapeDuringPublishThenConsume is BenchmarkPublishThenConsume
// with and without a scraper fetching /metrics over HTTP every interval
// (a tenth of Prometheus' fastest usual setting, so any cost shows),
// sub-benchmarks of one run so that their ratio is comparable.
func BenchmarkScrapeDuringPublishThenConsume(b *testing.B) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
	}{{"plain", 0}, {"scraped-every-100ms", 100 * time.Millisecond}} {
		b.Run(tc.name, func(b *testing.B) {
			n := startDaemon(b, func(o *Options) { o.MemQueueSize = 100_000_000; o.Logger = io.Discard })
			topic, _ := n.GetTopic("bench")
			topic.GetChannel("ch")
			stop := make(chan struct{})
			done := make(chan int)
			go func() {
				scrapes := 0
				defer func() { done <- scrapes }()
				if tc.interval == 0 {
					<-stop
					return
				}
				ticker := time.NewTicker(tc.interval)
				defer ticker.Stop()
				for {
					select {
					case <-stop:
						return
					case <-ticker.C:
						resp, err := http.Get(httpURL(n, "/metrics"))
						if err != nil {
							continue
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						scrapes++
					}
				}
			}()
			const batch = 200
			batches := (b.N + batch - 1) / batch
			b.SetBytes(200)
			b.ReportAllocs()
			b.ResetTimer()
			publishBatches(b, n, "bench", batches, batch, 200)
			consumeAll(b, n, "bench", "ch", batches*batch)
			b.StopTimer()
			close(stop)
			b.ReportMetric(float64(<-done), "scrapes")
		})
	}
}
