// Package e2e owns nsqd's end-to-end processing latency percentiles
// (--e2e-processing-latency-percentile and -window-time): a channel's
// lock-free sliding-window recorder of FIN time minus publish time
// (window.go), the log-linear histogram it counts into (histogram.go), and
// the merge of one channel, or all of a topic's, into the percentiles
// /stats and statsd report (config.go).
//
// It reads no clock: FIN's and the query's times come in as arguments
// (nsqd takes them from its internal/clock). It imports nothing of this
// module; nsqd's channel reaches it through one hook (nsqd/metrics_hooks.go).
package e2e
