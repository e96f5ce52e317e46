// Package daemons runs nsqd and nsqlookupd in-process on loopback for
// tests. It is apart from tooltest because tooltest uses the client
// library: nsqclient's own tests start their daemons here. (nsqlookupd's
// and lookupclient's cannot: nsqlookupd, and nsqd through lookupclient,
// are imported here.) It is imported only by tests.
//
// It may import the daemons (nsqd, nsqlookupd) and internal/logging, but
// never internal/nsqclient or anything that imports it, or nsqclient's
// tests could not use it.
package daemons
