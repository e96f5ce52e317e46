package diskqueue

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testLog collects a queue's log lines; they are printed if the test fails.
type testLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *testLog) Logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *testLog) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// testOptions are small limits so that rollover and damage are cheap to
// provoke; SyncTimeout is long so that no periodic sync interferes unless a
// test asks for one.
func testOptions(t *testing.T, dir string) (Options, *testLog) {
	t.Helper()
	l := &testLog{}
	t.Cleanup(func() {
		if t.Failed() {
			l.mu.Lock()
			for _, line := range l.lines {
				t.Log(line)
			}
			l.mu.Unlock()
		}
	})
	return Options{
		Dir:             dir,
		Name:            "topic:chan",
		MaxBytesPerFile: 1024,
		MinMsgSize:      1,
		MaxMsgSize:      4096,
		SyncEvery:       1,
		SyncTimeout:     time.Hour,
		Logf:            l.Logf,
	}, l
}

func mustOpen(t *testing.T, o Options) *Queue {
	t.Helper()
	q, err := Open(o)
	require.NoError(t, err)
	return q
}

// payload returns a record of size bytes (at least 8) that encodes i, so
// that order, loss and duplication can be checked.
func payload(i, size int) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint64(b, uint64(i))
	for j := 8; j < size; j++ {
		b[j] = byte(i + j)
	}
	return b
}

func payloadIndex(t *testing.T, b []byte) int {
	t.Helper()
	require.GreaterOrEqual(t, len(b), 8)
	i := int(binary.BigEndian.Uint64(b))
	require.Equal(t, payload(i, len(b)), b, "record %d content", i)
	return i
}

// putRange puts records from..to-1 of the given size, batch records per Put.
func putRange(t *testing.T, q *Queue, from, to, size, batch int) {
	t.Helper()
	for i := from; i < to; i += batch {
		var recs [][]byte
		for j := i; j < min(i+batch, to); j++ {
			recs = append(recs, payload(j, size))
		}
		require.NoError(t, putErr(q.Put(recs)))
	}
}

// readAll reads until the queue reports nothing more, acknowledging each
// batch before the next Read (a consumer that finishes records at once; the
// next Read removes the segments the acks released).
func readAll(t *testing.T, q *Queue) []Record {
	t.Helper()
	return readUntilEmpty(t, q, true)
}

// readAllNoAck reads until the queue reports nothing more and leaves every
// record outstanding.
func readAllNoAck(t *testing.T, q *Queue) []Record {
	t.Helper()
	return readUntilEmpty(t, q, false)
}

func readUntilEmpty(t *testing.T, q *Queue, ack bool) []Record {
	t.Helper()
	var all []Record
	for {
		recs, err := q.Read(7) // odd batch size: crosses buffer and segment edges
		require.NoError(t, err)
		if len(recs) == 0 {
			return all
		}
		if ack {
			q.Ack(seqsOf(recs)...)
		}
		all = append(all, recs...)
	}
}

// readAck reads up to n records and acknowledges them.
func readAck(t *testing.T, q *Queue, n int) []Record {
	t.Helper()
	recs, err := q.Read(n)
	require.NoError(t, err)
	q.Ack(seqsOf(recs)...)
	return recs
}

func seqsOf(recs []Record) []uint64 {
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

func indexes(t *testing.T, recs []Record) []int {
	t.Helper()
	out := make([]int, len(recs))
	for i, r := range recs {
		out[i] = payloadIndex(t, r.Data)
	}
	return out
}

func seq(from, to int) []int {
	out := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// crash abandons q the way a killed process would: no fsync, no metadata,
// files closed by the kernel.
func crash(q *Queue) {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	close(q.stop)
	q.loops.Wait()
	q.wmu.Lock()
	defer q.wmu.Unlock()
	q.rmu.Lock()
	defer q.rmu.Unlock()
	if q.w.f != nil {
		q.w.f.Close()
		q.w.f = nil
	}
	q.r.close()
}

func segPath(o Options, n int64) string { return segmentPath(o.Dir, o.Name, n) }

func segments(t *testing.T, o Options) []int64 {
	t.Helper()
	qf, err := listQueueFiles(o.Dir, o.Name)
	require.NoError(t, err)
	return qf.segments
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func damagedFiles(t *testing.T, o Options) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(o.Dir, "*.damaged"))
	require.NoError(t, err)
	return m
}

// modifyFile applies f to the bytes of path.
func modifyFile(t *testing.T, path string, f func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, f(b), 0o600))
}

// recordOffset returns the file offset of the k-th record (0-based) of a
// version-1 segment.
func recordOffset(t *testing.T, seg []byte, k int) int {
	t.Helper()
	off := segHeaderSize
	for i := 0; i < k; i++ {
		require.LessOrEqual(t, off+recHeaderSize, len(seg))
		off += recHeaderSize + int(binary.BigEndian.Uint32(seg[off:]))
	}
	return off
}

// putErr drops the first Seq Put returns (0 unless ReadOnWrite).
func putErr(_ uint64, err error) error { return err }

// settle waits for the segment removals Reads handed to removeLoop and
// does what is left of them: once it returns, what the Reads so far
// released is gone, as it was when a Read removed segments itself.
func settle(q *Queue) {
	q.removing.Lock()
	defer q.removing.Unlock()
	q.removeAcked()
}

// liveSlabs counts the queue's read slabs that records still refer to.
func liveSlabs(q *Queue) int {
	q.amu.Lock()
	defer q.amu.Unlock()
	live := 0
	for _, s := range q.consumer.mem.live {
		if s != nil {
			live++
		}
	}
	return live
}
