package diskqueue

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Options configure a queue. Zero values of the tuning fields take the
// defaults below (upstream nsqd's defaults); MinMsgSize zero means empty
// records are accepted.
type Options struct {
	Dir             string                           // directory for this queue's files (exists)
	Name            string                           // queue name; files are named from it (upstream-compatible names)
	MaxBytesPerFile int64                            // segment rollover size
	MinMsgSize      int32                            // smallest record accepted on write (nsqd passes 26 = message header)
	MaxMsgSize      int32                            // largest record accepted (nsqd passes max-msg-size + header)
	SyncEvery       int64                            // fsync after this many records written (1 = every write call)
	SyncTimeout     time.Duration                    // fsync and persist FIN progress at least this often when anything changed
	Logf            func(format string, args ...any) // may be nil
	// SyncObserver, when set, is told how long each data fsync took (on
	// success or failure). It runs once per fsync, never per record, on the
	// writing goroutine, so it must be quick (nsqd adds to a histogram).
	SyncObserver func(time.Duration)
	// ReadOnWrite makes every record count as read the moment Put writes
	// it: Put returns the records' Seqs, they never enter Depth and Read
	// never returns them, and each stays on disk until acknowledged (and
	// comes back from Read after a crash or Close until it is). Read then
	// returns only what an earlier run left, and every record left must be
	// read before the first Put, or Put fails with ErrUnread. nsqd's
	// deferred store keeps its records this way (nsqd/queue/store.go).
	ReadOnWrite bool
	// Log opens the queue as a log: it has no reader of its own, and is
	// read through named cursors (Queue.Cursor), each with its own read
	// position, acknowledgements and metadata file, and each receiving
	// the records put while it is joined (cursor.go). Read, Peek, Scan
	// and Empty of the queue itself fail; its Depth is 0. A queue's files
	// are a log's or a plain queue's for good: opened the other way, a
	// plain queue's records would be removed as no cursor's, and a log's
	// read from its oldest kept segment as if they were all unread.
	Log bool
	// ReuseReads lets Read copy records into memory that earlier records
	// were read into, once those were acknowledged with Done (readmem.go):
	// the caller promises that nothing reads a record's Data after its Done.
	// A record acknowledged with Ack, or passed to Keep, may be used for as
	// long as the caller likes. Without it every Read's memory is fresh and
	// left to the garbage collector.
	ReuseReads bool
	// FreshReadMemory, when set, is called with each new slab that reads
	// copy records into (ReuseReads) before anything is written to it, so
	// that the caller can advise the kernel about it (nsqd shows it to its
	// huge page advisor, internal/hugepage, as it does its publishers'
	// bodies). It must not keep the slice.
	FreshReadMemory func(b []byte)
}

const (
	defaultMaxBytesPerFile = 100 * 1024 * 1024
	defaultMaxMsgSize      = 1024*1024 + 26
	defaultSyncEvery       = 2500
	defaultSyncTimeout     = 2 * time.Second
)

func (o Options) withDefaults() Options {
	if o.MaxBytesPerFile <= 0 {
		o.MaxBytesPerFile = defaultMaxBytesPerFile
	}
	if o.MaxMsgSize <= 0 {
		o.MaxMsgSize = defaultMaxMsgSize
	}
	if o.SyncEvery <= 0 {
		o.SyncEvery = defaultSyncEvery
	}
	if o.SyncTimeout <= 0 {
		o.SyncTimeout = defaultSyncTimeout
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.Dir == "":
		return errors.New("options: Dir is empty")
	case o.Name == "":
		return errors.New("options: Name is empty")
	case strings.ContainsAny(o.Name, "/\x00"):
		// The name becomes part of file names inside Dir, never a path:
		// every file name is the name plus a ".diskqueue." suffix, so even
		// "." and ".." (valid NSQ topic names) name plain files, as
		// upstream names them ("..diskqueue.meta.dat" for ".").
		return fmt.Errorf("options: Name %q cannot be part of a file name", o.Name)
	case o.MinMsgSize < 0:
		return fmt.Errorf("options: MinMsgSize %d is negative", o.MinMsgSize)
	case o.Log && o.ReadOnWrite:
		return errors.New("options: Log and ReadOnWrite exclude each other")
	case o.MinMsgSize > o.MaxMsgSize:
		return fmt.Errorf("options: MinMsgSize %d is over MaxMsgSize %d", o.MinMsgSize, o.MaxMsgSize)
	}
	return nil
}

// Stats is a snapshot of a queue's counters.
type Stats struct {
	Depth   int64 // records written and not yet read
	Unacked int64 // records read and not yet acknowledged (see Queue.Ack)

	ReadFile, ReadPos   int64 // next record to read: segment number, byte offset
	WriteFile, WritePos int64 // where the next record goes

	// Damage skipped since Open. SkippedRecords is a lower bound: a damaged
	// region whose record boundaries cannot be trusted counts as one.
	SkippedRecords int64
	SkippedBytes   int64
	TruncatedBytes int64 // torn tail removed at Open (never acknowledged under SyncEvery=1)

	WriteErrors int64 // failed writes, fsyncs and metadata writes
	ReadErrors  int64 // failed reads (I/O errors, not damage)
	Syncs       int64 // data fsyncs
	Health      error // last write error; nil once a later write succeeded
}

// ErrClosed is returned by operations on a closed queue.
var ErrClosed = errors.New("diskqueue: closed")

// ErrUnread is returned by Put on a ReadOnWrite queue that still holds
// records not yet read.
var ErrUnread = errors.New("diskqueue: records left unread before a read-on-write put")

// ErrRecordSize is wrapped by Put's error for a record outside
// [MinMsgSize, MaxMsgSize].
var ErrRecordSize = errors.New("record size out of bounds")

// errLogRead is returned by Read on a queue opened with Options.Log: a log
// is read through its cursors only (cursor.go).
var errLogRead = errors.New("diskqueue: a log is read through its cursors")
