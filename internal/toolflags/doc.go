// Package toolflags owns the command-line plumbing the client tools
// (to_nsq, nsq_tail, nsq_to_nsq, nsq_to_http, nsq_stat) share, so that
// they agree with upstream and with each other: repeatable flags,
// --consumer-opt / --producer-opt, --version, the exit statuses (2 for a
// bad command line, as the flag package; 1 for a failed validation, as
// upstream's log.Fatal) and the --nsqd-tcp-address / --lookupd-http-address
// source pair.
//
// It uses internal/logging, nsqclient and version, and must never import a
// daemon: the tools reach nsqd and nsqlookupd over the network only.
package toolflags
