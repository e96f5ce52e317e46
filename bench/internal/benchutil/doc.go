// Package benchutil is what bench_reader and bench_writer share: the run
// itself (one worker per connection, an untimed setup, an optional
// --deadline, upstream's report line) and the raw nsqd V2 protocol they
// speak without a client library (dial, IDENTIFY, frames).
//
// It imports nothing of this module: the load generators speak the wire
// protocol themselves, so a figure measures the daemon, not our client
// library (internal/nsqclient) or an in-process nsqd.
package benchutil
