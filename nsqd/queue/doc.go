// Package queue owns where a channel keeps its messages: the ready ring
// (ready.go: runs of records, records.go and packed.go, over ring.go; their
// fresh blocks written a word per page at once, prefault.go), the deferred heap (heap.go), the disk backlog and the deferred
// store (store.go), behind one small API with no goroutines, no locks
// callers must know about and no wall clock: time comes in as a parameter,
// and NextDeadline tells the caller when to come back. The nsqd package
// keeps the channel's lock, its consumers and their wake-ups, and the one
// timer that follows NextDeadline.
//
// The API (queue.go):
//
//	Open(Config)                     backlog opened, store left by a crash loaded
//	Put(msgs, now)                   new messages: ready, spilled, or deferred
//	PutShared(shared, now)           Put of a topic's records (SharedRecords.Copy): the ring points at them
//	Requeue(msgs, now)               messages back from a consumer (DeliverAt > now: with a delay)
//	Take(dst, max), TakeReady        a batch for a consumer from memory, and how many
//	ReadBacklog(dst, n, now, later)    to read from the backlog without the caller's lock
//	PromoteDue(now), NextDeadline()  the deferral timer's work
//	Finish(&m)                       FIN: releases the message's disk record
//	Depth, BacklogDepth, ReadyInMemory, DeferredCount, Dropped, DiskStats, OldestReady
//	Peek(dst, Ready|Deferred, n)     copies, nothing consumed
//	Empty (BeginEmpty, DropMemory, DropDisk), Flush, Close, Delete
//	AttachCursor(c)                  a topic log's cursor, read as a second backlog (cursor_backlog.go)
//	Config.Policy, Config.Kill       the dead path: attempts limit (Requeue) and TTL (Take,
//	                                 PromoteDue) hand dying messages to Kill from Commit (dying.go)
//
// No disk I/O runs inside the calls made under the caller's lock.
// ReadBacklog reads without it. A call that needs
// a write returns a *Pending; the caller releases its lock, calls Commit
// (the writes, fsync included), takes its lock again and calls Settle,
// which applies the outcome and may return follow-up work (a store
// compaction). A write that fails is never reported as stored: Settle
// returns its error, and keeps in memory what already belonged to the
// channel (disk.go).
//
// A Message carries one opaque word of the queue's (its receipt: which
// disk record, if any, it holds), so Finish is a single lock-free
// acknowledgement of the disk queue with no lookup and no allocation.
//
// Held (held.go) is the queue's sibling for a topic's held messages (while
// the topic has no channel, is paused or is starting): the same ring,
// record encoding, grouped write and Pending/Commit/Settle steps, without
// deferral, in-flight messages or a dead set. Its memory has a leaf lock of
// its own, for a topic's publishers hold the topic's lock only for
// reading; its disk part is written with no lock of the caller's.
//
// Empty (empty.go) clears memory under the caller's lock and the files
// with it released (BeginEmpty, DropMemory, DropDisk; Held.Empty); a
// Pending begun before an Empty is emptied whole, one begun after it is
// kept whole.
//
// The transcripts under testdata/ are the queue's scenario tests, on real
// files: deferral order, requeue with a delay, spill to disk and back,
// crash and reopen, the store's compaction, duplicates after a crash, disk
// failures, the attempts limit, TTL, crashes around a death, Empty against
// writes under way, and the held messages (held*.txt; transcript_test.go,
// harness_test.go, held_harness_test.go).
package queue
