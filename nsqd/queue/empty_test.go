package queue

import (
	"fmt"
	"sync"
	"testing"
)

// wholeBatches checks that every batch (named "b<batch>-<i>", size each)
// among got is there whole and once, and returns how many are.
func wholeBatches(t *testing.T, got []Message, size int) int {
	t.Helper()
	seen := map[string]bool{}
	perBatch := map[string]int{}
	for _, m := range got {
		name := string(m.Body)
		if seen[name] {
			t.Fatalf("%s is there twice", name)
		}
		seen[name] = true
		var batch, i int
		if _, err := fmt.Sscanf(name, "b%d-%d", &batch, &i); err != nil {
			t.Fatalf("unexpected message %q", name)
		}
		perBatch[fmt.Sprint(batch)]++
	}
	for batch, n := range perBatch {
		if n != size {
			t.Fatalf("batch %s is split: %d of its %d messages are left", batch, n, size)
		}
	}
	return len(perBatch)
}

func batchOf(batch, size int) []Message {
	msgs := make([]Message, size)
	for i := range msgs {
		name := fmt.Sprintf("b%d-%d", batch, i)
		msgs[i].Body = []byte(name)
		copy(msgs[i].ID[:], name)
	}
	return msgs
}

// Publishers whose batches spill to disk race Empties: every batch is
// emptied or kept whole, never split or duplicated, for the channel's
// queue (its caller's lock is a mutex here) as for the topic's held
// messages.
func TestEmptyRacingWritesKeepsOrEmptiesEachBatchWhole(t *testing.T) {
	const publishers, batches, size, empties = 4, 30, 5, 10
	t.Run("Queue", func(t *testing.T) {
		q, err := Open(Config{Name: "t:c", MemSize: 3, Disk: diskOptions(t.TempDir())})
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		var mu sync.Mutex // the channel's lock
		var wg sync.WaitGroup
		for p := 0; p < publishers; p++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := 0; b < batches; b++ {
					mu.Lock()
					pending := q.Put(batchOf(p*batches+b, size), 0)
					mu.Unlock()
					for pending != nil {
						q.Commit(pending)
						mu.Lock()
						var err error
						pending, err = q.Settle(pending)
						mu.Unlock()
						if err != nil {
							t.Error(err)
						}
					}
				}
			}()
		}
		for e := 0; e < empties; e++ {
			emptying := q.BeginEmpty()
			mu.Lock()
			emptying.DropMemory()
			mu.Unlock()
			if err := emptying.DropDisk(); err != nil {
				t.Fatal(err)
			}
		}
		wg.Wait()
		var got []Message
		for q.Depth() > 0 {
			var fromBacklog int
			got, fromBacklog, _ = q.Take(got, 100, 0)
			if fromBacklog > 0 {
				if got, _, err = q.ReadBacklog(got, fromBacklog, 0, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		kept := wholeBatches(t, got, size)
		t.Logf("%d of %d batches kept", kept, publishers*batches)
	})
	t.Run("Held", func(t *testing.T) {
		h, err := OpenHeld(Config{Name: "t", MemSize: 3, Disk: diskOptions(t.TempDir())})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		var wg sync.WaitGroup
		for p := 0; p < publishers; p++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := 0; b < batches; b++ {
					pending, _, _ := h.Put(batchOf(p*batches+b, size))
					if pending == nil {
						continue
					}
					h.Commit(pending)
					if err := h.Settle(pending); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		for e := 0; e < empties; e++ {
			if err := h.Empty(); err != nil {
				t.Fatal(err)
			}
		}
		wg.Wait()
		got := h.TakeMemory(nil)
		for h.BacklogDepth() > 0 {
			if got, _, err = h.ReadBacklog(got, nil, 100); err != nil {
				t.Fatal(err)
			}
		}
		kept := wholeBatches(t, got, size)
		t.Logf("%d of %d batches kept", kept, publishers*batches)
	})
}
