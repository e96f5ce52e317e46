// Package prometheus owns nsqd's Prometheus exposition (GET /metrics): the
// series' names, help, types and labels (collector.go, bounds.go,
// dead.go), the per-scrape walk that turns a Snapshot into series of the
// project's own exposition (internal/promexpo) beside the Go, process and
// build-info collectors every daemon serves (internal/metricsutil), the
// lock-free duration histograms FIN and fsync record into (histogram.go),
// and the bounded count of refused publishes by protocol and error code
// (publish_errors.go).
//
// Every value is read at scrape time: nothing on the publish or delivery
// path calls the exposition code. The daemon hands the collector a
// function that builds a Snapshot from its /stats figures (nsqd/stats) and
// the few counters /stats does not show (nsqd/metrics_hooks.go); the
// collector knows nothing of nsqd's types, locks or clock.
//
// It imports the /stats shapes (nsqd/stats), internal/metricsutil,
// internal/promexpo and internal/protocol, never nsqd.
package prometheus
