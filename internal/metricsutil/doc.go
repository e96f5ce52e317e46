// Package metricsutil builds the exposition every daemon serves at
// /metrics: the daemon's own collector plus what all of them share, the Go
// and process collectors and nsq_build_info, so the three expositions
// (nsqd/metrics/prometheus, nsqlookupd/metrics.go, nsqadmin/metrics.go)
// agree on those series.
//
// It imports internal/version and internal/promexpo only: the daemons
// import it, never the other way.
package metricsutil
