package nsqd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A crash test runs nsqd in a child process (the test binary re-executed
// to run one child test), drives it over loopback and kills it with
// SIGKILL, then restarts on the same files in-process. The child is told
// its data directory through an environment variable and prints its
// addresses on one line after a marker.

// serveCrashChild is a child test's body: unless env names a data
// directory (the test was not started by its parent) it skips; otherwise it
// starts nsqd there on loopback port 0 with configure's settings, prints
// marker and the TCP and HTTP addresses, and runs until killed.
func serveCrashChild(t *testing.T, env, marker string, configure func(*Options)) {
	dir := os.Getenv(env)
	if dir == "" {
		t.Skipf("the child process of a crash test (%s unset)", env)
	}
	opts := NewOptions()
	opts.TCPAddress = "127.0.0.1:0"
	opts.HTTPAddress = "127.0.0.1:0"
	opts.HTTPSAddress = "127.0.0.1:0"
	opts.BroadcastAddress = "127.0.0.1"
	opts.DataPath = dir
	opts.Logger = testLogWriter{t}
	configure(opts)
	n, err := New(opts)
	require.NoError(t, err)
	go n.Main()
	fmt.Printf("%s %s %s\n", marker, n.RealTCPAddr(), n.RealHTTPAddr())
	// The parent kills this process long before; the bound only keeps an
	// orphan from living on.
	time.Sleep(2 * time.Minute)
}

// crashChild is a running child nsqd, seen from its parent test.
type crashChild struct {
	cmd               *exec.Cmd
	tcpAddr, httpAddr string
	killed            bool
}

// startCrashChild runs the child test childTest on dir (passed in env)
// and waits for its addresses after marker. The child is killed when the
// test ends, if it still runs.
func startCrashChild(t *testing.T, childTest, env, dir, marker string) *crashChild {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+childTest+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env+"="+dir)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	c := &crashChild{cmd: cmd}
	t.Cleanup(func() {
		if !c.killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	addrs := make(chan []string, 1)
	go func() {
		// Owner: the test; ends when the child's stdout closes.
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if rest, ok := strings.CutPrefix(lines.Text(), marker+" "); ok {
				addrs <- strings.Fields(rest)
			}
		}
	}()
	select {
	case a := <-addrs:
		require.Len(t, a, 2)
		c.tcpAddr, c.httpAddr = a[0], a[1]
	case <-time.After(30 * time.Second):
		t.Fatalf("child nsqd did not start:\n%s", logs.String())
	}
	return c
}

// kill9 kills the child with SIGKILL and waits for it.
func (c *crashChild) kill9(t *testing.T) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Kill())
	c.cmd.Wait()
	c.killed = true
}
