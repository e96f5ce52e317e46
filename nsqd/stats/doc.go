// Package stats owns the shapes of nsqd's /stats answer: the JSON document
// and the snapshot of topics, channels and clients in it (snapshot.go),
// with upstream's keys in upstream's order and our additions omitted while
// zero (queue.go), the end-to-end latency summary (latency.go), the memory
// section (memory.go), and the text rendering of /stats?format=text
// (text.go).
//
// It is plain data and pure functions: the daemon fills a Snapshot under
// its own locks (nsqd/stats.go), and /stats, the statsd push
// (nsqd/metrics_hooks.go) and the Prometheus collector
// (nsqd/metrics/prometheus) read it. A field must never be renamed or
// reordered: nsqadmin, nsq_stat and upstream's tools parse the JSON.
//
// It never imports nsqd; of this module it imports only the e2e
// percentile type (nsqd/metrics/e2e).
package stats
