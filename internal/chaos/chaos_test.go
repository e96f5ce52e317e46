package chaos

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest/commands"
)

// commandsUsed is the nsqd the harness runs: make test's build when it
// made one, else built once per test binary.
var commandsUsed commands.Set

func TestMain(m *testing.M) {
	code := m.Run()
	commandsUsed.Remove()
	os.Exit(code)
}

// nsqdBinary is apps/nsqd's executable: the harness tests the daemon as it
// ships, as a separate process it can kill.
func nsqdBinary(t *testing.T) string {
	t.Helper()
	return commandsUsed.Path(t, "nsqd")
}

// testLog sends the harness's progress lines to t.Log.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// TestShortChaosRun is the short version of make chaos: a few cycles of
// every fault kind (the disk-full one only as root) at the durable
// settings, and the checker must pass.
func TestShortChaosRun(t *testing.T) {
	res, err := Run(Config{
		NSQD:         nsqdBinary(t),
		NSQDArgs:     []string{"--mem-queue-size=0", "--sync-every=1", "--sync-timeout=500ms", "--msg-timeout=3s"},
		Dir:          t.TempDir(),
		Cycles:       6,
		Seed:         1,
		Faults:       AllFaults,
		CycleTime:    time.Second,
		PublishPause: 2 * time.Millisecond,
		MaxDPUBDelay: time.Second,
		DrainTimeout: 30 * time.Second,
		// make test runs packages side by side on a small machine: the
		// periodic sync may run late.
		Slack: 2 * time.Second,
		Log:   testLog{t},
	})
	require.NoError(t, err)
	t.Log("\n" + res.Report.Table("short chaos run", res.Elapsed))
	require.Empty(t, res.Errors)
	require.True(t, res.Report.OK())
	require.Positive(t, res.Report.Published)
	require.Equal(t, 6, len(res.History.Faults))
}

// TestShortChaosRunChannels is the short multi-channel version: the topic
// hands every message to three channels, each read by its own consumers,
// and the checker holds each channel to every promise on its own through a
// few kill -9s.
func TestShortChaosRunChannels(t *testing.T) {
	res, err := Run(Config{
		NSQD:         nsqdBinary(t),
		NSQDArgs:     []string{"--mem-queue-size=0", "--sync-every=1", "--sync-timeout=500ms", "--msg-timeout=3s"},
		Dir:          t.TempDir(),
		Cycles:       3,
		Seed:         2,
		Faults:       []string{FaultKill9},
		CycleTime:    time.Second,
		Channels:     3,
		PublishPause: 2 * time.Millisecond,
		MaxDPUBDelay: time.Second,
		DrainTimeout: 30 * time.Second,
		Slack:        2 * time.Second,
		Log:          testLog{t},
	})
	require.NoError(t, err)
	t.Log("\n" + res.Report.Table("short chaos run, 3 channels", res.Elapsed))
	require.Empty(t, res.Errors)
	require.True(t, res.Report.OK())
	require.Equal(t, []string{"ch", "ch1", "ch2"}, res.Report.Channels)
	for _, ch := range res.Report.Channels {
		require.Positive(t, res.Report.PerChannel[ch].Deliveries, ch)
	}
	require.Positive(t, res.Report.Published)
	require.Equal(t, 3, len(res.History.Faults))
}

// The checker is only as good as what it catches on a real daemon: a
// segment file deleted behind nsqd's back is reported as loss, exactly the
// messages it held, and a body no publisher recorded is reported as
// unexpected.
func TestCheckerCatchesADeletedSegmentAndAnInjectedBody(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	require.NoError(t, os.Mkdir(dataDir, 0o755))
	n := &node{bin: nsqdBinary(t), dataDir: dataDir, logPath: filepath.Join(dir, "nsqd.log"),
		args: []string{"--mem-queue-size=0", "--sync-every=1", "--max-bytes-per-file=4096"}}
	require.NoError(t, n.start())
	defer n.shutdown()
	require.NoError(t, n.post("/topic/create?topic=chaos"))
	require.NoError(t, n.post("/channel/create?topic=chaos&channel=ch"))

	h := &History{}
	c, err := dial(n.addr(), ioTimeout)
	require.NoError(t, err)
	for i := range 200 {
		id := messageID(0, i)
		require.NoError(t, c.send(ioTimeout, pubCommand("chaos", bodyFor(id))))
		resp, err := c.answer(ioTimeout)
		require.NoError(t, err)
		require.Equal(t, "OK", resp)
		h.addPublishes([]Publish{{ID: id, Op: "PUB", Sent: time.Now()}})
	}
	// Published, never recorded: what a checker that trusts the daemon
	// would miss.
	require.NoError(t, c.send(ioTimeout, pubCommand("chaos", []byte("injected body"))))
	_, err = c.answer(ioTimeout)
	require.NoError(t, err)
	c.close()
	require.NoError(t, n.signal(syscall.SIGKILL))

	segs, err := closedSegments(dataDir)
	require.NoError(t, err)
	segs = slices.DeleteFunc(segs, func(p string) bool { return !strings.HasPrefix(filepath.Base(p), "chaos:ch.") })
	require.NotEmpty(t, segs, "the channel has closed segments")
	victim := segs[len(segs)/2]
	b, err := os.ReadFile(victim)
	require.NoError(t, err)
	deleted := idsIn(b)
	require.NotEmpty(t, deleted)
	require.NoError(t, os.Remove(victim))
	require.NoError(t, n.start())

	cfg := Config{Topic: "chaos", Channel: "ch", Consumers: 2, MaxDPUBDelay: 10 * time.Millisecond, DrainTimeout: 30 * time.Second}
	w := newWorkload(n, h, &cfg)
	w.finAll.Store(true)
	w.start(1)
	require.NoError(t, drain(n, cfg))
	w.stopConsumers()

	r := Check(h, bounds)
	require.False(t, r.OK())
	var lost []string
	for _, l := range r.Lost {
		id, _, _ := strings.Cut(l, ":")
		lost = append(lost, id)
	}
	slices.Sort(lost)
	slices.Sort(deleted)
	require.Equal(t, deleted, lost, "exactly the messages of the deleted segment are lost")
	require.Len(t, r.Unexpected, 1)
	require.Contains(t, r.Unexpected[0], "injected body")
	require.Empty(t, r.Early)
	require.Empty(t, r.DupOutside)
}
