package queue

import (
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPolicyCycle measures what the attempts limit and the TTL cost
// on the path every message takes when nothing dies: Put, Take, Requeue,
// Take again, Finish, a batch of 64 per op, memory only. "off" is the zero
// Policy (upstream's behaviour); "attempts+ttl" checks both rules on every
// message. The policy is read through an atomic pointer, as nsqd's
// Channel.policy reads it. Compare the two in one run:
//
//	go test -run '^$' -bench BenchmarkPolicyCycle -count 5 ./nsqd/queue/
func BenchmarkPolicyCycle(b *testing.B) {
	for _, tc := range []struct {
		name   string
		policy Policy
	}{
		{"off", Policy{}},
		{"attempts+ttl", Policy{MaxAttempts: 100, MsgTTL: time.Hour}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var current atomic.Pointer[Policy]
			current.Store(&tc.policy)
			q, err := Open(Config{Name: "t:c", MemSize: 1024, Policy: func() Policy { return *current.Load() }})
			if err != nil {
				b.Fatal(err)
			}
			const batch = 64
			msgs := make([]Message, batch)
			body := []byte("body")
			dst := make([]Message, 0, batch)
			now := time.Now().UnixNano()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range msgs {
					msgs[j] = Message{Body: body, Timestamp: now}
				}
				mustNoPending(b, q.Put(msgs, now))
				taken, p, _ := q.Take(dst[:0], batch, now)
				mustNoPending(b, p)
				for j := range taken {
					taken[j].Attempts++
				}
				mustNoPending(b, q.Requeue(taken, now))
				taken, p, _ = q.Take(dst[:0], batch, now)
				mustNoPending(b, p)
				for j := range taken {
					q.Finish(&taken[j])
				}
				if len(taken) != batch {
					b.Fatalf("took %d", len(taken))
				}
			}
		})
	}
}

func mustNoPending(b *testing.B, p *Pending) {
	if p != nil {
		b.Fatal("unexpected disk work or death")
	}
}
