package nsqd

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// Publishers fanning out to several channels at once while consumers take,
// requeue and finish, and one channel is emptied now and then: the topic's
// record blocks are reused as soon as no channel points into them (records
// of nsqd/queue/records.go), and no channel ever sees a record change under
// it. Every channel but the emptied one finishes each message exactly once,
// in publish order per publisher unless requeued; the emptied one never
// sees a message twice or out of order. Run with -race, this also checks
// the blocks' hand-over between the channels' locks.
func TestFanOutRecordsReusedUnderConcurrentChannels(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 100_000_000; o.Logger = io.Discard })
	topic, err := n.GetTopic("clicks")
	if err != nil {
		t.Fatal(err)
	}
	const (
		publishers = 2
		batches    = 300
		emptied    = 3 // the index of the channel that is emptied
		requeuer   = 1 // the index of the channel whose consumer requeues some
	)
	var channels []*Channel
	for i := 0; i < 4; i++ {
		c, err := topic.GetChannel(fmt.Sprintf("c%d", i))
		if err != nil {
			t.Fatal(err)
		}
		channels = append(channels, c)
	}
	// A body names its publisher and its sequence number; a record
	// overwritten under a channel shows up as a message seen twice and
	// another never.
	counts := make([]int, publishers)
	sizes := make([][]int, publishers)
	for p := range sizes {
		rng := rand.New(rand.NewPCG(uint64(p), 7))
		for b := 0; b < batches; b++ {
			size := 1 + rng.IntN(250)
			sizes[p] = append(sizes[p], size)
			counts[p] += size
		}
	}
	total := counts[0] + counts[1]

	var publishing sync.WaitGroup
	publishErrs := make(chan error, publishers)
	for p := 0; p < publishers; p++ {
		publishing.Add(1)
		go func() {
			defer publishing.Done()
			seq := 0
			for _, size := range sizes[p] {
				msgs := make([]Message, size)
				for i := range msgs {
					body := make([]byte, 16)
					binary.BigEndian.PutUint64(body, uint64(p))
					binary.BigEndian.PutUint64(body[8:], uint64(seq))
					seq++
					msgs[i] = Message{Body: body}
				}
				if err := topic.PutMessages(msgs); err != nil {
					publishErrs <- err
					return
				}
			}
		}()
	}

	type result struct {
		channel int
		err     error
	}
	results := make(chan result, len(channels))
	stop := make(chan struct{})
	for ci, c := range channels {
		go func() {
			taker := &client{}
			finished := make(map[[2]uint64]bool)
			last := make([]int64, publishers) // the last sequence taken in order, per publisher
			for i := range last {
				last[i] = -1
			}
			requeued := make(map[[2]uint64]bool)
			rng := rand.New(rand.NewPCG(uint64(ci), 9))
			var dst []Message
			for len(finished) < total {
				var wait <-chan struct{}
				dst, wait = c.take(dst[:0], maxDeliveryBatch, taker)
				if len(dst) == 0 {
					select {
					case <-wait:
						continue
					case <-stop:
						if ci == emptied {
							results <- result{ci, nil}
						} else {
							results <- result{ci, fmt.Errorf("channel %d: finished %d of %d messages", ci, len(finished), total)}
						}
						return
					}
				}
				now := c.now()
				var back []Message
				for i := range dst {
					m := &dst[i]
					if len(m.Body) != 16 {
						results <- result{ci, fmt.Errorf("channel %d: a body of %d bytes", ci, len(m.Body))}
						return
					}
					key := [2]uint64{binary.BigEndian.Uint64(m.Body), binary.BigEndian.Uint64(m.Body[8:])}
					if key[0] >= publishers || finished[key] {
						results <- result{ci, fmt.Errorf("channel %d: message %v delivered again after its FIN (or unknown)", ci, key)}
						return
					}
					if !requeued[key] {
						// First delivery: in publish order.
						if int64(key[1]) <= last[key[0]] || (ci != emptied && int64(key[1]) != last[key[0]]+1) {
							results <- result{ci, fmt.Errorf("channel %d: publisher %d's message %d after %d", ci, key[0], key[1], last[key[0]])}
							return
						}
						last[key[0]] = int64(key[1])
					}
					if ci == requeuer && !requeued[key] && rng.IntN(10) == 0 {
						requeued[key] = true
						back = append(back, *m)
						continue
					}
					delete(requeued, key)
					finished[key] = true
					c.finished(m, now)
				}
				if len(back) > 0 {
					c.requeue(back) // into the channel's own records
				}
				if ci == emptied && rng.IntN(20) == 0 {
					if err := c.Empty(); err != nil {
						results <- result{ci, err}
						return
					}
				}
				clear(dst)
			}
			results <- result{ci, nil}
		}()
	}

	publishing.Wait()
	close(publishErrs)
	for err := range publishErrs {
		t.Fatal(err)
	}
	// The consumers of complete channels end by themselves; the emptied
	// one may never see the messages it dropped.
	timeout := time.NewTimer(2 * time.Minute)
	defer timeout.Stop()
	received, complete := 0, 0
	for complete < len(channels)-1 {
		select {
		case r := <-results:
			received++
			if r.err != nil {
				close(stop)
				t.Fatal(r.err)
			}
			if r.channel != emptied {
				complete++
			}
		case <-timeout.C:
			close(stop)
			t.Fatal("the consumers did not finish within two minutes")
		}
	}
	close(stop)
	for ; received < len(channels); received++ {
		if r := <-results; r.err != nil {
			t.Fatal(r.err)
		}
	}
}
