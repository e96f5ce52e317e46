package nsqd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
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

// With the flag off (it is on by default) nothing goes to a log: each
// channel writes its own backlog, and no log file exists.
func TestFanoutLogOffWritesEachChannelsBacklog(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MemQueueSize = 10; o.FanoutLog = false })
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

// fanoutCrashChildEnv carries the data directory to the re-executed test
// binary that runs nsqd with --fanout-log as a child process, to be killed
// with SIGKILL.
const fanoutCrashChildEnv = "NSQD_TEST_FANOUT_LOG_CRASH_CHILD"

// TestFanoutLogCrashChild is the child of TestFanoutLogSurvivesKill9: an
// nsqd with --fanout-log that sends everything through disk and fsyncs
// every write. It prints its addresses and runs until killed.
func TestFanoutLogCrashChild(t *testing.T) {
	serveCrashChild(t, fanoutCrashChildEnv, "FANOUTCRASH", func(opts *Options) {
		opts.MemQueueSize = 0
		opts.SyncEvery = 1
		opts.MaxBytesPerFile = 4096
		opts.FanoutLog = true
	})
}

// A kill -9 while publishers and consumers are under way loses nothing
// that was acknowledged: after the restart every channel delivers every
// message whose publish was answered OK, and every message it had not
// finished.
func TestFanoutLogSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	dir := t.TempDir()
	child := startCrashChild(t, "TestFanoutLogCrashChild", fanoutCrashChildEnv, dir, "FANOUTCRASH")
	tcpAddr, httpAddr := child.tcpAddr, child.httpAddr
	client := &http.Client{Timeout: 5 * time.Second}
	for _, path := range []string{"/topic/create?topic=clicks", "/channel/create?topic=clicks&channel=metrics",
		"/channel/create?topic=clicks&channel=spam_analysis", "/channel/create?topic=clicks&channel=archive"} {
		resp, err := client.Post("http://"+httpAddr+path, "", nil)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	waitFor(t, "nsqd.dat to record the channels", func() bool {
		data, err := os.ReadFile(filepath.Join(dir, metadataFile))
		return err == nil && bytes.Contains(data, []byte(`"name":"archive"`)) && bytes.Contains(data, []byte(`"name":"metrics"`)) && bytes.Contains(data, []byte(`"name":"spam_analysis"`))
	})

	producer := dialV2Addr(t, tcpAddr)
	var acked []string
	for b := 0; b < 10; b++ {
		batch := numbered(fmt.Sprintf("b%d-", b), 20)
		producer.mpub("clicks", batch...)
		acked = append(acked, batch...)
	}
	// metrics finishes 30 of 50 it holds; the rest stay in flight.
	consumer := dialV2Addr(t, tcpAddr)
	consumer.subscribe("clicks", "metrics")
	consumer.send("RDY 50")
	msgs := consumer.readMessages(50)
	consumer.send("RDY 0")
	finished := map[string]bool{}
	for _, m := range msgs[:30] {
		consumer.fin(m.ID)
		finished[string(m.Body)] = true
	}
	waitFor(t, "metrics' FINs", func() bool {
		return childChannelStat(t, client, httpAddr, "clicks", "metrics", "in_flight_count") == 20
	})

	// A publisher keeps publishing while the process is killed.
	type outcome struct{ acked []string }
	published := make(chan outcome, 1)
	some := make(chan struct{})
	lateConn := dialV2Addr(t, tcpAddr)
	go func() {
		// Owner: this test; ends at the first failed publish (the kill).
		var ok []string
		for i := 0; ; i++ {
			body := fmt.Sprintf("late-%d", i)
			if _, err := lateConn.conn.Write(command("PUB clicks", []byte(body))); err != nil {
				break
			}
			frameType, data, err := lateConn.readFrameErr(10 * time.Second)
			if err != nil || frameType != protocol.FrameTypeResponse || string(data) != "OK" {
				break
			}
			ok = append(ok, body)
			if len(ok) == 20 {
				close(some)
			}
		}
		published <- outcome{ok}
	}()
	select {
	case <-some:
	case <-time.After(30 * time.Second):
		t.Fatal("the late publisher published nothing")
	}
	child.kill9(t)
	late := (<-published).acked
	acked = append(acked, late...)
	t.Logf("%d late publishes acknowledged before the kill", len(late))

	n := startDaemon(t, func(o *Options) { o.DataPath = dir; o.MemQueueSize = 0; o.FanoutLog = true })
	for _, name := range logChannels {
		ch := existingChannel(t, n, "clicks", name)
		c := dialV2(t, n)
		c.subscribe("clicks", name)
		c.send("RDY 100")
		seen := map[string]int{}
		missing := func() int {
			k := 0
			for _, b := range acked {
				if seen[b] == 0 && !(name == "metrics" && finished[b]) {
					k++
				}
			}
			return k
		}
		for missing() > 0 {
			m, err := c.readMessageErr(5 * time.Second)
			if err != nil {
				t.Fatalf("%s: %d acknowledged messages not delivered after the crash (%v); depth %d cursor %+v", name, missing(), err, ch.Depth(), ch.log.cursor.Stats())
			}
			seen[string(m.Body)]++
			c.fin(m.ID)
		}
		c.conn.Close()
	}
}

// childChannelStat reads a numeric field of topic/channel from a daemon's
// /stats.
func childChannelStat(t *testing.T, client *http.Client, httpAddr, topic, channel, key string) float64 {
	t.Helper()
	resp, err := client.Get("http://" + httpAddr + "/stats?format=json&topic=" + topic + "&channel=" + channel)
	require.NoError(t, err)
	defer resp.Body.Close()
	var stats struct {
		Topics []struct {
			Channels []map[string]any `json:"channels"`
		} `json:"topics"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&stats))
	if len(stats.Topics) != 1 || len(stats.Topics[0].Channels) != 1 {
		return -1
	}
	v, _ := stats.Topics[0].Channels[0][key].(float64)
	return v
}

// A bounded channel and a deferred (DPUB) batch keep their own queue: the
// bounded channel never joins the log, and a joined channel takes a
// deferred batch into its own queue (its store, or its heap) and delivers
// it when due.
func TestFanoutLogKeepsBoundedChannelsAndDeferredOnTheirOwnQueues(t *testing.T) {
	n := fanoutLogDaemon(t, 2, nil)
	bounded := boundedChannel(t, n, "clicks", "bounded", "max_depth=1000&overflow=drop-oldest")
	channels := fanOutTopic(t, n, "clicks", "metrics", "archive")
	dialV2(t, n).mpub("clicks", numbered("m", 20)...)
	require.Zero(t, bounded.queue.CursorDepth(), "the bounded channel never joins")
	require.EqualValues(t, 18, ownBacklogDepth(bounded))
	for _, c := range channels {
		require.EqualValues(t, 20, c.queue.CursorDepth(), c.name)
	}
	producer := dialV2(t, n)
	producer.send("DPUB clicks 50", []byte("later"))
	producer.expectResponse("OK")
	for _, c := range append(channels, bounded) {
		c.mu.Lock()
		deferred := c.queue.DeferredCount()
		c.mu.Unlock()
		require.Equal(t, 1, deferred, c.name)
	}
	for _, c := range channels {
		require.EqualValues(t, 20, c.queue.CursorDepth(), "%s: the deferred message is not logged", c.name)
		got := consumeLogged(t, n, "clicks", c.name, 21)
		requireEachOnce(t, append(numbered("m", 20), "later"), got, c.name)
	}
}

// Deleting the topic deletes its log with the channels' cursors; the
// topic made again starts with no log records.
func TestFanoutLogDeletedWithItsTopic(t *testing.T) {
	n := fanoutLogDaemon(t, 0, nil)
	fanOutTopic(t, n, "gone", "a", "b")
	dialV2(t, n).mpub("gone", "x", "y")
	logFiles, err := filepath.Glob(filepath.Join(n.opts.DataPath, "gone"+topicLogSuffix+"*"))
	require.NoError(t, err)
	require.NotEmpty(t, logFiles)

	require.NoError(t, n.DeleteExistingTopic("gone"))
	files, err := filepath.Glob(filepath.Join(n.opts.DataPath, "gone*"))
	require.NoError(t, err)
	require.Empty(t, files)
	for _, c := range fanOutTopic(t, n, "gone", "a", "b") {
		require.Zero(t, c.Depth(), c.name)
	}
}

// Restarted with the flag off, the daemon still reads what the log holds
// for each channel, and logs nothing new: the joined channels leave.
func TestFanoutLogReadAfterRestartWithTheFlagOff(t *testing.T) {
	n := fanoutLogDaemon(t, 0, nil)
	fanOutTopic(t, n, "clicks", "a", "b")
	logged := numbered("logged", 20)
	dialV2(t, n).mpub("clicks", logged...)
	n = restartDaemon(t, n, func(o *Options) { o.MemQueueSize = 0; o.FanoutLog = false })
	later := numbered("own", 10)
	dialV2(t, n).mpub("clicks", later...)
	for _, name := range []string{"a", "b"} {
		c := existingChannel(t, n, "clicks", name)
		require.EqualValues(t, 20, c.queue.CursorDepth(), name)
		require.EqualValues(t, 10, ownBacklogDepth(c), name)
		require.False(t, c.log.cursor.Joined(), "%s left the log", name)
		requireEachOnce(t, append(logged, later...), consumeLogged(t, n, "clicks", name, 30), name)
	}
}

// GET /channel/peek shows a channel's logged messages after its memory,
// and consumes nothing.
func TestFanoutLogPeekShowsTheCursorsRecords(t *testing.T) {
	n := fanoutLogDaemon(t, 2, nil)
	c := fanOutTopic(t, n, "clicks", "metrics", "archive")[0]
	dialV2(t, n).mpub("clicks", "m0", "m1")
	dialV2(t, n).mpub("clicks", numbered("l", 5)...)
	require.EqualValues(t, 5, c.queue.CursorDepth())
	path := "/channel/peek?topic=clicks&channel=metrics&state=ready&n=10"
	require.Equal(t, append([]string{"m0", "m1"}, numbered("l", 5)...), peekBodies(peekJSONOf(t, n, path)))
	require.Equal(t, []string{"m0", "m1", "l0"}, peekBodies(peekJSONOf(t, n, "/channel/peek?topic=clicks&channel=metrics&state=ready&n=3")))
	require.EqualValues(t, 5, c.queue.CursorDepth())
	requireEachOnce(t, append([]string{"m0", "m1"}, numbered("l", 5)...), consumeLogged(t, n, "clicks", "metrics", 7), "metrics")
}

// A damaged record of the log is skipped by each channel that reads it,
// and counted in its /stats disk_skipped_records; the others arrive.
func TestFanoutLogDamageIsSkippedAndCountedPerChannel(t *testing.T) {
	n := fanoutLogDaemon(t, 0, nil)
	fanOutTopic(t, n, "clicks", "a", "b")
	bodies := bodiesOfSize(20, 100)
	dialV2(t, n).mpub("clicks", bodies...)
	dataPath := n.opts.DataPath
	n.Exit()
	segs, err := filepath.Glob(filepath.Join(dataPath, "clicks"+topicLogSuffix+".diskqueue.000000.dat"))
	require.NoError(t, err)
	require.Len(t, segs, 1)
	data, err := os.ReadFile(segs[0])
	require.NoError(t, err)
	data[len(data)/2] ^= 0xff // inside a record in the middle of the batch
	require.NoError(t, os.WriteFile(segs[0], data, 0o600))

	n = startDaemon(t, func(o *Options) { o.DataPath = dataPath; o.FanoutLog = true; o.MemQueueSize = 0 })
	for _, name := range []string{"a", "b"} {
		ch := existingChannel(t, n, "clicks", name)
		c := dialV2(t, n)
		c.subscribe("clicks", name)
		c.send("RDY 50")
		var got []string
		// A skipped record is counted when the read meets it, before the
		// records after it are delivered.
		for len(got)+int(ch.queueHealth().DiskSkippedRecords) < len(bodies) {
			m, err := c.readMessageErr(5 * time.Second)
			require.NoError(t, err, "%s after %d", name, len(got))
			got = append(got, string(m.Body))
			c.fin(m.ID)
		}
		c.expectNoFrame(50 * time.Millisecond)
		require.Zero(t, ch.Depth(), name)
		skipped := ch.queueHealth().DiskSkippedRecords
		require.GreaterOrEqual(t, skipped, int64(1), name)
		require.Equal(t, len(bodies), len(got)+int(skipped), "%s: every record delivered or skipped", name)
		require.Subset(t, bodies, got, name)
		stats := channelStatsJSON(t, n, "clicks", name)
		require.EqualValues(t, skipped, stats["disk_skipped_records"], name)
		c.conn.Close()
	}
}

// Consumers reading while publishers publish: every channel delivers every
// message, the last batches too, with no publish after them to wake it.
func TestFanoutLogConsumeWhilePublishing(t *testing.T) {
	n := fanoutLogDaemon(t, 4, nil)
	fanOutTopic(t, n, "clicks", logChannels...)
	const batches, size = 200, 10
	var bodies []string
	for b := 0; b < batches; b++ {
		bodies = append(bodies, numbered(fmt.Sprintf("b%d-", b), size)...)
	}
	consumers := map[string]*testConn{}
	for _, name := range logChannels {
		c := dialV2(t, n)
		c.subscribe("clicks", name)
		c.send("RDY 7")
		consumers[name] = c
	}
	done := make(chan error, 1)
	producer := dialV2(t, n)
	go func() {
		// Owner: this test; ends after the last batch's answer.
		for b := 0; b < batches; b++ {
			if _, err := producer.conn.Write(command("MPUB clicks", mpubBody(bodies[b*size:(b+1)*size]...))); err != nil {
				done <- err
				return
			}
			frameType, data, err := producer.readFrameErr(10 * time.Second)
			if err != nil || frameType != protocol.FrameTypeResponse || string(data) != "OK" {
				done <- fmt.Errorf("batch %d: %d %q %v", b, frameType, data, err)
				return
			}
		}
		done <- nil
	}()
	got := map[string][]string{}
	for len(got["archive"])+len(got["metrics"])+len(got["spam_analysis"]) < 3*len(bodies) {
		progressed := false
		for _, name := range logChannels {
			c := consumers[name]
			if len(got[name]) == len(bodies) {
				continue
			}
			m, err := c.readMessageErr(5 * time.Second)
			if err != nil {
				ch := existingChannel(t, n, "clicks", name)
				t.Fatalf("%s stalled after %d of %d: %v; depth %d cursor %+v joined %v", name, len(got[name]), len(bodies), err, ch.Depth(), ch.log.cursor.Stats(), ch.log.cursor.Joined())
			}
			got[name] = append(got[name], string(m.Body))
			c.fin(m.ID)
			progressed = true
		}
		require.True(t, progressed)
	}
	require.NoError(t, <-done)
	for _, name := range logChannels {
		requireEachOnce(t, bodies, got[name], name)
	}
}
