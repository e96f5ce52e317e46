package tooltest

import (
	"testing"

	"github.com/nsqgo/nsq/internal/tooltest/daemons"
)

// NSQD is an in-process nsqd on loopback ports.
type NSQD struct{ *daemons.NSQD }

// StartNSQD runs an nsqd on 127.0.0.1 with fresh ports and data dir,
// registered with the given lookupd TCP addresses, stopped when the test
// ends.
func StartNSQD(t testing.TB, lookupdTCP ...string) NSQD {
	t.Helper()
	return NSQD{daemons.StartNSQD(t, lookupdTCP, nil)}
}

// Lookupd is an in-process nsqlookupd on loopback ports.
type Lookupd struct{ *daemons.Lookupd }

// StartLookupd runs an nsqlookupd on 127.0.0.1, stopped when the test ends.
func StartLookupd(t testing.TB) Lookupd {
	t.Helper()
	return Lookupd{daemons.StartLookupd(t, nil)}
}
