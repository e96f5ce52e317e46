// Package nsqd is the message daemon as a library: New(opts) binds the
// listeners, Main serves, Exit stops. It owns topics, channels, the V2 TCP
// protocol and the clients' connections; the HTTP API is nsqd/httpserver's,
// served over the daemon's operations (http_daemon.go).
//
// # Data path
//
//	PUB/MPUB/DPUB (reader goroutine of the publishing connection)
//	  │  body read into one slab per batch (a body over 8 KB into its own memory,
//	  │  straight from the layer under the read buffer: body_alloc.go, client_conn.go);
//	  │  IDs and timestamp stamped per batch
//	  ▼
//	Topic.PutMessages ── no channel yet, or paused ──▶ topic's held messages (queue.Held: records → disk)
//	  │  under the topic's read lock, one append per channel per batch
//	  ▼
//	Channel.put ── DeliverAt in the future ──▶ deferred heap ──timer──┐
//	  │            (durable ones also in the deferred store on disk)   │
//	  │  memory ring up to --mem-queue-size (→ backlog on disk)        │
//	  │  (all in the channel's queue, nsqd/queue; disk writes done     │
//	  │   after Channel.mu is released)                                │
//	  ▼                                                                ▼
//	Channel.take ◀── client pump, while credit = RDY − in flight > 0
//	  │  a batch moves to the client's in-flight set (per client, with a
//	  │  deadline FIFO) and is written into its buffered writer; the pump
//	  │  flushes as soon as nothing more is ready or credit runs out
//	  ▼
//	consumer ── FIN ──▶ removed from the client's in-flight set
//	         ── REQ ──▶ channel ring (delay 0) or deferred heap
//	         ── timeout / disconnect ──▶ channel ring, at once
//
// A disconnecting consumer's in-flight set goes back in runs of 256 from one
// buffer (inFlight.drainEach), not as a copy of all of it: a disk-mode daemon
// peaks in memory right then, with every reader's messages in flight.
//
// A topic copies each published batch once into its records
// (queue.SharedRecords: packed, 8 bytes a message besides the body, for a
// batch as publish makes it, nsqd/queue/packed.go) and every channel's memory
// ring holds runs of them (nsqd/queue/ready.go); a consumer takes a copy
// (Message, a value).
// The body is shared and never modified while a ring points at it, and
// records come in blocks of many batches, each counted by the rings and
// publishers holding it and reused once none does (nsqd/queue/records.go),
// so fan-out allocates nothing per message. Once the channels' memory is
// full, a batch that two or more channels write to their disks is encoded
// and checksummed once (queue.Frames, Topic.frameForCommits) and each
// channel's disk queue copies the framed records (diskqueue's PutFramed):
// the same bytes Put would store, one encoding instead of one per channel. With the
// topology experiment on, Channel.take keeps a less local consumer from what
// idle, more local consumers have credit for (topology.go).
//
// What a topic held (no channel yet, paused, starting) is handed over when
// it starts to distribute. The memory part is records too
// (nsqd/queue/held_memory.go), and every channel's ring points at them,
// run by run, under the topic's write lock (Held.HandOverMemory,
// Queue.RequeueShared): nothing is copied, so it keeps its place before
// later publishes at the cost of a ring run per block per channel. The disk
// part is moved by the drain goroutine a batch at a time, as the records
// were read wherever a channel would put the whole batch on its own disk
// (Held.ReadRecords, Queue.BeginPutRecords: same encoding on both sides),
// decoded only for a channel that keeps, defers or kills some of it; the
// topic releases its records once every channel stored them.
//
// # Goroutines
//
// Per connection: a reader that executes commands (protocol_v2.go) and a
// pump that delivers, heartbeats and expires in-flight messages (pump.go).
// A consumer FINs every message, in bursts: the reader takes the plain
// "FIN <id>\n" lines buffered behind a FIN without the general parse
// (protocol.ParseFinLine) and applies the burst under one lock of the
// in-flight set per 16 FINs (finBatch). When a burst frees credit while
// the pump waits for credit, the reader delivers it itself before its next
// read (deliverInline, pump.go) rather than waking the pump, and those
// frames are flushed when its next read would wait.
// Channels have no goroutine; a channel arms one timer (from the
// injectable clock) for its queue's next deferred deadline. A topic runs
// one only while it hands its disk backlog to its channels (Topic.drain),
// reading the disk with the topic lock released. NSQD owns the listener goroutines and waits for every
// connection in Exit.
//
// # Connection layers
//
//	bufio reader/writer ─ [snappy | deflate] ─ deadlineConn ─ [TLS] ─ socket (TCP or unix)
//
// A body too big to share a slab is read past the read buffer once that is
// empty (client_conn.go, directReader), from whichever layer the buffer
// fills from: its bytes are copied once, from the socket (or the
// decompressor) into the message's memory, not read ahead into the buffer
// and copied again.
//
// IDENTIFY may add TLS and then one compression (upgrade.go; the layers
// themselves are nsqd/connlayer's, put in place by client_conn.go): the
// reply goes out in the clear, then each layer is put in place in both
// directions by the reader goroutine while it holds writeMu, and confirmed
// with an OK in the new encoding. deadlineConn bounds every transport read (by
// the client's idle timer, on the daemon's clock: timeouts.go) and write (a
// socket deadline) by the heartbeat interval, whatever sits above or below it.
//
// # Lock order
//
//	NSQD.mu → Topic.mu → Channel.mu → client.inFlight.mu
//
// client.writeMu (the output buffer) and client.settingsMu/pubMu are leaves:
// nothing else is locked while they are held. NSQD.clientsMu is a leaf too.
// Hooks that reach other topics or the network (metadata, lookupd) run with
// no lock held.
//
// LOCKS.md beside this file is the full account, for this package and
// internal/diskqueue together: every mutex, what it guards and what may be
// taken while it is held, the state kept in atomics, which goroutine owns
// what, and the known exceptions (disk I/O under a channel or topic lock).
// lockorder_test.go fails when a mutex is added without a row there.
//
// # Packages
//
// Parts with one job each sit in packages of their own beneath this one;
// nsqd imports them and they never import nsqd (internal/docrules checks
// it). Where a part needs something of the daemon it asks through a small
// interface that nsqd's types implement.
//
//	nsqd/auth            a TCP connection's AUTH state, renewal and publish cache (auth.Conn:
//	                     client_auth.go), and the HTTP API's --http-auth guard (http_auth.go)
//	nsqd/connlayer       snappy, deflate and the TLS handshake under a connection's buffers, the
//	                     TLS configurations (the client swaps the layers: client_conn.go)
//	nsqd/httpserver      the HTTP API: routes, parameters, error tokens, answers, one listener's
//	                     server; it asks the daemon through httpserver.Daemon, which
//	                     http_daemon.go implements by topic and channel name (/stats and
//	                     /metrics are rendered here and handed over as a value and a handler)
//	nsqd/stats           the /stats shapes (JSON keys, text rendering, memory section); the
//	                     daemon fills them under its locks (stats.go, names in stats_shapes.go)
//	nsqd/metrics/e2e     the e2e latency percentile windows a channel's FIN feeds (metrics_hooks.go)
//	nsqd/metrics/prometheus
//	                     the /metrics collector, its histograms and the refused-publish counts,
//	                     fed a snapshot per scrape (metrics_hooks.go builds it and keeps the handler)
//	nsqd/metrics/statsd  the statsd lines, datagrams and push loop, fed a snapshot of /stats
//	nsqd/queue           the channel's queue (Queue) and the topic's held messages (Held)
//	internal/authclient  the auth server client and answer rules (shared with nsqadmin)
//
// # Imports
//
// nsqd uses the shared pieces under internal/ (authclient, diskqueue,
// httpapi, logging, lookupclient, protocol, version). It must never import
// another daemon (nsqlookupd, nsqadmin), a command under apps/, or a test
// helper (internal/tooltest); internal/docrules checks this.
package nsqd
