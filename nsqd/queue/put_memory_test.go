package queue

import (
	"bytes"
	"fmt"
	"math/rand"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/diskqueue"
	"github.com/nsqgo/nsq/internal/protocol"
)

// The report that lets a publisher reuse its bodies' memory
// (Queue.PutShared's and Held.Put's inMemory, nsqd/body_alloc.go) must be
// exact: a body reported as not kept is scribbled over at once, as a
// publisher's next batch would overwrite it, and every body the queue
// later hands out must still be the one published. The queues run on real
// files, with memory bounds that leave room for some batches and not
// others, deferred messages, consumers taking messages between puts, and
// memory-only queues whose room follows a consumer's credit.

// scribbled is what a body reported as not kept is overwritten with.
const scribble = 'X'

// putBody is message i's body: about size bytes that name it.
func putBody(i, size int) []byte {
	name := fmt.Appendf(nil, "<%d>", i)
	return bytes.Repeat(name, size/len(name)+1)[:max(size, len(name))]
}

// putBodyIndex is the message a body names, or -1.
func putBodyIndex(b []byte) int {
	end := bytes.IndexByte(b, '>')
	if len(b) == 0 || b[0] != '<' || end < 0 {
		return -1
	}
	i, err := strconv.Atoi(string(b[1:end]))
	if err != nil {
		return -1
	}
	return i
}

// putModel publishes random batches into a queue and checks what comes out.
type putModel struct {
	t         *testing.T
	rng       *rand.Rand
	now       int64
	next      int
	sizes     map[int]int  // published message -> its body size
	delivered map[int]bool // finished
	inMemory  [2]int       // batches reported kept / not kept
}

func newPutModel(t *testing.T, seed int64) *putModel {
	return &putModel{
		t: t, rng: rand.New(rand.NewSource(seed)),
		now:   time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(),
		sizes: map[int]int{}, delivered: map[int]bool{},
	}
}

// batch returns 1-8 new messages in fresh bodies; deferred, when set, may
// defer some of them.
func (m *putModel) batch(deferred bool) []Message {
	msgs := make([]Message, 1+m.rng.Intn(8))
	for j := range msgs {
		size := 10 + m.rng.Intn(300)
		if m.rng.Intn(10) == 0 {
			size = 9000 + m.rng.Intn(3000)
		}
		msgs[j] = Message{Body: putBody(m.next, size), Timestamp: m.now}
		protocol.FormatID(uint64(m.next+1), &msgs[j].ID)
		if deferred && m.rng.Intn(6) == 0 {
			msgs[j].DeliverAt = m.now + int64(1+m.rng.Intn(5))*int64(time.Second)
		}
		m.sizes[m.next] = size
		m.next++
	}
	return msgs
}

// reported records a put's report and scribbles over the bodies it said
// are not kept.
func (m *putModel) reported(msgs []Message, inMemory bool) {
	if inMemory {
		m.inMemory[0]++
		return
	}
	m.inMemory[1]++
	for _, msg := range msgs {
		for k := range msg.Body {
			msg.Body[k] = scribble
		}
	}
}

// check verifies a message handed out and marks it finished.
func (m *putModel) check(msg *Message) {
	i := putBodyIndex(msg.Body)
	size, ok := m.sizes[i]
	if !ok {
		m.t.Fatalf("a body that names no published message: %.40q", msg.Body)
	}
	require.Equal(m.t, string(putBody(i, size)), string(msg.Body), "message %d's body changed", i)
	require.False(m.t, m.delivered[i], "message %d handed out after it was finished", i)
	m.delivered[i] = true
}

func putModelDisk(t *testing.T) *diskqueue.Options {
	return &diskqueue.Options{
		Dir: t.TempDir(), MaxBytesPerFile: 1 << 20,
		MinMsgSize: protocol.MessageHeaderLength, MaxMsgSize: 1 << 17,
		SyncEvery: 1, SyncTimeout: time.Hour,
	}
}

func settleAll(t *testing.T, q *Queue, p *Pending) {
	for p != nil {
		q.Commit(p)
		var err error
		p, err = q.Settle(p)
		require.NoError(t, err)
	}
}

// take hands out up to max messages as a channel's consumer takes them,
// checking and finishing each.
func (m *putModel) take(q *Queue, max int) int {
	got, n, p := q.Take(nil, max, m.now)
	settleAll(m.t, q, p)
	if n > 0 {
		var later []Message
		var err error
		got, later, err = q.ReadBacklog(got, n, m.now, nil)
		require.NoError(m.t, err)
		settleAll(m.t, q, q.Defer(later, m.now, nil))
	}
	for k := range got {
		m.check(&got[k])
		q.Finish(&got[k])
	}
	return len(got)
}

func TestPutSharedInMemoryIsExact(t *testing.T) {
	type setup struct {
		name     string
		memSize  int
		disk     bool
		room     bool // memory-only: room follows a credit (Config.Room)
		deferred bool
	}
	for _, s := range []setup{
		{name: "disk mode", memSize: 0, disk: true},
		{name: "disk mode, deferred", memSize: 0, disk: true, deferred: true},
		{name: "memory bound 6", memSize: 6, disk: true, deferred: true},
		{name: "memory only, credit", room: true},
		{name: "memory only, bound 6", memSize: 6, deferred: true},
	} {
		t.Run(s.name, func(t *testing.T) {
			for seed := int64(1); seed <= 4; seed++ {
				m := newPutModel(t, seed)
				credit := 0
				cfg := Config{Name: "t:c", MemSize: s.memSize, ReuseReads: true}
				if s.disk {
					cfg.Disk = putModelDisk(t)
				}
				if s.room {
					cfg.Room = func() int { return credit }
				}
				q, err := Open(cfg)
				require.NoError(t, err)
				var recs SharedRecords
				for range 300 {
					credit = m.rng.Intn(4) * 3
					msgs := m.batch(s.deferred)
					shared := recs.Copy(msgs)
					p, inMemory := q.PutShared(shared, m.now)
					settleAll(t, q, p)
					shared.Release()
					m.reported(msgs, inMemory)
					if m.rng.Intn(3) == 0 {
						m.take(q, 1+m.rng.Intn(10))
					}
				}
				// Everything deferred is due; then everything is taken.
				m.now += int64(time.Minute)
				credit = 1 << 20
				settleAll(t, q, q.PromoteDue(m.now))
				for range 10000 {
					if m.take(q, 64) == 0 && q.Depth() == 0 {
						break
					}
				}
				require.Zero(t, q.Depth())
				require.Zero(t, q.DeferredCount())
				if s.disk {
					require.Len(t, m.delivered, m.next, "a durable queue hands out every message")
				} else {
					require.Equal(t, m.next, len(m.delivered)+int(q.Dropped()), "handed out or dropped")
				}
				t.Logf("seed %d: %d batches kept in memory, %d not", seed, m.inMemory[0], m.inMemory[1])
				if !s.deferred && s.memSize == 0 && s.disk {
					require.Zero(t, m.inMemory[0], "disk mode keeps nothing in memory")
				}
				if s.memSize > 0 || s.room || s.deferred {
					require.NotZero(t, m.inMemory[0], "no batch was kept: the test proves nothing")
				}
				if s.disk || s.room {
					require.NotZero(t, m.inMemory[1], "every batch was kept: the test proves nothing")
				}
				require.NoError(t, q.Close())
			}
		})
	}
}

// Held.Put's report, the same way: a topic holding messages (no channel,
// paused) with memory room for some batches and not others.
func TestHeldPutInMemoryIsExact(t *testing.T) {
	for _, memSize := range []int{0, 5} {
		t.Run(fmt.Sprint("mem size ", memSize), func(t *testing.T) {
			m := newPutModel(t, int64(memSize)+1)
			h, err := OpenHeld(Config{Name: "t", MemSize: memSize, Disk: putModelDisk(t)})
			require.NoError(t, err)
			defer h.Close()
			handOut := func() {
				for _, msg := range h.TakeMemory(nil) {
					m.check(&msg)
				}
				for range 1000 {
					got, seqs, err := h.ReadBacklog(nil, nil, 16)
					require.NoError(t, err)
					if len(got) == 0 {
						break
					}
					for k := range got {
						m.check(&got[k])
					}
					h.Ack(seqs)
				}
			}
			for range 300 {
				msgs := m.batch(false)
				p, dropped, inMemory := h.Put(msgs)
				require.Zero(t, dropped)
				if p != nil {
					h.Commit(p)
					require.NoError(t, h.Settle(p))
				}
				m.reported(msgs, inMemory)
				if m.rng.Intn(4) == 0 {
					handOut()
				}
			}
			handOut()
			require.Len(t, m.delivered, m.next)
			require.NotZero(t, m.inMemory[1], "every batch was kept: the test proves nothing")
			if memSize > 0 {
				require.NotZero(t, m.inMemory[0], "no batch was kept: the test proves nothing")
			} else {
				require.Zero(t, m.inMemory[0], "nothing is held in memory at --mem-queue-size=0")
			}
		})
	}
}
