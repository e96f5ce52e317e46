package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest"
)

// process is nsq_to_file as a child process: the test binary re-executed
// with asMainEnv set, so that it runs main().
type process struct {
	t      testing.TB
	cmd    *exec.Cmd
	stderr *tooltest.Buffer
	done   chan error
}

func startProcess(t testing.TB, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = asMainProcessEnv()
	p := &process{t: t, cmd: cmd, stderr: tooltest.NewBuffer(), done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	require.NoError(t, cmd.Start())
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
		p.done <- nil
		if t.Failed() {
			t.Logf("nsq_to_file (pid %d) log:\n%s", cmd.Process.Pid, p.stderr)
		}
	})
	return p
}

// signal sends sig and waits for the exit; it returns the exit status,
// or -1 when killed by a signal.
func (p *process) signal(sig os.Signal) int {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Signal(sig))
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		require.NoError(p.t, err)
		return 0
	case <-time.After(waitTimeout):
		p.t.Fatalf("nsq_to_file did not exit on %s; log:\n%s", sig, p.stderr)
		return 0
	}
}

// finishedBy is how many messages the subscriber connections of
// topic/channel have finished so far.
func (n *testNSQD) finishedBy(topic, channel string) uint64 {
	stats := n.GetStats(topic, channel, true)
	var fin uint64
	if len(stats.Topics) == 1 && len(stats.Topics[0].Channels) == 1 {
		for _, c := range stats.Topics[0].Channels[0].Clients {
			fin += c.FinishCount
		}
	}
	return fin
}

// deliveredTo is how many messages of topic/channel nsqd has handed to
// its subscribers so far: those in flight and those finished.
func (n *testNSQD) deliveredTo(topic, channel string) uint64 {
	stats := n.GetStats(topic, channel, true)
	if len(stats.Topics) != 1 || len(stats.Topics[0].Channels) != 1 {
		return 0
	}
	return n.finishedBy(topic, channel) + uint64(stats.Topics[0].Channels[0].InFlightCount)
}

func TestSIGKILLLosesNoFinishedMessage(t *testing.T) {
	n := startNSQD(t, nil, nil)
	want := messages("crash", 3000)
	n.publish(t, "crash", want)
	out, work := t.TempDir(), t.TempDir()
	args := []string{"--nsqd-tcp-address=" + n.TCPAddr(), "--topic=crash", "--output-dir=" + out,
		"--work-dir=" + work, "--rotate-size=4000", "--sync-interval=100ms", "--max-in-flight=20", fixedName}

	// A short timeout brings back what the killed process held. Only the
	// killed one has it: the second run keeps the default, or on a loaded
	// machine its own messages would time out between write and sync and
	// go round again.
	first := startProcess(t, append(args, "--consumer-opt=msg_timeout,1s")...)
	eventually(t, "part of the stream finished", func() bool {
		fin := n.finishedBy("crash", "nsq_to_file")
		return fin >= 500 && len(listFiles(t, out)) > 0
	})
	require.Equal(t, -1, first.signal(syscall.SIGKILL))
	require.False(t, n.drained("crash", "nsq_to_file"), "killed mid-stream")

	second := startProcess(t, args...)
	// The second run's FINs are not all of them: drained, not settled.
	eventually(t, "every message finished", func() bool { return n.drained("crash", "nsq_to_file") })
	require.Zero(t, second.signal(syscall.SIGTERM))

	// Every message was finished by one run or the other, and a message is
	// finished only once synced: each must be on disk (the killed run's
	// last work file included). Duplicates are allowed.
	seen := map[string]bool{}
	for _, dir := range []string{out, work} {
		for _, line := range allLines(t, dir) {
			seen[line] = true
		}
	}
	for _, m := range want {
		require.True(t, seen[m], "message %s lost", m)
	}
}

func TestSIGTERMMovesEveryFileOutOfTheWorkDir(t *testing.T) {
	n := startNSQD(t, nil, nil)
	want := messages("term", 1000)
	n.publish(t, "term", want)
	out, work := t.TempDir(), t.TempDir()
	p := startProcess(t, "--nsqd-tcp-address="+n.TCPAddr(), "--topic=term", "--output-dir="+out,
		"--work-dir="+work, "--rotate-size=100000", "--sync-interval=1h", fixedName)
	// The file is opened before the first message arrives: wait for nsqd to
	// have handed the process messages too, so that the stop has something
	// to archive (a message delivered is written and finished during the
	// stop, whenever the signal comes).
	eventually(t, "a file in progress holding messages", func() bool {
		return len(listFiles(t, work)) == 1 && n.deliveredTo("term", "nsq_to_file") > 0
	})

	require.Zero(t, p.signal(syscall.SIGTERM))
	require.Empty(t, listFiles(t, work))
	got := allLines(t, filepath.Join(out))
	require.NotEmpty(t, got)
	require.Equal(t, want[:len(got)], got)
	eventually(t, "exactly the archived messages were finished", func() bool {
		stats := n.GetStats("term", "nsq_to_file", false).Topics[0].Channels[0]
		return stats.InFlightCount == 0 && stats.Depth == int64(len(want)-len(got))
	})
}
