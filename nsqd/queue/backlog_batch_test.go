package queue

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nsqgo/nsq/internal/protocol"
)

// heldOnDisk returns a Held whose every message is on disk, holding
// msgs, and a channel queue on disk with memSize.
func heldOnDisk(t *testing.T, memSize int, msgs []Message) (*Held, *Queue) {
	t.Helper()
	dir := t.TempDir()
	h, err := OpenHeld(Config{Name: "t", Disk: diskOptions(dir)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if p, _, _ := h.Put(msgs); p != nil {
		h.Commit(p)
		if err := h.Settle(p); err != nil {
			t.Fatal(err)
		}
	}
	q, err := Open(Config{Name: "t:c", MemSize: memSize, Disk: diskOptions(dir)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return h, q
}

func sampleMessages(n int) []Message {
	msgs := make([]Message, n)
	for i := range msgs {
		protocol.FormatID(uint64(1000+i), &msgs[i].ID)
		msgs[i].Body = []byte(fmt.Sprintf("body %d", i))
		msgs[i].Timestamp = int64(5000 + i)
		msgs[i].Attempts = uint16(i % 3)
	}
	return msgs
}

// putRecords moves b into q as Channel.putBacklogRecords does; ok is
// BeginPutRecords's answer.
func putRecords(q *Queue, b *BacklogBatch, now int64) (ok bool, err error) {
	w, ok := q.BeginPutRecords(b, now)
	if !ok {
		return false, nil
	}
	q.CommitRecords(&w)
	return true, q.SettleRecords(&w)
}

// A batch the queue would put wholly on its disk is written as it was
// read, and reads back identical: ID, body, timestamp, attempts.
func TestRecordsMovedAsReadReadBackIntact(t *testing.T) {
	msgs := sampleMessages(50)
	h, q := heldOnDisk(t, 0, msgs)
	var b BacklogBatch
	if err := h.ReadRecords(&b, 100); err != nil || b.Len() != len(msgs) {
		t.Fatalf("read %d: %v", b.Len(), err)
	}
	if b.BodyBytes() != BodyBytes(msgs) {
		t.Fatalf("body bytes %d, want %d", b.BodyBytes(), BodyBytes(msgs))
	}
	ok, err := putRecords(q, &b, 0)
	if !ok || err != nil {
		t.Fatalf("moved: %v, %v", ok, err)
	}
	if b.kept {
		t.Fatal("nothing was decoded, yet the records are marked kept")
	}
	h.ReleaseRecords(&b)
	if st := h.DiskStats(); st.Unacked != 0 || h.BacklogDepth() != 0 {
		t.Fatalf("topic: %d unacked, %d left", st.Unacked, h.BacklogDepth())
	}
	if q.BacklogDepth() != int64(len(msgs)) || q.HeldBytes() != BodyBytes(msgs) {
		t.Fatalf("channel backlog %d messages, %d bytes", q.BacklogDepth(), q.HeldBytes())
	}
	got, later, err := q.ReadBacklog(nil, 100, 0, nil)
	if err != nil || len(later) != 0 {
		t.Fatal(err, later)
	}
	for i := range msgs {
		g, w := got[i], msgs[i]
		if g.ID != w.ID || string(g.Body) != string(w.Body) || g.Timestamp != w.Timestamp || g.Attempts != w.Attempts || g.DeliverAt != 0 {
			t.Fatalf("message %d: got %+v, want %+v", i, g, w)
		}
	}
}

// A queue that would keep any of the batch in memory, defer any of it or
// send any of it away declines the records; the caller then queues the
// decoded messages, and the records are no longer the backlog's to reuse.
func TestBeginPutRecordsDeclinesWhatTheQueueWouldNotWriteWhole(t *testing.T) {
	for _, tc := range []struct {
		name    string
		memSize int
		change  func(msgs []Message)
		policy  Policy
	}{
		{name: "room in memory", memSize: 1},
		{name: "deferred", change: func(msgs []Message) { msgs[3].DeliverAt = 10 }},
		{name: "attempts limit", policy: Policy{MaxAttempts: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs := sampleMessages(10)
			if tc.change != nil {
				tc.change(msgs)
			}
			h, q := heldOnDisk(t, tc.memSize, msgs)
			q.cfg.Policy = func() Policy { return tc.policy }
			var b BacklogBatch
			if err := h.ReadRecords(&b, 100); err != nil {
				t.Fatal(err)
			}
			if ok, _ := putRecords(q, &b, 0); ok {
				t.Fatal("the records were moved")
			}
			decoded := b.Messages()
			for i := range msgs {
				if decoded[i].ID != msgs[i].ID || decoded[i].DeliverAt != msgs[i].DeliverAt || string(decoded[i].Body) != string(msgs[i].Body) {
					t.Fatalf("decoded %d: %+v", i, decoded[i])
				}
			}
			if !b.kept {
				t.Fatal("decoded messages do not keep the records' memory from reuse")
			}
		})
	}
	t.Run("memory full", func(t *testing.T) {
		h, q := heldOnDisk(t, 2, sampleMessages(10))
		q.pushReady(sampleMessages(2))
		var b BacklogBatch
		if err := h.ReadRecords(&b, 100); err != nil {
			t.Fatal(err)
		}
		if ok, err := putRecords(q, &b, 0); !ok || err != nil {
			t.Fatalf("a full memory: moved %v, %v", ok, err)
		}
	})
}

// refusingDisk fails every write.
type refusingDisk struct{ Disk }

func (refusingDisk) Put([][]byte) (uint64, error) { return 0, errors.New("disk full") }

// Refused by the disk, the records' messages are kept in memory and the
// error says so: the topic keeps its records.
func TestSettleRecordsRefusedKeepsTheMessagesInMemory(t *testing.T) {
	msgs := sampleMessages(10)
	h, q := heldOnDisk(t, 0, msgs)
	q.ReplaceBacklog(func(d Disk) Disk { return refusingDisk{d} })
	var b BacklogBatch
	if err := h.ReadRecords(&b, 100); err != nil {
		t.Fatal(err)
	}
	ok, err := putRecords(q, &b, 0)
	if !ok || err == nil {
		t.Fatalf("moved %v, error %v", ok, err)
	}
	if q.ReadyInMemory() != len(msgs) || !b.kept {
		t.Fatalf("%d in memory, kept %v", q.ReadyInMemory(), b.kept)
	}
	got, _, _ := q.Take(nil, 100, 0)
	for i := range msgs {
		if got[i].ID != msgs[i].ID || string(got[i].Body) != string(msgs[i].Body) {
			t.Fatalf("message %d: %+v", i, got[i])
		}
	}
}

// A move begun before an Empty is emptied whole: not written, not queued.
func TestRecordsPutBeforeAnEmptyIsEmptied(t *testing.T) {
	h, q := heldOnDisk(t, 0, sampleMessages(10))
	var b BacklogBatch
	if err := h.ReadRecords(&b, 100); err != nil {
		t.Fatal(err)
	}
	w, ok := q.BeginPutRecords(&b, 0)
	if !ok {
		t.Fatal("declined")
	}
	if err := q.Empty(); err != nil {
		t.Fatal(err)
	}
	q.CommitRecords(&w)
	if err := q.SettleRecords(&w); err != nil {
		t.Fatal(err)
	}
	if q.Depth() != 0 || q.HeldBytes() != 0 {
		t.Fatalf("depth %d, bytes %d after the Empty", q.Depth(), q.HeldBytes())
	}
}

// A record too short to be a message is skipped (logged and acknowledged),
// as every backlog read does.
func TestReadRecordsSkipsARecordThatDoesNotDecode(t *testing.T) {
	msgs := sampleMessages(3)
	h, _ := heldOnDisk(t, 0, msgs[:1])
	if _, err := h.backlog.Put([][]byte{make([]byte, protocol.MessageHeaderLength+RecordHeader-1)}); err != nil {
		t.Fatal(err)
	}
	p := h.PutToDisk(msgs[1:])
	h.Commit(p)
	if err := h.Settle(p); err != nil {
		t.Fatal(err)
	}
	var logged []string
	h.cfg.Logf = func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }
	var b BacklogBatch
	if err := h.ReadRecords(&b, 100); err != nil {
		t.Fatal(err)
	}
	if b.Len() != len(msgs) || len(logged) != 1 {
		t.Fatalf("read %d, logged %q", b.Len(), logged)
	}
	decoded := b.Messages()
	if decoded[0].ID != msgs[0].ID || decoded[1].ID != msgs[1].ID || decoded[2].ID != msgs[2].ID {
		t.Fatalf("decoded %+v", decoded)
	}
	h.ReleaseRecords(&b)
	if st := h.DiskStats(); st.Unacked != 0 {
		t.Fatalf("%d unacked", st.Unacked)
	}
}
