package nsqd

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// bigBodyWait bounds each wait for a delivery of 64 KB through disk.
const bigBodyWait = 30 * time.Second

// 64 KB bodies published in disk mode are read back into reused memory
// (internal/diskqueue/readmem.go): every delivery, first or after a REQ,
// carries its own body intact while the messages finished before it let
// their memory be reused by later reads.
func TestDiskBigBodiesIntactWithReadReuse(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 0; o.Logger = io.Discard })
	const count, batch = 120, 20
	bodies := make([]string, count)
	for i := range bodies {
		pattern := fmt.Sprintf("<%d>", i)
		size := 64<<10 + i
		bodies[i] = strings.Repeat(pattern, size/len(pattern)+1)[:size]
	}
	producer := dialV2(t, n)
	for i := 0; i < count; i += batch {
		// 1.3 MB to the topic's disk: beside CPU hogs and a disk writer
		// one MPUB went past 5 s with its writer runnable (starved, not
		// stuck), and a write also waits out the disk queue's periodic
		// fsync (internal/diskqueue/queue.go's tick holds the writer role
		// across it), which took over 2.5 s there.
		producer.send("MPUB bigdisk", mpubBody(bodies[i:i+batch]...))
		frameType, data := producer.readFrameWithin(bigBodyWait)
		require.Equal(t, protocol.FrameTypeResponse, frameType, "frame data %q", data)
		require.Equal(t, "OK", string(data))
	}
	consumer := dialV2(t, n)
	// Heartbeats only after bigBodyWait: each one makes the pump look at
	// its channel again, and would hide a lost wake-up behind a slow
	// delivery instead of failing the wait below.
	consumer.identify(map[string]any{"heartbeat_interval": 60_000}) // the longest --max-heartbeat-interval allows
	consumer.subscribe("bigdisk", "ch")
	consumer.send("RDY 8") // a few in flight: later reads reuse what FINs freed
	finished := make(map[int]bool, count)
	deadline := time.Now().Add(2 * time.Minute)
	// The longest wait for a delivery, logged for runs under load (a wait
	// past readFrame's deadline dumps the daemon: stall_dump_test.go).
	var slowest time.Duration
	slowestAt, deliveries := 0, 0
	defer func() {
		t.Logf("%d deliveries; slowest wait for one: %s (delivery %d)", deliveries, slowest, slowestAt)
	}()
	for len(finished) < count {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages finished before the deadline", len(finished), count)
		}
		waitStart := time.Now()
		// Each delivery is 64 KB through disk, and the first waits for
		// the topic's whole backlog (7.7 MB) to be copied to the
		// channel's in one write (topic.go's drainStep): under -race on
		// a loaded machine waits reached 4.7 s, and 5 s with the copy
		// still under way, every goroutine busy and none parked that
		// should not be. A consumer left parked still fails here, with
		// the daemon dumped (stall_dump_test.go).
		m := consumer.readMessageWithin(bigBodyWait)
		deliveries++
		if wait := time.Since(waitStart); wait > slowest {
			slowest, slowestAt = wait, deliveries
		}
		end := strings.IndexByte(string(m.Body[:12]), '>')
		if len(m.Body) < 3 || m.Body[0] != '<' || end < 0 {
			t.Fatalf("a body that names no message: %q...", m.Body[:12])
		}
		i, err := strconv.Atoi(string(m.Body[1:end]))
		if err != nil || i < 0 || i >= count {
			t.Fatalf("a body that names no message: %q...", m.Body[:12])
		}
		if string(m.Body) != bodies[i] {
			t.Fatalf("message %d (attempt %d): body changed (%d bytes, want %d)", i, m.Attempts, len(m.Body), len(bodies[i]))
		}
		if finished[i] {
			t.Fatalf("message %d delivered after its FIN", i)
		}
		if i%3 == 0 && m.Attempts == 1 {
			consumer.req(m.ID, 0) // redelivered later, from the backlog
			continue
		}
		finished[i] = true
		consumer.fin(m.ID)
	}
}
