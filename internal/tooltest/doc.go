// Package tooltest holds what the client tools' tests share: in-process
// nsqd and nsqlookupd on loopback, a way to run a tool's run() in-process
// and watch its output, and helpers to publish and consume. It is imported
// only by tests.
package tooltest

import "time"

// WaitTimeout bounds every single wait in the tools' tests.
const WaitTimeout = 10 * time.Second
