package nsqd

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/nsqgo/nsq/nsqd/queue"
)

// fanoutLogDaemon starts a daemon with --fanout-log and a small memory
// bound.
func fanoutLogDaemon(t *testing.T, memSize int64, configure func(*Options)) *NSQD {
	t.Helper()
	return startDaemon(t, func(o *Options) {
		o.FanoutLog = true
		o.MemQueueSize = memSize
		if configure != nil {
			configure(o)
		}
	})
}

var logChannels = []string{"metrics", "spam_analysis", "archive"}

// ownBacklogDepth is the depth of a channel's own backlog, without its
// cursor's.
func ownBacklogDepth(c *Channel) int64 { return c.BackendDepth() - c.queue.CursorDepth() }

// logSegments lists the topic log's segment files.
func logSegments(t *testing.T, n *NSQD, topic string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(n.opts.DataPath, topic+topicLogSuffix+".diskqueue.*.dat"))
	require.NoError(t, err)
	var segs []string
	for _, f := range files {
		if !strings.Contains(f, ".meta.dat") {
			segs = append(segs, f)
		}
	}
	return segs
}

// consumeLogged subscribes to topic/channel and reads count messages, FINing
// each, and returns their bodies in delivery order.
func consumeLogged(t *testing.T, n *NSQD, topic, channel string, count int) []string {
	t.Helper()
	c := dialV2(t, n)
	c.subscribe(topic, channel)
	c.send("RDY 50")
	bodies := make([]string, 0, count)
	for range count {
		m, err := c.readMessageErr(5 * time.Second)
		if err != nil {
			ch := existingChannel(t, n, topic, channel)
			t.Fatalf("%s/%s: after %d of %d: %v; depth %d cursor %d stats %+v", topic, channel, len(bodies), count, err, ch.Depth(), ch.queue.CursorDepth(), ch.log.cursor.Stats())
		}
		bodies = append(bodies, string(m.Body))
		c.fin(m.ID)
	}
	c.expectNoFrame(50 * time.Millisecond)
	c.conn.Close()
	return bodies
}

// readMessageErr reads the next message frame, skipping heartbeats.
func (c *testConn) readMessageErr(wait time.Duration) (protocol.DecodedMessage, error) {
	deadline := time.Now().Add(wait)
	for {
		frameType, data, err := c.readFrameErr(time.Until(deadline))
		if err != nil {
			return protocol.DecodedMessage{}, err
		}
		if frameType == protocol.FrameTypeResponse && string(data) == string(protocol.Heartbeat) {
			continue
		}
		if frameType != protocol.FrameTypeMessage {
			return protocol.DecodedMessage{}, fmt.Errorf("frame %d %q", frameType, data)
		}
		return protocol.DecodeMessage(data)
	}
}

// requireEachOnce checks that got holds every body of want exactly once.
func requireEachOnce(t *testing.T, want, got []string, what string) {
	t.Helper()
	seen := map[string]int{}
	for _, b := range got {
		seen[b]++
	}
	for _, b := range want {
		require.Equal(t, 1, seen[b], "%s: %s delivered %d times", what, b, seen[b])
	}
	require.Len(t, got, len(want), what)
}

// Past the memory bound, a batch three channels would each have written to
// their own disks is written once, to the topic log; each channel
// delivers every message exactly once, by MPUB and PUB, and the log's
// segments go once every channel has finished them.
func TestFanoutLogWritesOnceAndEachChannelConsumesAll(t *testing.T) {
	n := fanoutLogDaemon(t, 10, func(o *Options) { o.MaxBytesPerFile = 4096 })
	channels := fanOutTopic(t, n, "clicks", logChannels...)
	producer := dialV2(t, n)
	var bodies []string
	for b := 0; b < 10; b++ {
		batch := numbered(fmt.Sprintf("b%d-", b), 30)
		producer.mpub("clicks", batch...)
		bodies = append(bodies, batch...)
	}
	for i := 0; i < 20; i++ {
		body := fmt.Sprintf("p%d", i)
		producer.pub("clicks", body)
		bodies = append(bodies, body)
	}
	total := int64(len(bodies))
	inMemory := map[string]map[string]bool{}
	for _, c := range channels {
		require.Equal(t, total, c.Depth(), c.name)
		require.Zero(t, ownBacklogDepth(c), "%s wrote nothing of its own", c.name)
		c.mu.Lock()
		ready := c.queue.Peek(nil, queue.Ready, int(total))
		c.mu.Unlock()
		inMemory[c.name] = map[string]bool{}
		for _, m := range ready {
			inMemory[c.name][string(m.Body)] = true
		}
		require.Equal(t, total-int64(len(ready)), c.queue.CursorDepth(), "%s: all past memory is in its cursor", c.name)
		require.Greater(t, c.queue.CursorDepth(), total/2, c.name)
	}
	stats := getStats(t, n, "")
	for _, c := range channels {
		cs := channelStats(t, stats, "clicks", c.name)
		require.Equal(t, total, cs.Depth, c.name)
		require.Equal(t, c.queue.CursorDepth(), cs.BackendDepth, c.name)
	}
	require.NotEmpty(t, logSegments(t, n, "clicks"), "the log has segments")

	for i, c := range channels {
		got := consumeLogged(t, n, "clicks", c.name, len(bodies))
		requireEachOnce(t, bodies, got, c.name)
		// What came through the log came in publish order.
		var logged []string
		for _, b := range got {
			if !inMemory[c.name][b] {
				logged = append(logged, b)
			}
		}
		require.True(t, sort.SliceIsSorted(logged, func(a, b int) bool { return indexOf(bodies, logged[a]) < indexOf(bodies, logged[b]) }), "%s: log order kept", c.name)
		waitFor(t, c.name+" emptied", func() bool { return c.Depth() == 0 })
		if i < len(channels)-1 {
			require.Greater(t, len(logSegments(t, n, "clicks")), 1, "kept while %d channels still need them", len(channels)-1-i)
		}
	}
	requireLogTrimmed(t, n, "clicks", channels...)
}

// requireLogTrimmed waits for the log to keep only its write segment once
// the channels have finished everything.
func requireLogTrimmed(t *testing.T, n *NSQD, topic string, channels ...*Channel) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		done := len(logSegments(t, n, topic)) <= 1
		for _, c := range channels {
			done = done && c.Depth() == 0
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			var states []string
			for _, c := range channels {
				states = append(states, fmt.Sprintf("%s: depth %d cursor %+v", c.name, c.Depth(), c.log.cursor.Stats()))
			}
			t.Fatalf("the log keeps %v; %s", logSegments(t, n, topic), strings.Join(states, "; "))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// With the flag off nothing goes to a log: each channel writes its own
// backlog, and no log file exists.
func TestFanoutLogOffWritesEachChannelsBacklog(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 10 })
	channels := fanOutTopic(t, n, "clicks", logChannels...)
	dialV2(t, n).mpub("clicks", numbered("m", 50)...)
	for _, c := range channels {
		require.EqualValues(t, 40, ownBacklogDepth(c), c.name)
		require.False(t, c.queue.HasCursor(), c.name)
	}
	require.Empty(t, logSegments(t, n, "clicks"))
}

// REQ of a logged message brings it back; the channel ends empty, and
// the other channels are untouched.
func TestFanoutLogRequeuedMessageComesBack(t *testing.T) {
	n := fanoutLogDaemon(t, 2, nil)
	channels := fanOutTopic(t, n, "clicks", logChannels...)
	bodies := numbered("m", 20)
	dialV2(t, n).mpub("clicks", bodies[:2]...)
	dialV2(t, n).mpub("clicks", bodies[2:]...) // memory full: logged
	c := dialV2(t, n)
	c.subscribe("clicks", "metrics")
	c.send("RDY 1")
	seen := map[string]int{}
	var requeued string
	for len(seen) < len(bodies) || requeued != "" && seen[requeued] < 2 {
		m := c.readMessage()
		seen[string(m.Body)]++
		if requeued == "" && strings.HasPrefix(string(m.Body), "m1") && len(m.Body) == 3 {
			requeued = string(m.Body) // m10..m19: from the log
			c.req(m.ID, 0)
		} else {
			c.fin(m.ID)
		}
		c.send("RDY 1")
	}
	require.NotEmpty(t, requeued)
	require.Equal(t, 2, seen[requeued], "the requeued message came back once")
	for _, b := range bodies {
		require.NotZero(t, seen[b], b)
	}
	waitFor(t, "metrics emptied", func() bool { return channels[0].Depth() == 0 })
	require.EqualValues(t, 20, channels[1].Depth())
	require.EqualValues(t, 20, channels[2].Depth())
}

// A channel created after batches were logged does not receive them; it
// receives what is published after it.
func TestFanoutLogNewChannelGetsOnlyLaterBatches(t *testing.T) {
	n := fanoutLogDaemon(t, 5, nil)
	fanOutTopic(t, n, "clicks", "metrics", "archive")
	dialV2(t, n).mpub("clicks", numbered("old", 30)...)
	late := fanOutTopic(t, n, "clicks", "late")[0]
	require.Zero(t, late.Depth())
	later := numbered("new", 30)
	dialV2(t, n).mpub("clicks", later...)
	require.EqualValues(t, 30, late.Depth())
	requireEachOnce(t, later, consumeLogged(t, n, "clicks", "late", 30), "late")
	for _, name := range []string{"metrics", "archive"} {
		requireEachOnce(t, append(numbered("old", 30), later...), consumeLogged(t, n, "clicks", name, 60), name)
	}
}

// Emptying one channel skips its cursor to the end, deleting another
// deletes its cursor, pausing a third holds its messages; a fourth
// consumes everything throughout, and /stats follows.
func TestFanoutLogEmptyDeletePauseOneChannel(t *testing.T) {
	n := fanoutLogDaemon(t, 5, func(o *Options) { o.MaxBytesPerFile = 2048 })
	names := []string{"emptied", "deleted", "paused", "reader"}
	channels := fanOutTopic(t, n, "clicks", names...)
	bodies := numbered("m", 200)
	for i := 0; i < len(bodies); i += 25 {
		dialV2(t, n).mpub("clicks", bodies[i:i+25]...)
	}
	for _, c := range channels {
		require.EqualValues(t, 200, c.Depth(), c.name)
	}
	adminPost(t, n, "/channel/empty?topic=clicks&channel=emptied")
	require.Zero(t, channels[0].Depth())
	require.Zero(t, channelStats(t, getStats(t, n, ""), "clicks", "emptied").Depth)
	adminPost(t, n, "/channel/delete?topic=clicks&channel=deleted")
	_, err := os.Stat(filepath.Join(n.opts.DataPath, "clicks"+topicLogSuffix+".diskqueue.cursor.deleted.meta.dat"))
	require.True(t, os.IsNotExist(err), "the deleted channel's cursor is gone: %v", err)
	adminPost(t, n, "/channel/pause?topic=clicks&channel=paused")

	requireEachOnce(t, bodies, consumeLogged(t, n, "clicks", "reader", 200), "reader")

	paused := dialV2(t, n)
	paused.subscribe("clicks", "paused")
	paused.send("RDY 10")
	paused.expectNoFrame(100 * time.Millisecond)
	require.EqualValues(t, 200, channelStats(t, getStats(t, n, ""), "clicks", "paused").Depth)
	adminPost(t, n, "/channel/unpause?topic=clicks&channel=paused")
	var got []string
	for range 200 {
		m, err := paused.readMessageErr(5 * time.Second)
		if err != nil {
			c := channels[2]
			t.Fatalf("paused: after %d: %v; depth %d cursor %d stats %+v", len(got), err, c.Depth(), c.queue.CursorDepth(), c.log.cursor.Stats())
		}
		got = append(got, string(m.Body))
		paused.fin(m.ID)
	}
	requireEachOnce(t, bodies, got, "paused")

	// The emptied channel receives what comes after its Empty.
	after := numbered("after", 10)
	dialV2(t, n).mpub("clicks", after...)
	requireEachOnce(t, after, consumeLogged(t, n, "clicks", "emptied", 10), "emptied")
	requireEachOnce(t, after, consumeLogged(t, n, "clicks", "reader", 10), "reader")
	got = got[:0]
	for _, m := range paused.readMessages(10) {
		got = append(got, string(m.Body))
		paused.fin(m.ID)
	}
	requireEachOnce(t, after, got, "paused")
	requireLogTrimmed(t, n, "clicks", channels[0], channels[2], channels[3])
}

// A graceful restart in the middle of consumption loses nothing: each
// channel delivers every message, again only those not finished before.
func TestFanoutLogRestartMidConsumption(t *testing.T) {
	n := fanoutLogDaemon(t, 5, nil)
	fanOutTopic(t, n, "clicks", logChannels...)
	bodies := numbered("m", 100)
	for i := 0; i < len(bodies); i += 20 {
		dialV2(t, n).mpub("clicks", bodies[i:i+20]...)
	}
	finished := map[string]map[string]bool{}
	for _, name := range logChannels {
		finished[name] = map[string]bool{}
		c := dialV2(t, n)
		c.subscribe("clicks", name)
		c.send("RDY 40")
		msgs := c.readMessages(40)
		c.send("RDY 0")
		for i, m := range msgs {
			if i%2 == 0 {
				c.fin(m.ID)
				finished[name][string(m.Body)] = true
			}
		}
		ch := existingChannel(t, n, "clicks", name)
		waitFor(t, name+"'s FINs", func() bool { return ch.finishCount.Load() == 20 })
	}
	n = restartDaemon(t, n, func(o *Options) { o.FanoutLog = true; o.MemQueueSize = 5 })
	for _, name := range logChannels {
		want := len(bodies) - len(finished[name])
		got := consumeLogged(t, n, "clicks", name, want)
		seen := map[string]int{}
		for _, b := range got {
			seen[b]++
			require.False(t, finished[name][b], "%s: %s was finished before the restart", name, b)
		}
		for _, b := range bodies {
			if !finished[name][b] {
				require.Equal(t, 1, seen[b], "%s: %s", name, b)
			}
		}
	}
}

// The log's name cannot be a topic's, a channel's or a deferred store's.
func TestFanoutLogNameMeetsNoOtherQueue(t *testing.T) {
	name := "clicks" + topicLogSuffix
	require.False(t, protocol.ValidName(name), "not a topic's")
	require.False(t, protocol.ValidName(strings.TrimPrefix(name, "clicks:")), "not a channel's")
	require.NotEqual(t, queue.StoreSuffix, topicLogSuffix)
}
