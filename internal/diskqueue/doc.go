// Package diskqueue owns the on-disk FIFO behind every non-ephemeral topic
// and channel of nsqd: segment files of checksummed records, the metadata
// file holding the read and write positions, and the recovery that turns
// whatever a crash or a broken disk left behind into a readable queue.
//
// A queue is a numbered series of segment files plus one metadata file,
// named as upstream NSQ names them so that an upstream data directory is
// adopted in place. New segments use this package's versioned format
// (FORMAT.md beside this file is the specification); segments written by
// upstream nsqd 1.3 are read as they are and their records are marked
// Legacy.
//
// Concurrency. Put may be called from any number of goroutines: callers
// queue their batches and whichever caller holds the writer role writes every
// waiting batch with one write call and, if the sync policy asks for it, one
// fsync (group commit), in pieces of 256 KB for a large group; PutBatch
// does the same for records the writer encodes itself, and PutFramed for
// records framed once beforehand (Framed, for one batch put into several
// queues; framed.go). Read may run concurrently with Put; concurrent Reads
// are serialised. Ack may be called from any number of goroutines, at any
// time. Lock order, outermost first:
//
//	wmu (writer role: write segment file, writer state)
//	w.ahead.busy (a background flush ahead is running: taken under wmu,
//	             released by the flush's goroutine; flushahead.go)
//	removing (removeLoop is removing released segments, or Sync waits
//	         for it to finish: taken alone, never with wmu or a reader
//	         role; queue.go)
//	rmu (reader role: read segment file, reader state)
//	Cursor.rmu (a cursor's reader role: its read file and reader state)
//	mu  (shared state: positions, depth, counters, pending batches)
//	lmu (a log's cursors, and which of its segments removal claimed)
//	Cursor.mu  (a cursor's positions, intervals, depth, counters)
//	amu, Cursor.amu (records read and not yet acknowledged)
//
// The Queue's reading end and each Cursor's are one type (consumer.go),
// guarded by its owner's locks above: the reader under rmu (or
// Cursor.rmu), the read state (positions, depth, FIN progress, counters)
// under mu (or Cursor.mu), acknowledgements and read memory under amu (or
// Cursor.amu).
//
// mu, lmu and the amus are only ever held for short, non-blocking sections;
// file I/O happens under wmu or a reader role alone (a cursor's metadata
// under wmu). Ack takes amu alone, so acknowledging never waits for file
// I/O. A cursor's Read ends under mu and then its own mu (nested, so that
// it judges the tail against the write end its depth counts); a Put's
// publication counts the new records in the joined cursors' depth under
// mu, lmu and each Cursor.mu in that order.
//
// Logs. A queue opened with Options.Log has no reader of its own: it is
// read through named cursors (Queue.Cursor; cursor.go), each joined over
// intervals of write positions (Join, Leave) and receiving the records put
// while it was joined, with its own acknowledgements, FIN progress, depth,
// read memory and metadata file. A segment stays until no cursor needs it.
// FORMAT.md, "Logs and cursors", has the rules.
//
// Durability. With SyncEvery=1 a Put that returns nil has been fsynced. The
// metadata file is written at Close, every SyncTimeout while anything
// changed, at Sync, after Empty and after Open repaired something; it is
// never needed to find the end of the data, because Open recovers the write
// end by scanning the newest segments.
//
// Acknowledgements. A record returned by Read is outstanding until its Seq
// is passed to Ack. The read position written to the metadata is the oldest
// outstanding record, so a record that was read but not finished when the
// process died (or when the queue was closed) is delivered again after
// Open. Past it the metadata lists which records were still unfinished
// (progress.go), so the finished ones after it are not delivered again,
// except those acknowledged since the last metadata write (at-least-once:
// duplicates within one SyncTimeout, never loss). A segment is removed only once the reader has
// left it and all its records are acknowledged. FORMAT.md, "Acknowledgements
// and redelivery", has the details.
//
// Read memory. Each Read copies its records out of the segment buffer. With
// Options.ReuseReads the copies go into slabs that are reused once every
// record in them was acknowledged with Done, the caller's word that nothing
// reads the record any more; Ack and Keep leave a record's bytes to the
// caller for good (readmem.go).
//
// It is a leaf: it imports nothing of this module. The lock order of the
// queue together with nsqd's locks above it is in nsqd/LOCKS.md.
package diskqueue
