// Package statsd owns nsqd's statsd output (--statsd-*): the metric lines
// in upstream's names, types and order with counters sent as deltas
// (lines.go), their packing into datagrams that never split a line
// (packer.go), and the push loop that dials, renders and spreads each
// round of datagrams over the interval (push.go).
//
// It knows nothing of nsqd's types: each push reads a Snapshot through the
// function nsqd gives it (nsqd/metrics_hooks.go builds one from /stats),
// and its time comes from the internal/clock it is given. It imports the
// e2e percentile type (nsqd/metrics/e2e) and the shared internal pieces
// (clock, logging, protocol), never nsqd.
package statsd
