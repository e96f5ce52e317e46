package nsqd

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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

// BenchmarkMetricsScrape is what one scrape costs the daemon: the /metrics
// handler (every collector, the text encoding) called in-process, on the
// bench.sh node (one topic, one channel) and on a node of 20 topics with 5
// channels each, with 10 consumers. A scraper polling every second costs
// the daemon this much CPU once a second. The -gzip forms ask for gzip, as
// Prometheus does.
func BenchmarkMetricsScrape(b *testing.B) {
	for _, shape := range []struct {
		topics, channels int
		gzip             bool
	}{{1, 1, false}, {20, 5, false}, {1, 1, true}, {20, 5, true}} {
		name := fmt.Sprintf("%dx%d", shape.topics, shape.channels)
		if shape.gzip {
			name += "-gzip"
		}
		b.Run(name, func(b *testing.B) {
			n := startDaemon(b, func(o *Options) { o.Logger = io.Discard })
			for i := range shape.topics {
				topic, _ := n.GetTopic(fmt.Sprintf("topic%02d", i))
				for j := range shape.channels {
					topic.GetChannel(fmt.Sprintf("ch%d", j))
				}
			}
			publish(b, n, "topic00", numbered("m", 100)...)
			for range 10 {
				dialV2(b, n).subscribe("topic00", "ch0")
			}
			awaitSubscribers(b, n, "topic00", "ch0", 10)
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			if shape.gzip {
				req.Header.Set("Accept-Encoding", "gzip")
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				rec := httptest.NewRecorder()
				n.metrics.handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("scrape answered %d", rec.Code)
				}
			}
		})
	}
}

// BenchmarkChannelCollect is one channel's share of a scrape's snapshot:
// the /stats snapshot and the head's age, each under Channel.mu once. It
// bounds how long a scrape can hold a lock the delivery path takes.
func BenchmarkChannelCollect(b *testing.B) {
	n := startDaemon(b, func(o *Options) { o.Logger = io.Discard })
	topic, _ := n.GetTopic("t")
	topic.GetChannel("ch")
	publish(b, n, "t", numbered("m", 100)...)
	c := existingChannel(b, n, "t", "ch")
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if snap := c.collect(now); snap.Stats.MessageCount != 100 {
			b.Fatalf("the channel counted %d messages, want 100", snap.Stats.MessageCount)
		}
	}
}
