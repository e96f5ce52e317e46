// Package lookupclient owns nsqd's side of its nsqlookupd connections: it
// remembers every topic and channel nsqd has registered, keeps one connection
// per configured lookupd (IDENTIFY, full registration, PING every 15 s,
// reconnect with backoff and register everything again), forwards each
// Register/Unregister to every connected lookupd, and asks the lookupds'
// HTTP APIs (through internal/lookupdhttp, at the HTTP address each
// lookupd gave in its IDENTIFY reply) which channels a topic has, for
// channel pre-creation.
//
// # Goroutines and locks
//
// Each lookupd address has one goroutine (peer.run) that owns its
// connection; while connected, that connection has one reader goroutine
// owned by the session that started it. Client.Close and SetAddresses stop
// peers by cancelling their context, which also closes the connection.
//
// Client.mu guards the registration set, the peer map and every peer's
// queue and connection state. It is never held during network I/O, so
// Register and Unregister never wait for a lookupd: they record the change
// and queue the command for the peers that are connected. A peer that is not
// connected gets nothing queued; when it connects it takes a snapshot of the
// registration set under the same lock, so nothing is lost or sent twice.
//
// # Time
//
// The PING ticker and the reconnect backoff read Options.Clock (nsqd's
// clock), so a test moves them with a fake clock instead of waiting; dial,
// write and reply timeouts bound network I/O on the wall clock.
package lookupclient
