// Package chaos is the project's own fault harness: it runs a built nsqd as
// a child process and, while concurrent publishers (PUB, MPUB, DPUB) and
// consumers (FIN, REQ with and without a delay, messages left to time out)
// record everything they were told and given, a nemesis kills it (-9),
// stops it gracefully, freezes it (SIGSTOP/SIGCONT), damages closed segment
// files and fills its disk. After a final drain a checker compares the
// history against the daemon's promises (README, "Durability"): nothing
// acknowledged lost outside damaged records, nothing unexpected, no DPUB
// early, and every duplicate explained by a fault within the replay bound.
// With several channels of the topic (Config.Channels) every rule holds per
// channel: each acknowledged publish must be finished on every channel, and
// a duplicate on a channel is explained only by what happened on it.
//
// test/chaos is the command (make chaos); chaos_test.go runs a short version
// in make test and tests the checker itself.
//
// It imports nothing of this module: the nsqd under test is a separate
// process, driven over the wire like any client's.
package chaos
