package queue

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/diskqueue"
	"github.com/nsqgo/nsq/internal/protocol"
)

// harness runs transcript commands against a Queue on real files in a
// temporary directory. Time is a number of milliseconds that only advance
// moves; a message's name is its body and its ID.
//
//	open mem=N [disk] [segment=BYTES] [fail=backlog|store]
//	put NAME[@DELAY] ...   publish; @DELAY defers by DELAY ms
//	take N                 a consumer takes up to N (they are in flight)
//	fin NAME ...           finish in-flight messages
//	req NAME [after=MS]    requeue an in-flight message, with a delay
//	advance MS             move time; due deferred messages become ready
//	close                  graceful stop: in-flight requeued, memory flushed
//	crash                  the process dies: memory is lost, files stay
//	crash-after-commit CMD run CMD, do its disk writes, die before Settle
//	hold CMD               run CMD (advance, take, req...), do its disk writes
//	                       and keep its Pending unsettled, as a caller between
//	                       Commit and Settle; settle-pending settles it
//	sync                   the disk queues' periodic metadata write (FIN progress)
//	segments               count the backlog's and the store's segment files
//	bound [depth=N] [bytes=N] [overflow=reject-new|drop-oldest]
//	                       later puts go through PutBounded (bound.go);
//	                       dropped messages are finished, as once dead
//	reserve NAME ...       Reserve a batch under the bound
//	put-reserved NAME ...  PutBounded with the reservation
//	put-to-disk NAME ...   PutToDisk (a redrive): every message via the backlog
//	peek-backlog N         PeekBacklog: what the disk backlog holds, unconsumed
//	empty                  Empty: memory and files
//	empty-start            BeginEmpty and DropMemory: the files are not emptied yet
//	empty-disk             DropDisk: the files, ending the Empty
//	put-pending NAME ...   a publish under way: Put, its Pending kept unsettled
//	commit-pending         Commit the kept Pending (its disk writes), not Settle
//	settle-pending         Commit (unless done) and Settle the kept Pending
//	policy [max_attempts=N] [ttl=T] [kill=ok|fail]
//	                       set the policy (T in the transcript's time units);
//	                       the state then shows the dead set: a real one on
//	                       disk for a disk queue, a list for a memory one
type harness struct {
	t        *testing.T
	dir      string
	now      int64
	cfg      Config
	q        *Queue
	inFlight []Message
	log      []string
	disks    []*diskqueue.Queue // of the open queue, for sync
	bound    Bound

	policy   Policy
	deadOn   bool     // a policy command ran: show the dead set
	killFail bool     // Kill refuses, as a full disk would
	dead     *DeadSet // a disk queue's dead set, opened on first use
	memDead  []string // a memory queue's dead messages

	emptying  *Emptying // between empty-start and empty-disk
	held      *Pending  // put-pending's, until settle-pending
	committed bool      // commit-pending ran for held

	records SharedRecords // put's shared copies, as a topic's (records.go)
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, dir: t.TempDir(), now: 1000}
}

func (h *harness) run(line string) string {
	fields := strings.Fields(line)
	cmd, args := fields[0], fields[1:]
	if cmd != "open" && h.q == nil {
		return "error: no queue open"
	}
	var out strings.Builder
	switch cmd {
	case "open":
		if err := h.open(args); err != nil {
			return "error: " + err.Error()
		}
	case "bound":
		h.bound = Bound{}
		for _, a := range args {
			key, value, _ := strings.Cut(a, "=")
			switch key {
			case "depth":
				h.bound.MaxDepth = int64(h.atoi(value))
			case "bytes":
				h.bound.MaxBytes = int64(h.atoi(value))
			case "overflow":
				o, err := ParseOverflow(value)
				if err != nil {
					h.t.Fatal(err)
				}
				h.bound.Overflow = o
			default:
				h.t.Fatalf("bound: unknown argument %q", a)
			}
		}
	case "peek-backlog":
		peeked, err := h.q.PeekBacklog(nil, h.atoi(args[0]))
		if err != nil {
			fmt.Fprintf(&out, "error: %s\n", err)
		}
		fmt.Fprintf(&out, "backlog: [%s]\n", names(peeked))
	case "reserve":
		if _, err := h.q.Reserve(h.messages(args), h.bound); err != nil {
			fmt.Fprintf(&out, "refused: %s\n", err)
		}
	case "put", "put-reserved", "put-to-disk", "take", "fin", "req", "advance":
		h.apply(&out, cmd, args, settleAfterCommit)
	case "crash-after-commit":
		h.apply(&out, args[0], args[1:], crashAfterCommit)
		h.crash()
		out.WriteString("crashed\n")
		return out.String()
	case "close":
		h.close(&out)
		return out.String() + "closed\n"
	case "crash":
		h.crash()
		return "crashed\n"
	case "sync":
		for _, d := range h.disks {
			if err := d.Sync(); err != nil {
				fmt.Fprintf(&out, "error: %s\n", err)
			}
		}
		return out.String() + "synced\n"
	case "policy":
		h.setPolicy(args)
	case "empty":
		if err := h.q.Empty(); err != nil {
			fmt.Fprintf(&out, "error: %s\n", err)
		}
	case "empty-start":
		h.emptying = h.q.BeginEmpty()
		h.emptying.DropMemory()
	case "empty-disk":
		if err := h.emptying.DropDisk(); err != nil {
			fmt.Fprintf(&out, "error: %s\n", err)
		}
		h.emptying = nil
	case "hold":
		if h.held != nil {
			h.t.Fatal("hold: a Pending is held already")
		}
		h.apply(&out, args[0], args[1:], holdAfterCommit)
		if h.held == nil {
			out.WriteString("nothing to hold\n")
		}
	case "put-pending":
		h.held, h.committed = h.q.Put(h.messages(args), h.now), false
	case "commit-pending":
		h.q.Commit(h.held)
		h.committed = true
	case "settle-pending":
		p := h.held
		h.held = nil
		if !h.committed {
			h.q.Commit(p)
		}
		for p != nil {
			var err error
			if p, err = h.q.Settle(p); err != nil {
				fmt.Fprintf(&out, "error: %s\n", err)
			}
			if p != nil {
				h.q.Commit(p)
			}
		}
	case "segments":
		fmt.Fprintf(&out, "backlog=%d store=%d\n", h.segments(h.cfg.Name), h.segments(h.cfg.Name+StoreSuffix))
		return out.String()
	default:
		h.t.Fatalf("unknown command %q", cmd)
	}
	out.WriteString(h.state())
	return out.String()
}

func (h *harness) open(args []string) error {
	h.cfg = Config{Name: "t:c", Logf: func(format string, a ...any) { h.log = append(h.log, fmt.Sprintf(format, a...)) }}
	// As a channel opens its queue: a body must read the same whenever
	// the transcript shows it, reuse or not (reuse.go).
	h.cfg.ReuseReads = true
	var fail string
	for _, a := range args {
		key, value, _ := strings.Cut(a, "=")
		switch key {
		case "mem":
			h.cfg.MemSize = h.atoi(value)
		case "disk":
			h.cfg.Disk = &diskqueue.Options{
				Dir: h.dir, MaxBytesPerFile: 1 << 20,
				MinMsgSize: protocol.MessageHeaderLength, MaxMsgSize: 1 << 16,
				SyncEvery: 1, SyncTimeout: time.Hour, // no periodic metadata write: crashes are exact
			}
		case "segment":
			h.cfg.Disk.MaxBytesPerFile = int64(h.atoi(value))
		case "fail":
			fail = value
		default:
			h.t.Fatalf("open: unknown argument %q", a)
		}
	}
	h.disks = nil
	h.cfg.OpenDisk = func(o diskqueue.Options) (Disk, error) {
		d, err := diskqueue.Open(o)
		if err != nil {
			return nil, err
		}
		h.disks = append(h.disks, d)
		if fail != "" && (fail == "store") == o.ReadOnWrite {
			return failingDisk{d}, nil
		}
		return d, nil
	}
	h.cfg.Policy = func() Policy { return h.policy }
	h.cfg.Kill = h.kill
	q, err := Open(h.cfg)
	if err != nil {
		return err
	}
	h.q = q
	return nil
}

// kill is the queue's Config.Kill, as the channel's: a disk queue's dead
// messages go to a dead set in the same directory.
func (h *harness) kill(dying []Dying, now int64) error {
	if h.killFail {
		return errors.New("dead set: disk full")
	}
	if h.cfg.Disk == nil {
		for _, d := range dying {
			h.memDead = append(h.memDead, fmt.Sprintf("%s:%s@%d", d.Body, d.Reason, now))
		}
		return nil
	}
	ds, err := h.deadSet()
	if err != nil {
		return err
	}
	msgs := make([]DeadMessage, len(dying))
	for i, d := range dying {
		msgs[i] = DeadMessage{ID: d.ID, Body: d.Body, Timestamp: d.Timestamp, Attempts: d.Attempts, Reason: d.Reason, DiedAt: now}
	}
	_, err = ds.Add(msgs...)
	return err
}

func (h *harness) deadSet() (*DeadSet, error) {
	if h.dead == nil {
		ds, err := OpenDeadSet(DeadSetOptions{Dir: h.dir, Name: h.cfg.Name})
		if err != nil {
			return nil, err
		}
		h.dead = ds
	}
	return h.dead, nil
}

func (h *harness) setPolicy(args []string) {
	h.deadOn = true
	for _, a := range args {
		key, value, _ := strings.Cut(a, "=")
		switch key {
		case "max_attempts":
			h.policy.MaxAttempts = uint16(h.atoi(value))
		case "ttl":
			h.policy.MsgTTL = time.Duration(h.atoi(value))
		case "kill":
			h.killFail = value == "fail"
		default:
			h.t.Fatalf("policy: unknown argument %q", a)
		}
	}
}

// deadState lists the dead set: NAME:REASON@DIEDAT(attempts N).
func (h *harness) deadState() string {
	if h.cfg.Disk == nil {
		return strings.Join(h.memDead, " ")
	}
	if h.dead == nil {
		if exists, err := DeadSetExists(h.dir, h.cfg.Name); err != nil || !exists {
			return ""
		}
	}
	ds, err := h.deadSet()
	if err != nil {
		return "error: " + err.Error()
	}
	msgs, err := ds.Peek(0, 1000)
	if err != nil {
		return "error: " + err.Error()
	}
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, fmt.Sprintf("%s:%s@%d(attempts %d)", m.Body, m.Reason, m.DiedAt, m.Attempts))
	}
	return strings.Join(out, " ")
}

// closeDead closes the dead set with the queue: every Add was written when
// it returned, so a crash and a close leave the same files.
func (h *harness) closeDead() {
	if h.dead != nil {
		h.dead.Close()
		h.dead = nil
	}
}

// failingDisk refuses every write, as a full disk would.
type failingDisk struct{ Disk }

func (failingDisk) Put([][]byte) (uint64, error) { return 0, errors.New("disk full") }

// afterCommit is what apply does once a command's Pending is committed.
type afterCommit int

const (
	settleAfterCommit afterCommit = iota
	crashAfterCommit              // return: the caller crashes
	holdAfterCommit               // keep it in h.held for settle-pending
)

func (h *harness) apply(out *strings.Builder, cmd string, args []string, then afterCommit) {
	var p *Pending
	switch cmd {
	case "put-to-disk":
		p = h.q.PutToDisk(h.messages(args), h.now)
	case "put", "put-reserved":
		msgs := h.messages(args)
		if !h.bound.On() && cmd == "put" {
			// As a channel queues a topic's fan-out: pointers to the
			// topic's one copy (put-pending covers Put's own copies).
			shared := h.records.Copy(msgs)
			p, _ = h.q.PutShared(shared, h.now)
			shared.Release()
			break
		}
		var dropped []Message
		var err error
		p, dropped, err = h.q.PutBounded(msgs, h.now, h.bound, cmd == "put-reserved", nil)
		if len(dropped) > 0 {
			fmt.Fprintf(out, "dropped: %s\n", names(dropped))
		}
		for i := range dropped {
			h.q.Finish(&dropped[i])
		}
		if err != nil {
			fmt.Fprintf(out, "refused: %s\n", err)
		}
	case "take":
		// As the channel takes: memory under its lock, the backlog
		// without it, then memory again for what the backlog lacked.
		max := h.atoi(args[0])
		var taken []Message
		var fromBacklog int
		taken, fromBacklog, p = h.q.Take(nil, max, h.now)
		if fromBacklog > 0 {
			var later []Message
			var err error
			taken, later, err = h.q.ReadBacklog(taken, fromBacklog, h.now, nil)
			if err != nil {
				fmt.Fprintf(out, "error: %s\n", err)
			}
			taken, p = h.q.TakeReady(taken, max-len(taken), h.now, p)
			p = h.q.Defer(later, h.now, p)
		}
		for i := range taken {
			taken[i].Attempts++
		}
		took := make([]string, 0, len(taken))
		for _, m := range taken {
			took = append(took, fmt.Sprintf("%s(attempt %d)", m.Body, m.Attempts))
		}
		if len(took) == 0 {
			took = append(took, "none")
		}
		fmt.Fprintf(out, "took: %s\n", strings.Join(took, " "))
		h.inFlight = append(h.inFlight, taken...)
	case "fin":
		for _, name := range args {
			m, ok := h.takeInFlight(out, name)
			if ok {
				h.q.Finish(&m)
			}
		}
	case "req":
		m, ok := h.takeInFlight(out, args[0])
		if !ok {
			return
		}
		m.DeliverAt = 0
		if len(args) > 1 {
			after, ok := strings.CutPrefix(args[1], "after=")
			if !ok {
				h.t.Fatalf("req: unknown argument %q", args[1])
			}
			m.DeliverAt = h.now + int64(h.atoi(after))
		}
		p = h.q.Requeue([]Message{m}, h.now)
	case "advance":
		h.now += int64(h.atoi(args[0]))
		// What the channel's one timer does when it fires.
		if next := h.q.NextDeadline(); next != 0 && next <= h.now {
			p = h.q.PromoteDue(h.now)
		}
	default:
		h.t.Fatalf("unknown command %q", cmd)
	}
	for p != nil {
		h.q.Commit(p)
		switch then {
		case crashAfterCommit:
			return
		case holdAfterCommit:
			h.held, h.committed = p, true
			return
		}
		var err error
		if p, err = h.q.Settle(p); err != nil {
			fmt.Fprintf(out, "error: %s\n", err)
		}
	}
}

func (h *harness) messages(args []string) []Message {
	msgs := make([]Message, 0, len(args))
	for _, a := range args {
		name, delay, deferred := strings.Cut(a, "@")
		m := Message{Body: []byte(name), Timestamp: h.now}
		copy(m.ID[:], name)
		if deferred {
			m.DeliverAt = h.now + int64(h.atoi(delay))
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func (h *harness) takeInFlight(out *strings.Builder, name string) (Message, bool) {
	i := slices.IndexFunc(h.inFlight, func(m Message) bool { return string(m.Body) == name })
	if i < 0 {
		fmt.Fprintf(out, "error: %s is not in flight\n", name)
		return Message{}, false
	}
	m := h.inFlight[i]
	h.inFlight = slices.Delete(h.inFlight, i, i+1)
	return m, true
}

// close stops as the channel does: departing consumers requeue what they
// held, then the memory is flushed to disk and the files closed.
func (h *harness) close(out *strings.Builder) {
	if len(h.inFlight) > 0 {
		p := h.q.Requeue(h.inFlight, h.now)
		h.inFlight = nil
		h.settleAll(out, p)
	}
	h.settleAll(out, h.q.Flush())
	if err := h.q.Close(); err != nil {
		fmt.Fprintf(out, "error: %s\n", err)
	}
	h.q = nil
	h.closeDead()
}

func (h *harness) settleAll(out *strings.Builder, p *Pending) {
	for p != nil {
		h.q.Commit(p)
		var err error
		if p, err = h.q.Settle(p); err != nil {
			fmt.Fprintf(out, "error: %s\n", err)
		}
	}
}

// crash abandons the queue: nothing in memory survives and no metadata is
// written. Its files are released at the end of the test.
func (h *harness) crash() {
	q := h.q
	h.t.Cleanup(func() { q.Close() })
	h.q, h.inFlight = nil, nil
	h.closeDead()
}

func (h *harness) state() string {
	q := h.q
	ready := names(q.Peek(nil, Ready, 1000))
	var deferred []string
	for _, m := range q.Peek(nil, Deferred, 1000) {
		deferred = append(deferred, fmt.Sprintf("%s@%d", m.Body, m.DeliverAt))
	}
	s := fmt.Sprintf("ready=[%s] deferred=[%s] inflight=[%s] depth=%d", ready, strings.Join(deferred, " "), names(h.inFlight), q.Depth())
	if q.Durable() {
		backlog, store := q.DiskStats()
		s += fmt.Sprintf(" backlog=%d unacked=%d/%d", backlog.Depth, backlog.Unacked, store.Unacked)
	} else {
		s += fmt.Sprintf(" dropped=%d", q.Dropped())
	}
	if h.bound.On() {
		s += fmt.Sprintf(" held=%d/%dB", q.HeldDepth(), q.HeldBytes())
	}
	if h.deadOn {
		s += fmt.Sprintf("\ndead=[%s]", h.deadState())
	}
	return s + "\n"
}

func (h *harness) segments(name string) int {
	matches, err := filepath.Glob(filepath.Join(h.dir, name+".diskqueue.*.dat"))
	if err != nil {
		h.t.Fatal(err)
	}
	n := 0
	for _, m := range matches {
		if !strings.HasSuffix(m, ".meta.dat") {
			if _, err := os.Stat(m); err == nil {
				n++
			}
		}
	}
	return n
}

func (h *harness) atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		h.t.Fatalf("not a number: %q", s)
	}
	return n
}

func names(msgs []Message) string {
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, string(m.Body))
	}
	return strings.Join(out, " ")
}
