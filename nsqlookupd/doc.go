// Package nsqlookupd owns the lookup daemon: the registration database of
// which nsqd holds which topic and channel, the V1 TCP protocol nsqds use to
// keep it current, and the HTTP API consumers and tools query it with. It
// keeps everything in memory; a restart starts empty and the nsqds
// re-register when they reconnect.
//
// # Data flow
//
//	nsqd --TCP "  V1" IDENTIFY/REGISTER/UNREGISTER/PING--> v1Protocol
//	     --> registry (producers per topic/channel key, last PING, tombstones)
//	     <-- HTTP /lookup, /nodes, /topics, /channels <-- consumer / nsqadmin
//
// Each TCP connection is one registrant (a "peer", identified by its remote
// address). Its goroutine parses commands and applies them to the registry;
// when the connection ends, for whatever reason, every registration it held
// is removed at once. HTTP handlers only read the registry (or edit keys for
// the admin endpoints); they never touch connections.
//
// # Time
//
// Every time the registry keeps or compares (a peer's IDENTIFY and last
// PING, a tombstone's start, the inactivity and tombstone windows of
// /lookup, /nodes and /metrics) comes from Options.Clock (internal/clock;
// the wall clock when nil), read by the caller and passed in as now. The
// registry arms no timers: the windows are checked when a query asks, so a
// test moves a clock.Fake past a boundary and queries again. The TCP
// protocol has no deadlines of its own; only the accept loop's back-off
// after a temporary error waits on the wall clock.
//
// # Locks and ordering
//
// There are two locks and they are never held together:
//
//   - registry.mu (RWMutex) guards every key and producer, tombstone state
//     included. It is held only for in-memory map work; no I/O ever happens
//     under it, so a slow or stuck client cannot delay other producers or
//     queries. A peer's last-update time is an atomic outside the lock so
//     PING never takes it.
//   - NSQLookupd.mu guards the set of live TCP connections and the
//     started/exiting flags, so Exit can close every connection and no new
//     goroutine starts after Exit began waiting.
//
// # Goroutines
//
// Main starts the TCP accept loop and the HTTP server; the accept loop starts
// one goroutine per connection. All of them are counted in NSQLookupd.wg and
// Exit closes the listeners and connections and waits for every one.
//
// # Imports
//
// It uses internal/clock, httpapi, logging, protocol and version, and must never
// import nsqd or nsqadmin: the daemons share code only through internal/
// (checked by internal/docrules).
package nsqlookupd
