package nsqd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// deadCrashChildEnv carries the data directory to the re-executed test
// binary that runs nsqd as a child process, to be killed with SIGKILL.
const deadCrashChildEnv = "NSQD_TEST_DEAD_CRASH_CHILD"

// TestDeadLetterCrashChild is the child of TestDeadLetterSurvivesKill9: an
// nsqd on loopback port 0 that sends everything through disk and kills a
// message at its first REQ. It prints its addresses and runs until killed.
func TestDeadLetterCrashChild(t *testing.T) {
	serveCrashChild(t, deadCrashChildEnv, "DEADCRASH", func(opts *Options) {
		opts.MemQueueSize = 0
		opts.MaxAttempts = 1
	})
}

// A message dying at the moment nsqd is killed with SIGKILL is never lost:
// after the restart each message is in the dead set, or back in the
// channel's queue (its queue record is released only once the dead set's
// write returned), or both. The dead set's depth is exact after the crash.
func TestDeadLetterSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	dir := t.TempDir()
	child := startCrashChild(t, "TestDeadLetterCrashChild", deadCrashChildEnv, dir, "DEADCRASH")
	tcpAddr, httpAddr := child.tcpAddr, child.httpAddr

	const count = 100
	consumer := dialV2Addr(t, tcpAddr)
	consumer.subscribe("t", "c")
	waitFor(t, "nsqd.dat to record the channel", func() bool {
		data, err := os.ReadFile(filepath.Join(dir, metadataFile))
		return err == nil && bytes.Contains(data, []byte(`"name":"c"`))
	})
	consumer.send(fmt.Sprintf("RDY %d", count))
	producer := dialV2Addr(t, tcpAddr)
	producer.mpub("t", numbered("m", count)...)
	var reqs []byte
	for _, m := range consumer.readMessages(count) {
		reqs = append(reqs, command(fmt.Sprintf("REQ %s 0", m.ID[:]))...)
	}
	// Every REQ kills its message (max attempts 1). Kill the process once
	// the first death is stored, while the others are under way.
	consumer.sendRaw(reqs)
	waitFor(t, "the first death", func() bool { return childDeadCount(t, httpAddr) >= 1 })
	child.kill9(t)

	// Restart on the same files, with the limit off so nothing moves.
	n := startDaemon(t, func(o *Options) { o.DataPath = dir; o.MemQueueSize = 0 })
	ch := existingChannel(t, n, "t", "c")
	dead := deadMessages(t, ch)
	require.Equal(t, int64(len(dead)), ch.deadDepth())
	require.Equal(t, float64(len(dead)), channelStatsJSON(t, n, "t", "c")["dead_count"], "dead_count exact after the crash")
	found := map[string]int{}
	for _, m := range dead {
		require.Equal(t, "max_attempts", m.Reason.String())
		found[string(m.Body)]++
	}
	ch.mu.Lock()
	queued, fromBacklog, p := ch.queue.Take(nil, 10*count, ch.now())
	ch.mu.Unlock()
	require.Nil(t, p, "nothing expired")
	queued, later, err := ch.queue.ReadBacklog(queued, fromBacklog, ch.now(), nil)
	require.NoError(t, err)
	require.Empty(t, later, "nothing deferred")
	for _, m := range queued {
		found[string(m.Body)]++
	}
	for _, body := range numbered("m", count) {
		require.NotZero(t, found[body], "message %s lost (dead: %d, queued: %d)", body, len(dead), len(queued))
	}
	t.Logf("after SIGKILL: %d dead, %d back in the queue, of %d", len(dead), len(queued), count)
	require.GreaterOrEqual(t, len(dead), 1)
}

// dialV2Addr is dialV2 for a daemon in another process.
func dialV2Addr(t *testing.T, addr string) *testConn {
	t.Helper()
	conn := dialAddr(t, addr)
	_, err := conn.Write([]byte(protocol.MagicV2))
	require.NoError(t, err)
	return &testConn{t: t, conn: conn, reader: bufio.NewReader(conn)}
}

// childDeadCount reads t/c's dead_count from a daemon's /stats.
func childDeadCount(t *testing.T, httpAddr string) float64 {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + httpAddr + "/stats?format=json&topic=t&channel=c")
	require.NoError(t, err)
	defer resp.Body.Close()
	var stats struct {
		Topics []struct {
			Channels []struct {
				DeadCount float64 `json:"dead_count"`
			} `json:"channels"`
		} `json:"topics"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&stats))
	if len(stats.Topics) != 1 || len(stats.Topics[0].Channels) != 1 {
		return 0
	}
	return stats.Topics[0].Channels[0].DeadCount
}
