package queue

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/diskqueue"
	"github.com/nsqgo/nsq/internal/protocol"
)

// heldHarness runs transcript commands (testdata/held_*.txt) against a
// Held, the topic's held messages, on real files in a temporary directory.
//
//	open mem=N [disk] [fail]  a Held; fail: every disk write fails
//	put NAME ...              Put, committed and settled at once
//	put-pending NAME ...      a publish under way: Put, its Pending kept
//	commit-pending            Commit the kept Pending, not Settle
//	settle-pending            Commit (unless done) and Settle it
//	put-to-disk NAME ...      PutToDisk (a bound keeping order)
//	take-memory               TakeMemory: the memory part, handed over
//	hand-over                 HandOverMemory: the memory part, run by run
//	drop-oldest               DropOldestInMemory (a bound's drop-oldest)
//	read N                    ReadBacklog: up to N from disk, not yet acknowledged
//	ack                       Ack every record read
//	empty                     Empty
//	flush                     Flush (a graceful stop's first step)
//	close                     Close
//	crash                     abandon: memory is lost, files stay
type heldHarness struct {
	t         *testing.T
	dir       string
	h         *Held
	fail      bool
	puts      int      // grouped disk writes
	unacked   []uint64 // read, not yet acknowledged
	pending   *Pending
	committed bool
}

func newHeldHarness(t *testing.T) *heldHarness { return &heldHarness{t: t, dir: t.TempDir()} }

// countingDisk counts grouped writes and fails them when asked.
type countingDisk struct {
	Disk
	hh *heldHarness
}

func (d countingDisk) Put(records [][]byte) (uint64, error) {
	if d.hh.fail {
		return 0, errors.New("disk full")
	}
	d.hh.puts++
	return d.Disk.Put(records)
}

func (hh *heldHarness) run(line string) string {
	fields := strings.Fields(line)
	cmd, args := fields[0], fields[1:]
	if cmd != "open" && hh.h == nil {
		return "error: nothing open"
	}
	var out strings.Builder
	switch cmd {
	case "open":
		if err := hh.open(args); err != nil {
			return "error: " + err.Error()
		}
	case "put":
		p, dropped, _ := hh.h.Put(hh.messages(args))
		if dropped > 0 {
			fmt.Fprintf(&out, "dropped: %d\n", dropped)
		}
		hh.settle(&out, p)
	case "put-pending":
		hh.pending, _, _ = hh.h.Put(hh.messages(args))
		hh.committed = false
		if hh.pending == nil {
			out.WriteString("held in memory at once\n")
		}
	case "commit-pending":
		hh.h.Commit(hh.pending)
		hh.committed = true
	case "settle-pending":
		p := hh.pending
		hh.pending = nil
		if !hh.committed {
			hh.h.Commit(p)
		}
		if err := hh.h.Settle(p); err != nil {
			fmt.Fprintf(&out, "error: %s\n", err)
		}
	case "put-to-disk":
		hh.settle(&out, hh.h.PutToDisk(hh.messages(args)))
	case "take-memory":
		fmt.Fprintf(&out, "took: [%s]\n", names(hh.h.TakeMemory(nil)))
	case "hand-over":
		n := hh.h.HandOverMemory(func(run Shared) {
			fmt.Fprintf(&out, "run: [%s]\n", names(run.Msgs))
		})
		fmt.Fprintf(&out, "handed over: %d\n", n)
	case "drop-oldest":
		m, ok := hh.h.DropOldestInMemory()
		fmt.Fprintf(&out, "dropped: [%s] %v\n", m.Body, ok)
	case "read":
		var n int
		fmt.Sscan(args[0], &n)
		msgs, seqs, err := hh.h.ReadBacklog(nil, nil, n)
		if err != nil {
			fmt.Fprintf(&out, "error: %s\n", err)
		}
		hh.unacked = append(hh.unacked, seqs...)
		fmt.Fprintf(&out, "read: [%s]\n", names(msgs))
	case "ack":
		hh.h.Ack(hh.unacked)
		hh.unacked = nil
	case "empty":
		if err := hh.h.Empty(); err != nil {
			fmt.Fprintf(&out, "error: %s\n", err)
		}
	case "flush":
		n, err := hh.h.Flush()
		if err != nil {
			fmt.Fprintf(&out, "error: %s\n", err)
		}
		fmt.Fprintf(&out, "flushed: %d\n", n)
	case "close":
		if err := hh.h.Close(); err != nil {
			fmt.Fprintf(&out, "error: %s\n", err)
		}
		hh.h, hh.unacked = nil, nil
		return out.String() + "closed\n"
	case "crash":
		h := hh.h
		hh.t.Cleanup(func() { h.Close() })
		hh.h, hh.unacked = nil, nil
		return "crashed\n"
	default:
		hh.t.Fatalf("unknown command %q", cmd)
	}
	out.WriteString(hh.state())
	return out.String()
}

func (hh *heldHarness) open(args []string) error {
	cfg := Config{Name: "t"}
	hh.fail = false
	for _, a := range args {
		key, value, _ := strings.Cut(a, "=")
		switch key {
		case "mem":
			fmt.Sscan(value, &cfg.MemSize)
		case "disk":
			cfg.Disk = diskOptions(hh.dir)
		case "fail":
			hh.fail = true
		default:
			hh.t.Fatalf("open: unknown argument %q", a)
		}
	}
	h, err := OpenHeld(cfg)
	if err != nil {
		return err
	}
	h.ReplaceBacklog(func(d Disk) Disk { return countingDisk{d, hh} })
	hh.h = h
	return nil
}

func (hh *heldHarness) settle(out *strings.Builder, p *Pending) {
	if p == nil {
		return
	}
	hh.h.Commit(p)
	if err := hh.h.Settle(p); err != nil {
		fmt.Fprintf(out, "error: %s\n", err)
	}
}

func (hh *heldHarness) messages(args []string) []Message {
	msgs := make([]Message, 0, len(args))
	for _, name := range args {
		m := Message{Body: []byte(name)}
		copy(m.ID[:], name)
		msgs = append(msgs, m)
	}
	return msgs
}

func (hh *heldHarness) state() string {
	var memory []Message
	hh.h.EachInMemory(func(m *Message) { memory = append(memory, *m) })
	s := fmt.Sprintf("memory=[%s] depth=%d", names(memory), hh.h.Depth())
	if hh.h.Durable() {
		st := hh.h.DiskStats()
		s += fmt.Sprintf(" backlog=%d unacked=%d writes=%d", hh.h.BacklogDepth(), st.Unacked, hh.puts)
	}
	return s + "\n"
}

// diskOptions are the transcripts' disk queue settings: every write synced,
// no periodic metadata write, so a crash is exact.
func diskOptions(dir string) *diskqueue.Options {
	return &diskqueue.Options{
		Dir: dir, MaxBytesPerFile: 1 << 20,
		MinMsgSize: protocol.MessageHeaderLength, MaxMsgSize: 1 << 16,
		SyncEvery: 1, SyncTimeout: time.Hour,
	}
}
