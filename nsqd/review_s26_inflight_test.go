package nsqd

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// Session 26 review: in-flight slots pack a message into one cache line,
// its body as a pointer and a length (inflight.go). These tests check that
// the body stays alive exactly as long as the slot holds it, that every way
// out of the table (FIN, REQ, TOUCH then timeout, drain, peek) gives back
// every field, and that concurrent users race on nothing.

// reviewMessage is a message with every field set to a value derived from
// i (the receipt too, through its address as the queue sets it), so that a
// field the slot lost or mixed up with another message's shows.
func reviewMessage(t testing.TB, i uint64, body []byte) Message {
	var m Message
	protocol.FormatID(i, &m.ID)
	v := reflect.ValueOf(&m).Elem()
	for k := 0; k < v.NumField(); k++ {
		f := v.Field(k)
		f = reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
		switch name := v.Type().Field(k).Name; {
		case name == "ID":
		case name == "Body":
			f.Set(reflect.ValueOf(body))
		case f.Kind() == reflect.Int64:
			f.SetInt(int64(i*1000 + uint64(k)))
		case f.Kind() == reflect.Uint16:
			f.SetUint((i + uint64(k)) % 65000)
		case f.Kind() == reflect.Uint64:
			f.SetUint(i*7 + uint64(k) + 1)
		default:
			t.Fatalf("Message field %s of kind %s: teach this test about it", name, f.Kind())
		}
	}
	return m
}

func requireSameMessage(t testing.TB, want, got Message, what string) {
	t.Helper()
	require.True(t, reflect.DeepEqual(want, got), "%s: packed %+v, got back %+v", what, want, got)
	require.Equal(t, want.Body == nil, got.Body == nil, "%s: nil and empty bodies stay apart", what)
	require.Equal(t, uintptr(unsafe.Pointer(unsafe.SliceData(want.Body))), uintptr(unsafe.Pointer(unsafe.SliceData(got.Body))), "%s: the same bytes", what)
	require.Equal(t, len(got.Body), cap(got.Body), "%s: no room after the body", what)
}

// A body referenced only by its slot stays alive through collections, and
// becomes garbage once the slot lets it go.
func TestReviewInFlightSlotKeepsItsBodyAliveAndNoLonger(t *testing.T) {
	for _, how := range []string{"whole", "interior", "empty at the end"} {
		t.Run(how, func(t *testing.T) {
			var f inFlight
			var freed atomic.Bool
			m := func() Message {
				backing := new([4096]byte)
				for i := range backing {
					backing[i] = byte(i * 7)
				}
				runtime.SetFinalizer(backing, func(*[4096]byte) { freed.Store(true) })
				var body []byte
				switch how {
				case "whole":
					body = backing[:]
				case "interior": // a body cut from the middle of a slab
					body = backing[1000:1100:1100]
				case "empty at the end": // no byte of the slab at all
					body = backing[4096:4096]
				}
				return reviewMessage(t, 1, body)
			}()
			want := bytes.Clone(m.Body)
			f.add([]Message{m}, 0, int64(time.Minute))
			m = Message{} // the slot holds the only reference now
			for range 3 {
				runtime.GC()
			}
			require.False(t, freed.Load(), "the body was collected while in flight")
			runtime.KeepAlive(&f)
			var id protocol.MessageID
			protocol.FormatID(1, &id)
			got, ok := f.remove(id)
			require.True(t, ok)
			require.Equal(t, want, []byte(got.Body), "the body changed while in flight")
			got = Message{}
			for i := 0; i < 50 && !freed.Load(); i++ {
				runtime.GC()
				runtime.Gosched()
			}
			if how != "empty at the end" {
				// An empty body at the slab's end may point at the slab
				// or past it: whether it keeps the slab is not specified.
				require.True(t, freed.Load(), "the slot keeps the body alive after the FIN")
			}
			runtime.KeepAlive(&f) // the table itself outlives the collections above
		})
	}
}

// Every way out of the table gives back every field of the message that
// went in, whatever else moved through the same slots meanwhile: a FIN into
// a scratch array holding another batch's messages, a REQ and the FIN of the
// redelivery, a TOUCH then the timeout (capped by --max-msg-timeout too), a
// drain, and a peek (which copies the body and drops the receipt).
func TestReviewInFlightEveryWayOutKeepsEveryField(t *testing.T) {
	slab := bytes.Repeat([]byte("0123456789"), 100)
	bodyOf := func(i uint64) []byte {
		switch i % 4 {
		case 0:
			return nil
		case 1:
			return slab[i%50 : i%50]
		default:
			start := int(i % 500)
			return slab[start : start+int(i%300) : start+int(i%300)+int(i%3)]
		}
	}
	rng := rand.New(rand.NewPCG(26, 1))
	var f inFlight
	held := map[protocol.MessageID]Message{}
	// when each held message times out, and when it was delivered (a
	// TOUCH extends to at most delivery + maxTimeout): the times live
	// apart from the slots, in chunks of another size (slotTimes)
	deadlines := map[protocol.MessageID]int64{}
	delivered := map[protocol.MessageID]int64{}
	next := uint64(1)
	now := int64(1_000_000)
	const timeout, maxTimeout = int64(100), int64(250)
	deliver := func(k int) {
		batch := make([]Message, k)
		for j := range batch {
			batch[j] = reviewMessage(t, next, bodyOf(next))
			next++
		}
		// the table packs its copy: changing the caller's afterwards
		// must not reach it
		keep := append([]Message(nil), batch...)
		require.Equal(t, k, f.add(batch, now, timeout))
		for j := range batch {
			batch[j] = reviewMessage(t, 1<<40+uint64(j), []byte("other"))
		}
		for _, m := range keep {
			held[m.ID] = m
			deadlines[m.ID], delivered[m.ID] = now+timeout, now
		}
	}
	pick := func() (protocol.MessageID, bool) {
		for id := range held {
			return id, true
		}
		return protocol.MessageID{}, false
	}
	dirty := make([]Message, 0, 64)
	for step := 0; step < 3000; step++ {
		switch op := rng.IntN(8); op {
		case 0, 1:
			deliver(1 + rng.IntN(20))
		case 2: // a burst of FINs into a scratch array full of old messages
			ids := make([]protocol.MessageID, 0, 8)
			for id := range held {
				if len(ids) == cap(ids) {
					break
				}
				ids = append(ids, id)
			}
			dirty = dirty[:cap(dirty)]
			for j := range dirty {
				dirty[j] = reviewMessage(t, 1<<41+uint64(j), []byte("stale"))
			}
			found := make([]bool, len(ids))
			out := f.removeEach(ids, found, dirty[:0])
			require.Len(t, out, len(ids))
			for j, id := range ids {
				require.True(t, found[j])
				requireSameMessage(t, held[id], out[j], "FIN")
				delete(held, id)
			}
		case 3: // REQ, then the redelivery with one more attempt, then its FIN
			id, ok := pick()
			if !ok {
				continue
			}
			got, ok := f.remove(id)
			require.True(t, ok)
			requireSameMessage(t, held[id], got, "REQ")
			got.Attempts++
			require.Equal(t, 1, f.add([]Message{got}, now, timeout))
			deadlines[id], delivered[id] = now+timeout, now
			fin, ok := f.remove(id)
			require.True(t, ok)
			requireSameMessage(t, got, fin, "FIN after requeue")
			delete(held, id)
		case 4: // TOUCH
			if id, ok := pick(); ok {
				require.True(t, f.touch(id, now, timeout, maxTimeout))
				deadlines[id] = min(now+timeout, delivered[id]+maxTimeout)
			}
		case 5: // time passes; timeouts
			now += rng.Int64N(60)
			out, _ := f.expire(now, nil)
			for _, m := range out {
				want, ok := held[m.ID]
				require.True(t, ok, "timed out a message not held")
				requireSameMessage(t, want, m, "timeout")
				require.LessOrEqual(t, deadlines[m.ID], now, "timed out before its deadline")
				delete(held, m.ID)
			}
			for id, d := range deadlines {
				if _, ok := held[id]; ok {
					require.Greater(t, d, now, "a message past its deadline did not time out")
				}
			}
		case 6: // peek
			for _, p := range f.peek(nil, 9) {
				want := held[p.ID]
				require.Equal(t, want.Body, p.Body, "peek body")
				require.Equal(t, len(want.Body), len(p.Body))
				if len(want.Body) > 0 {
					require.NotEqual(t, uintptr(unsafe.Pointer(unsafe.SliceData(want.Body))), uintptr(unsafe.Pointer(unsafe.SliceData(p.Body))), "peek copies the body")
				}
				require.Equal(t, want.Timestamp, p.Timestamp)
				require.Equal(t, want.DeliverAt, p.DeliverAt)
				require.Equal(t, want.Attempts, p.Attempts)
				require.Zero(t, p.Receipt(), "a peeked copy has no receipt")
				require.Equal(t, int64(9), p.ClientID)
				require.Equal(t, deadlines[p.ID], p.TimeoutAt, "peek deadline")
			}
		case 7:
			if rng.IntN(50) == 0 { // a departing consumer
				got := 0
				f.drainEach(func(run []Message) {
					for _, m := range run {
						requireSameMessage(t, held[m.ID], m, "drain")
						delete(held, m.ID)
						got++
					}
				})
				require.Empty(t, held)
			}
		}
		require.Equal(t, int64(len(held)), f.count.Load(), "step %d", step)
	}
}

// The pump's deliveries, the reader's FINs and TOUCHes, the timeout timer
// and the HTTP peek use one client's table from their own goroutines: under
// -race, nothing may be read outside the lock, and every message leaves
// exactly once with its own body.
func TestReviewInFlightConcurrentUsersRaceOnNothing(t *testing.T) {
	var f inFlight
	const total = 4000
	var clk atomic.Int64
	var delivered atomic.Int64
	out := make(chan Message, total)
	var wg sync.WaitGroup
	bodyOf := func(i uint64) []byte { return []byte(fmt.Sprintf("body-%d", i)) }
	wg.Add(1)
	go func() { // the pump
		defer wg.Done()
		for i := uint64(1); i <= total; {
			batch := make([]Message, 0, 10)
			for ; i <= total && len(batch) < cap(batch); i++ {
				batch = append(batch, reviewMessage(t, i, bodyOf(i)))
			}
			f.add(batch, clk.Load(), 50)
			delivered.Add(int64(len(batch)))
		}
	}()
	done := make(chan struct{})
	var users sync.WaitGroup
	users.Add(3)
	go func() { // the reader: FINs and TOUCHes of IDs it guesses
		defer users.Done()
		rng := rand.New(rand.NewPCG(1, 2))
		ids := make([]protocol.MessageID, 4)
		found := make([]bool, 4)
		var msgs []Message
		for {
			select {
			case <-done:
				return
			default:
			}
			top := uint64(delivered.Load()) + 1
			for j := range ids {
				protocol.FormatID(1+rng.Uint64N(top), &ids[j])
			}
			msgs = f.removeEach(ids, found, msgs[:0])
			for _, m := range msgs {
				out <- m
			}
			f.touch(ids[0], clk.Load(), 50, 120)
		}
	}()
	go func() { // the timeout timer
		defer users.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			expired, _ := f.expire(clk.Add(3), nil)
			for _, m := range expired {
				out <- m
			}
		}
	}()
	go func() { // the HTTP peek
		defer users.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			for _, p := range f.peek(nil, 1) {
				var n uint64
				fmt.Sscanf(string(p.ID[:]), "%x", &n)
				if string(p.Body) != string(bodyOf(n)) {
					t.Errorf("peek of %s: body %q", p.ID[:], p.Body)
					return
				}
			}
		}
	}()
	wg.Wait()
	seen := map[protocol.MessageID]bool{}
	deadline := time.Now().Add(20 * time.Second)
	for len(seen) < total {
		select {
		case m := <-out:
			require.False(t, seen[m.ID], "message %s left twice", m.ID[:])
			seen[m.ID] = true
			var n uint64
			fmt.Sscanf(string(m.ID[:]), "%x", &n)
			requireSameMessage(t, reviewMessage(t, n, m.Body), m, "concurrent")
			require.Equal(t, string(bodyOf(n)), string(m.Body))
		case <-time.After(time.Until(deadline)):
			t.Fatalf("%d of %d messages left the table", len(seen), total)
		}
	}
	close(done)
	users.Wait()
	require.Zero(t, f.count.Load())
}
