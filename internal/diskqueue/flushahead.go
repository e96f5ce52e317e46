package diskqueue

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// flushAheadBytes is how many bytes written to the write segment since its
// last fsync make the writer start a background fdatasync of them (a
// flush ahead), while putters go on writing.
//
// Why: the kernel keeps a sync interval's bytes dirty in the page cache
// until the policy's fsync (its own writeback starts only at 10% of memory
// dirty, or after 30 s), so that fsync writes and flushes all of them while
// the putter whose batch reached SyncEvery waits: about 100 ms for 2,500
// records of 64 KB (160 MB), one stall per 50 MPUBs of 50 messages. Flushed
// ahead in the background, the bytes reach the device during the putters'
// next batches, and the policy's fsync finds at most a few megabytes left.
// Small records (200 bytes: half a megabyte per sync interval at the
// default SyncEvery) never reach it.
//
// The sync policy is unchanged: a record counts as synced only once the
// policy's own fsync (syncWriteFile) has returned, as before; a flush
// ahead only makes bytes durable earlier than promised.
const flushAheadBytes = 16 << 20

// flushAhead is the writer's background fdatasync: at most one at a time.
type flushAhead struct {
	// busy is held from the start of a background flush until it has
	// returned: taken by the writer (under wmu) and released by the
	// goroutine that does the flush. Waiting for it is how syncWriteFile
	// and closeWriteFile know the flush is over.
	busy sync.Mutex
	// err is a background flush's failure, guarded by busy. The kernel
	// reports a write-back error to one fsync of the file description
	// only, so one the background flush took must fail the next policy
	// fsync instead (takeFlushAheadErr).
	err error
	// from is the write segment offset the last fsync (the policy's or a
	// flush ahead) covered up to when it began. Guarded by wmu.
	from int64
	// ran: a flush ahead began since the write segment's last policy
	// fsync, so bytes past the end a failed group is cut back to may be on
	// the device already (unwrite). Guarded by wmu.
	ran bool
	// took and done: the last background flush's duration, and that it
	// has not been reported yet (to SyncObserver and Stats.Syncs, which
	// count every data fsync). Guarded by busy; written by the flush's
	// goroutine, reported by the writer once it holds busy again
	// (reportFlushAhead), so the goroutine takes no other lock.
	took   time.Duration
	done   bool
	failed bool
	// every is flushAheadBytes, and fsync is fdatasync (what a flush ahead
	// and the cut after it use), unless a test set them (0, nil: the
	// defaults).
	every int64
	fsync func(*os.File) error
}

// maybeFlushAhead starts a background fdatasync of the write segment once
// flushAheadBytes have been written to it since the last one began, unless
// one is still running. Caller holds wmu.
func (q *Queue) maybeFlushAhead() {
	w := &q.w
	every := w.ahead.every
	if every == 0 {
		every = flushAheadBytes
	}
	if w.f == nil || w.pos-w.ahead.from < every {
		return
	}
	if !w.ahead.busy.TryLock() {
		return // the running one ends soon; the next write starts another
	}
	took, done, failed := w.ahead.takeReport()
	w.ahead.from, w.ahead.ran = w.pos, true
	f, fsync := w.f, w.ahead.syncFunc()
	// Owned by the writer: syncWriteFile and closeWriteFile (Close, a
	// segment's roll-over) wait for it under wmu before they go on.
	go func() {
		defer w.ahead.busy.Unlock()
		start := time.Now()
		err := fsync(f)
		w.ahead.took, w.ahead.done, w.ahead.failed = time.Since(start), true, err != nil
		if err != nil {
			w.ahead.err = fmt.Errorf("background flush: %w", err)
		}
	}()
	q.reportFlushAhead(took, done, failed)
}

// takeReport returns and clears the finished flush's report. Caller holds
// busy.
func (a *flushAhead) takeReport() (took time.Duration, done, failed bool) {
	took, done, failed = a.took, a.done, a.failed
	a.took, a.done, a.failed = 0, false, false
	return took, done, failed
}

// reportFlushAhead tells SyncObserver about a finished background flush and
// counts it in Stats.Syncs when it succeeded, as syncWriteFile does for the
// policy's fsync. Caller holds wmu, not busy.
func (q *Queue) reportFlushAhead(took time.Duration, done, failed bool) {
	if !done {
		return
	}
	if q.opts.SyncObserver != nil {
		q.opts.SyncObserver(took)
	}
	if !failed {
		q.mu.Lock()
		q.stats.Syncs++
		q.mu.Unlock()
	}
}

func (a *flushAhead) syncFunc() func(*os.File) error {
	if a.fsync == nil {
		return fdatasync
	}
	return a.fsync
}

// waitFlushAhead waits for a running background flush to end and reports
// whether one began since the last policy fsync; its error, if any, is
// left for the next policy fsync. Caller holds wmu.
func (q *Queue) waitFlushAhead() bool {
	a := &q.w.ahead
	a.busy.Lock()
	took, done, failed := a.takeReport()
	a.busy.Unlock()
	q.reportFlushAhead(took, done, failed)
	return a.ran
}

// takeFlushAheadErr waits for a running background flush to end and returns
// (and forgets) the error of one that failed. Caller holds wmu.
func (q *Queue) takeFlushAheadErr() error {
	a := &q.w.ahead
	a.busy.Lock()
	err := a.err
	a.err = nil
	took, done, failed := a.takeReport()
	a.busy.Unlock()
	q.reportFlushAhead(took, done, failed)
	return err
}
