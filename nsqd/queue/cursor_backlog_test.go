package queue

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/diskqueue"
	"github.com/nsqgo/nsq/internal/protocol"
)

// openTestLog opens a topic log and a joined cursor of it, attached to a
// memory-only queue.
func openTestLog(t *testing.T) (*diskqueue.Queue, *diskqueue.Cursor, *Queue) {
	t.Helper()
	o := diskqueue.Options{
		Name: "t:~log", Dir: t.TempDir(), MaxBytesPerFile: 1 << 16,
		MinMsgSize: protocol.MessageHeaderLength, MaxMsgSize: 1 << 17,
		SyncEvery: 1 << 20, SyncTimeout: time.Hour, Log: true, ReuseReads: true,
	}
	log, err := diskqueue.Open(o)
	require.NoError(t, err)
	t.Cleanup(func() { log.Close() })
	cur, err := log.Cursor("c")
	require.NoError(t, err)
	require.NoError(t, cur.Join())
	q, err := Open(Config{Name: "t:c", MemSize: 10})
	require.NoError(t, err)
	q.AttachCursor(cur)
	return log, cur, q
}

// Records put while a read of the cursor is under way are never lost to
// the queue's depth: once the writer has stopped, a reader that reads
// while CursorDepth says there is more reads every record, each once.
func TestCursorDepthCountsRecordsPutDuringARead(t *testing.T) {
	log, _, q := openTestLog(t)
	const puts = 3000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		// Owner: this test; ends after the last Put.
		defer wg.Done()
		for i := 0; i < puts; i++ {
			m := Message{Body: []byte(fmt.Sprintf("m%d", i))}
			if err := PutLog(log, []Message{m}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	seen := map[string]int{}
	read := func() int {
		dst, later, err := q.ReadBacklog(nil, 64, time.Now().UnixNano(), nil)
		require.NoError(t, err)
		require.Empty(t, later)
		for i := range dst {
			seen[string(dst[i].Body)]++
			q.Finish(&dst[i])
		}
		return len(dst)
	}
	stop := make(chan struct{})
	go func() { wg.Wait(); close(stop) }()
	for running := true; running; {
		select {
		case <-stop:
			running = false
		default:
			read()
		}
	}
	for q.BacklogDepth() > 0 {
		if read() == 0 && q.BacklogDepth() > 0 {
			// One read that finds nothing puts the reader at the end.
			require.Zero(t, q.BacklogDepth(), "a read found nothing, yet the depth says more")
		}
	}
	require.Equal(t, puts, len(seen), "every record read")
	for body, k := range seen {
		require.Equal(t, 1, k, body)
	}
}

// Acknowledgement by receipt: Finish of a cursor's message acknowledges
// the cursor's record (not the own backlog's), and a requeued copy keeps
// the record until it is finished.
func TestCursorReceiptsAcknowledgeTheCursor(t *testing.T) {
	log, cur, q := openTestLog(t)
	require.NoError(t, PutLog(log, []Message{{Body: []byte("a")}, {Body: []byte("b")}}))
	require.EqualValues(t, 2, q.BacklogDepth())
	dst, _, err := q.ReadBacklog(nil, 10, time.Now().UnixNano(), nil)
	require.NoError(t, err)
	require.Len(t, dst, 2)
	require.True(t, dst[0].receipt.inCursor())
	require.EqualValues(t, 2, cur.Unacked())
	q.Finish(&dst[0])
	require.EqualValues(t, 1, cur.Unacked())
	require.Nil(t, q.Requeue(dst[1:], time.Now().UnixNano()), "back in memory")
	require.EqualValues(t, 1, cur.Unacked(), "the requeued copy holds its record")
	taken, more, _ := q.Take(nil, 10, time.Now().UnixNano())
	require.Zero(t, more)
	require.Len(t, taken, 1)
	q.Finish(&taken[0])
	require.Zero(t, cur.Unacked())
}
