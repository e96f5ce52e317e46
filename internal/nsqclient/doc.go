// Package nsqclient owns the client side of nsqd's TCP protocol V2, for the
// tools and the tests: a Producer (PUB, MPUB, DPUB over one connection per
// nsqd, synchronous or pipelined) and a Consumer (one topic/channel from
// many nsqds, found directly or by polling lookupds through
// internal/lookupdhttp, with go-nsq's flow control, backoff and graceful
// stop).
// It follows go-nsq 1.1's behaviour and option names (Options.Set accepts
// what --consumer-opt and --producer-opt pass) without depending on it.
//
// # Consumer goroutines and locks
//
// A Consumer runs:
//   - one goroutine per nsqd address (target.run) that owns that address's
//     connection: it dials, reads frames until the connection ends, then
//     reconnects with backoff until the address is dropped or the consumer
//     stops;
//   - the handler goroutines, which take messages from a channel fed by the
//     connection readers and stop when it is closed;
//   - a control goroutine for the backoff timer and RDY redistribution, and
//     a lookupd poller when lookupds are used; both stop at Stop;
//   - after Stop, one finisher that waits for the connections to drain
//     (closing them at StopTimeout), then for the handlers, then closes
//     Done().
//
// Every timer and timestamp of a Consumer (RDY redistribution and its
// idle checks, the backoff pause, lookupd polls and their jitter,
// reconnection waits, StopTimeout) comes from Options.Clock, so a test
// moves time by advancing a clock.Fake instead of waiting for it. Socket
// deadlines (dial, read and write timeouts) stay on the wall clock: the
// kernel keeps them.
//
// Consumer.mu guards the connection and address sets and the RDY and
// backoff state; it is never held during network I/O. RDY values are
// decided under it and written afterwards by syncRDY, which always writes
// the latest decision, so concurrent decisions cannot reorder on the wire.
// Per-connection counters (in flight, last message) are atomics, so that
// Finish, the hot path, takes no consumer-wide lock.
//
// # Producer
//
// A Producer dials lazily on the first command and again after a failure.
// Commands are written and appended to the FIFO of outstanding ones under
// Producer.mu, so the FIFO order is the wire order; the connection's reader
// goroutine matches each OK or error frame to the oldest outstanding
// command, as go-nsq does.
package nsqclient

import "github.com/nsqgo/nsq/internal/logging"

// logLevel is the leveled logger's level, named here for brevity.
type logLevel = logging.Level

const (
	debugLevel = logging.Debug
	infoLevel  = logging.Info
	warnLevel  = logging.Warn
	errorLevel = logging.Error
)
