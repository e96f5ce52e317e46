package queue

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func openDeadForTest(t *testing.T, opts DeadSetOptions) *DeadSet {
	t.Helper()
	d, err := OpenDeadSet(opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return d
}

func deadIDs(msgs []DeadMessage) []string {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = strings.TrimRight(string(m.ID[:]), "\x00")
	}
	return ids
}

func deadMsg(id string, body string) DeadMessage {
	m := DeadMessage{Reason: DeadMaxAttempts, Body: []byte(body), DiedAt: 1}
	copy(m.ID[:], id)
	return m
}

func TestDeadSetOptionsAreChecked(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		opts DeadSetOptions
		want string
	}{
		{DeadSetOptions{Name: "t:c"}, "Dir is empty"},
		{DeadSetOptions{Dir: dir}, "cannot be part of a file name"},
		{DeadSetOptions{Dir: dir, Name: "a/b"}, "cannot be part of a file name"},
		{DeadSetOptions{Dir: dir, Name: "t:c", MaxDepth: -1}, "negative"},
	} {
		if _, err := OpenDeadSet(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one containing %q", tc.opts, err, tc.want)
		}
	}
}

// A file from a newer format version is refused, not read as damage, and
// left as it is.
func TestDeadSetRefusesNewerFormat(t *testing.T) {
	dir := t.TempDir()
	b := appendDeadSegmentHeader(nil)
	binary.BigEndian.PutUint16(b[8:10], deadFormatVersion+1)
	binary.BigEndian.PutUint32(b[12:16], deadChecksum(b[:12]))
	b = appendDeadMessage(b, &DeadMessage{Seq: 1, Reason: DeadExpired})
	path := filepath.Join(dir, deadSegmentName("t:c", 0))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenDeadSet(DeadSetOptions{Dir: dir, Name: "t:c"})
	if err == nil || !strings.Contains(err.Error(), "format version 2 is newer") {
		t.Fatalf("open: %v, want a newer-version error", err)
	}
	if got, _ := os.ReadFile(path); !slices.Equal(got, b) {
		t.Fatal("the newer file was changed")
	}
}

// Sets whose names share a prefix keep apart: "t:c" never takes
// "t:c.deadset.000001.x" or another spelling for one of its files.
func TestDeadSetFileNamesAreExact(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"t:c.deadset.000000.dat.x", "t:c.deadset.0.dat", "t:c.deadset.00000a.dat", "t:c.deadset.0000001.dat"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	other := openDeadForTest(t, DeadSetOptions{Dir: dir, Name: "t:c.deadset.000000.dat"})
	if _, err := other.Add(deadMsg("o", "other")); err != nil {
		t.Fatal(err)
	}
	other.Close()
	d := openDeadForTest(t, DeadSetOptions{Dir: dir, Name: "t:c"})
	if s := d.Stats(); s.Segments != 0 || s.SkippedBytes != 0 || s.Depth != 0 {
		t.Fatalf("t:c took another file for its own: %+v", s)
	}
	if err := d.Delete(); err != nil {
		t.Fatal(err)
	}
	des, _ := os.ReadDir(dir)
	if len(des) != 5 {
		t.Fatalf("Delete removed files that are not the set's: %d left", len(des))
	}
}

// A write that fails changes nothing: the set's view is as before, the
// failure is counted, and the next write starts a new file when the
// failed one cannot be cut back. If the failed write's bytes are on disk
// whole after all, a reopen reads them, and loses nothing written later.
func TestDeadSetFailedWriteChangesNothing(t *testing.T) {
	dir := t.TempDir()
	opts := DeadSetOptions{Dir: dir, Name: "t:c"}
	d := openDeadForTest(t, opts)
	if _, err := d.Add(deadMsg("a", "a"), deadMsg("b", "b")); err != nil {
		t.Fatal(err)
	}
	// Pull the file out from under the set: writing and cutting back fail.
	d.segs[len(d.segs)-1].f.Close()
	if _, err := d.Add(deadMsg("c", "c")); err == nil {
		t.Fatal("Add on a closed file succeeded")
	}
	taken, err := d.Take(1)
	if err == nil {
		t.Fatalf("Take on a closed file succeeded: %v", deadIDs(taken))
	}
	s := d.Stats()
	if s.Depth != 2 || s.Taken != 0 || s.Added != 2 || s.WriteErrors != 1 {
		t.Fatalf("after a failed write: %+v", s)
	}
	d.segs[len(d.segs)-1].f = nil // reopened on the next read
	// The worst case of a failed write: it reached the file whole, and
	// cutting it back failed. Its record is there with the seq Add chose.
	stray := deadMsg("c", "c")
	stray.Seq = 3
	f, err := os.OpenFile(filepath.Join(dir, deadSegmentName("t:c", 0)), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(appendDeadMessage(nil, &stray)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := d.Add(deadMsg("d", "d")); err != nil {
		t.Fatalf("the write after a failure: %v", err)
	}
	if s := d.Stats(); s.Segments != 2 {
		t.Fatalf("after a failure that could not be cut back, writes go to a new file: %d files", s.Segments)
	}
	d.Close()
	d = openDeadForTest(t, opts)
	defer d.Close()
	// The stray message is back (a duplicate at worst), and the one added
	// after the failure is not lost to a seq given twice.
	got, err := d.Peek(0, 10)
	if err != nil || !slices.Equal(deadIDs(got), []string{"a", "b", "c", "d"}) {
		t.Fatalf("after reopen: %v %v", deadIDs(got), err)
	}
	if s := d.Stats(); s.SkippedRecords != 0 {
		t.Fatalf("after reopen: %+v", s)
	}
}

func TestDeadSetClosed(t *testing.T) {
	d := openDeadForTest(t, DeadSetOptions{Dir: t.TempDir(), Name: "t:c"})
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Add(deadMsg("a", "")); err != ErrDeadSetClosed {
		t.Errorf("Add: %v", err)
	}
	if _, err := d.Peek(0, 1); err != ErrDeadSetClosed {
		t.Errorf("Peek: %v", err)
	}
	if _, err := d.Take(1); err != ErrDeadSetClosed {
		t.Errorf("Take: %v", err)
	}
	if _, err := d.Empty(); err != ErrDeadSetClosed {
		t.Errorf("Empty: %v", err)
	}
	if err := d.Sync(); err != ErrDeadSetClosed {
		t.Errorf("Sync: %v", err)
	}
	if err := d.Close(); err != ErrDeadSetClosed {
		t.Errorf("second Close: %v", err)
	}
}

// Concurrent adders, peekers and redrivers (run with -race): nothing is
// lost or doubled, and the counts add up, in memory and after a reopen.
func TestDeadSetConcurrentUse(t *testing.T) {
	dir := t.TempDir()
	opts := DeadSetOptions{Dir: dir, Name: "t:c", MaxSegmentBytes: 4096, NoSync: true}
	d := openDeadForTest(t, opts)
	const adders, perAdder = 4, 200
	var wg sync.WaitGroup
	var mu sync.Mutex
	redriven := map[string]int{}
	stopRedrive := make(chan struct{})
	for a := range adders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perAdder {
				if _, err := d.Add(deadMsg(fmt.Sprintf("%d-%d", a, i), "body")); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var rwg sync.WaitGroup
	for r := range 2 {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for {
				select {
				case <-stopRedrive:
					return
				default:
				}
				msgs, err := d.Take(7)
				if err != nil {
					t.Error(err)
					return
				}
				if r == 1 && len(msgs) > 0 && msgs[0].Seq%2 == 0 {
					d.Release(msgs)
					continue
				}
				if _, err := d.Commit(msgs); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, id := range deadIDs(msgs) {
					redriven[id]++
				}
				mu.Unlock()
				if _, err := d.Peek(0, 5); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stopRedrive)
	rwg.Wait()
	s := d.Stats()
	if s.Taken != 0 || s.Added != adders*perAdder || s.Redriven+s.Depth != s.Added {
		t.Fatalf("counts do not add up: %+v", s)
	}
	left, err := d.Peek(0, adders*perAdder)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range deadIDs(left) {
		redriven[id]++
	}
	for id, n := range redriven {
		if n != 1 {
			t.Fatalf("%s seen %d times", id, n)
		}
	}
	if len(redriven) != adders*perAdder {
		t.Fatalf("%d messages accounted for, want %d", len(redriven), adders*perAdder)
	}
	d.Close()
	d = openDeadForTest(t, opts)
	defer d.Close()
	again, err := d.Peek(0, adders*perAdder)
	if err != nil || !slices.Equal(deadIDs(again), deadIDs(left)) {
		t.Fatalf("after reopen %d messages, before %d (%v)", len(again), len(left), err)
	}
}

// deadModel is what a dead set must hold: IDs in the order they died, the
// ones taken by each redrive in progress, and the order of each ID.
type deadModel struct {
	dead  []string
	taken map[int][]string
	order map[string]int
}

func (m *deadModel) put(ids []string) {
	m.dead = append(m.dead, ids...)
	slices.SortFunc(m.dead, func(a, b string) int { return m.order[a] - m.order[b] })
}

// Random operations with crashes at random points, some of them in the
// middle of an Add (the file cut anywhere inside what it wrote): after
// every reopen the set holds exactly what the model says. Messages whose
// redrive was committed never come back; taken and uncommitted ones are
// dead again; an acknowledged Add is never lost; of a torn Add, the
// messages wholly on disk are kept, in order.
func TestDeadSetRandomCrashes(t *testing.T) {
	for seed := range uint64(13) {
		// The last seed runs the fsync path (slower: one fsync per write).
		noSync := seed < 12
		t.Run(fmt.Sprint(seed), func(t *testing.T) { deadRandomCrashes(t, seed, noSync) })
	}
}

func deadRandomCrashes(t *testing.T, seed uint64, noSync bool) {
	rng := rand.New(rand.NewPCG(seed, 7))
	dir := t.TempDir()
	opts := DeadSetOptions{Dir: dir, Name: "t:c", MaxSegmentBytes: 600, NoSync: noSync}
	d := openDeadForTest(t, opts)
	defer func() { d.closeFiles() }()
	m := &deadModel{taken: map[int][]string{}, order: map[string]int{}}
	takes := map[int][]DeadMessage{}
	next, nextTake := 0, 0
	newMsgs := func() []DeadMessage {
		msgs := make([]DeadMessage, 1+rng.IntN(3))
		for i := range msgs {
			id := fmt.Sprint(next)
			m.order[id] = next
			next++
			msgs[i] = deadMsg(id, strings.Repeat("b", rng.IntN(120)))
		}
		return msgs
	}
	reopen := func() {
		d.closeFiles()
		d = openDeadForTest(t, opts)
		for _, ids := range m.taken {
			m.put(ids)
		}
		m.taken, takes = map[int][]string{}, map[int][]DeadMessage{}
	}
	for step := range 400 {
		switch op := rng.IntN(20); {
		case op < 6:
			msgs := newMsgs()
			if _, err := d.Add(msgs...); err != nil {
				t.Fatal(err)
			}
			m.put(deadIDs(msgs))
		case op < 8: // crash in the middle of an Add
			msgs := newMsgs()
			before := deadSegment{num: -1}
			if n := len(d.segs); n > 0 {
				before = d.segs[n-1]
			}
			if _, err := d.Add(msgs...); err != nil {
				t.Fatal(err)
			}
			seg := d.segs[len(d.segs)-1]
			start := before.size
			if seg.num != before.num {
				start = 0 // a new file: the crash may cut its header too
			}
			cut := start + rng.Int64N(seg.size-start)
			if err := os.Truncate(filepath.Join(dir, deadSegmentName("t:c", seg.num)), cut); err != nil {
				t.Fatal(err)
			}
			// The messages wholly before the cut survive.
			end := max(start, deadSegHeaderSize)
			var kept []string
			for _, msg := range msgs {
				end += deadRecHeaderSize + deadRecordMinSize + int64(len(msg.Body))
				if end <= cut {
					kept = append(kept, deadIDs([]DeadMessage{msg})...)
				}
			}
			m.put(kept)
			reopen()
		case op < 11:
			got, err := d.Take(1 + rng.IntN(4))
			if err != nil {
				t.Fatal(err)
			}
			n := len(got)
			if want := m.dead[:n]; !slices.Equal(deadIDs(got), want) {
				t.Fatalf("step %d: took %v, want %v", step, deadIDs(got), want)
			}
			if n > 0 {
				m.taken[nextTake] = slices.Clone(m.dead[:n])
				takes[nextTake] = got
				nextTake++
				m.dead = m.dead[n:]
			}
		case op < 14:
			for k := range takes {
				c, err := d.Commit(takes[k])
				if err != nil || c != len(takes[k]) {
					t.Fatalf("step %d: commit %d of %d: %v", step, c, len(takes[k]), err)
				}
				delete(takes, k)
				delete(m.taken, k)
				break
			}
		case op < 15:
			for k := range takes {
				d.Release(takes[k])
				m.put(m.taken[k])
				delete(takes, k)
				delete(m.taken, k)
				break
			}
		case op < 16 && rng.IntN(4) == 0:
			if _, err := d.Empty(); err != nil {
				t.Fatal(err)
			}
			m.dead, m.taken, takes = nil, map[int][]string{}, map[int][]DeadMessage{}
		case op < 18:
			reopen()
		default:
			d.Close()
			d = openDeadForTest(t, opts)
			for _, ids := range m.taken {
				m.put(ids)
			}
			m.taken, takes = map[int][]string{}, map[int][]DeadMessage{}
		}
		got, err := d.Peek(0, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(deadIDs(got), m.dead) {
			t.Fatalf("step %d: set holds %v, want %v", step, deadIDs(got), m.dead)
		}
		s := d.Stats()
		if s.Depth != int64(len(m.dead)) || s.SkippedRecords != 0 {
			t.Fatalf("step %d: %+v, want depth %d and no damage", step, s, len(m.dead))
		}
		// Every file but the newest holds a message not yet removed.
		if int64(s.Segments) > 1+s.Depth+s.Taken {
			t.Fatalf("step %d: %d files kept for %d messages", step, s.Segments, s.Depth+s.Taken)
		}
	}
}
