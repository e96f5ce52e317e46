// Package hostpool chooses which of several destinations gets the next
// request, for the --mode flag of nsq_to_nsq and nsq_to_http:
//
//   - round-robin: each destination in turn; failures are ignored.
//   - hostpool (go-hostpool's standard pool, upstream's default): each
//     healthy destination in turn. A failure marks a destination dead; it
//     gets one trial request after 30s, then after waits doubling up to
//     15m, until a request to it succeeds. When every destination is
//     dead, all are revived at once, so requests keep flowing somewhere.
//   - epsilon-greedy: like hostpool, but among the healthy destinations
//     the one with the lowest recent response time is chosen, except for
//     a random one 30% of the time, which keeps measuring the others.
//     (go-hostpool decays its epsilon over time; a fixed one keeps this
//     free of background goroutines and behaves the same once warm.)
//
// A Pool is safe for concurrent use and starts no goroutines.
//
// It imports nothing of this module; only the tools that fan out to
// several destinations (apps/nsq_to_nsq, apps/nsq_to_http) import it.
package hostpool
