// Package timermetrics is the tools' --status-every log: after every N
// requests it logs their 99th and 95th percentile and mean duration, as
// upstream's bitly/timer_metrics does for nsq_to_nsq and nsq_to_http.
//
// It imports nothing of this module; only the tools import it.
package timermetrics
