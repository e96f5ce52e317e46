// Package scripts holds no code: its tests run the scripts beside them.
package scripts

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest/commands"
)

const scriptTimeout = 90 * time.Second

// TestMain removes the binaries built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	commandsUsed.Remove()
	os.Exit(code)
}

// commandsUsed is what run.sh starts: make test's build when it made one,
// else built once per test binary.
var commandsUsed commands.Set

// buildApps returns a directory (run.sh's $BUILD) holding what run.sh
// starts, nsqadmin included when this tree has it.
func buildApps(t *testing.T) (dir string, admin bool) {
	t.Helper()
	names := []string{"nsqd", "nsqlookupd", "nsq_to_file"}
	if _, err := os.Stat("../apps/nsqadmin"); err == nil {
		names, admin = append(names, "nsqadmin"), true
	}
	return commandsUsed.Dir(t, names...), admin
}

// portEnv gives every port variable of run.sh a free port, except those in
// set.
func portEnv(t *testing.T, set map[string]int) (map[string]int, []string) {
	ports := map[string]int{}
	var env []string
	for _, v := range []string{"NSQD_TCP", "NSQD_HTTP", "LOOKUPD_TCP", "LOOKUPD_HTTP", "NSQADMIN_HTTP"} {
		port, ok := set[v]
		if !ok {
			port = freePort(t)
		}
		ports[v] = port
		env = append(env, v+"="+strconv.Itoa(port))
	}
	return ports, env
}

// freePort is a loopback port nothing listens on (just released).
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// lockedBuffer collects the script's combined output.
type lockedBuffer struct {
	mu sync.Mutex
	sb strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sb.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sb.String()
}

// runScript starts scripts/run.sh with env added; the cleanup stops it by
// PID (SIGTERM: its trap stops the daemons it started, by PID).
func runScript(t *testing.T, env ...string) (*exec.Cmd, *lockedBuffer, chan error) {
	t.Helper()
	cmd := exec.Command("bash", "run.sh")
	cmd.Env = append(os.Environ(), env...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case err := <-done:
			done <- err
			return
		default:
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(scriptTimeout):
			t.Errorf("run.sh (pid %d) did not stop after SIGTERM", cmd.Process.Pid)
		}
		if t.Failed() {
			t.Logf("run.sh output:\n%s", out)
		}
	})
	return cmd, out, done
}

// awaitExit waits for run.sh to end and returns its exit status; the
// result is put back for the cleanup.
func awaitExit(t *testing.T, done chan error, out *lockedBuffer) int {
	t.Helper()
	select {
	case err := <-done:
		done <- err
		var exit *exec.ExitError
		if err != nil {
			require.ErrorAs(t, err, &exit)
			return exit.ExitCode()
		}
		return 0
	case <-time.After(scriptTimeout):
		t.Fatalf("run.sh did not exit; output:\n%s", out)
		return -1
	}
}

func TestBusyPortFailsAtOnceNamingTheVariable(t *testing.T) {
	build, _ := buildApps(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	_, env := portEnv(t, map[string]int{"NSQD_TCP": busyPort})
	_, out, done := runScript(t, append(env, "BUILD="+build, "DATA="+t.TempDir())...)
	require.Equal(t, 1, awaitExit(t, done, out), out.String())
	text := out.String()
	require.Contains(t, text, "address already in use", "nsqd's own error is shown")
	require.Contains(t, text, "nsqd exited at start-up with status 1")
	require.Contains(t, text, "port "+strconv.Itoa(busyPort)+" (NSQD_TCP) is taken")
	require.Contains(t, text, "NSQD_TCP="+strconv.Itoa(busyPort+1000)+" make run")
	require.NotContains(t, text, "did not answer", "the exit was noticed, not waited out")
}

func TestStartsTheClusterAndStopsItOnSIGINT(t *testing.T) {
	build, admin := buildApps(t)
	if !admin {
		t.Log("apps/nsqadmin is not in this tree: run.sh is tested without it")
	}
	data := t.TempDir()
	ports, env := portEnv(t, nil)
	cmd, out, done := runScript(t, append(env, "BUILD="+build, "DATA="+data)...)
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "Ctrl-C stops everything.") },
		scriptTimeout, 20*time.Millisecond, "run.sh printed its banner")

	banner := out.String()
	for _, url := range []string{
		"http://127.0.0.1:" + strconv.Itoa(ports["NSQD_HTTP"]) + "/ping",
		"http://127.0.0.1:" + strconv.Itoa(ports["LOOKUPD_HTTP"]) + "/ping",
	} {
		resp, err := http.Get(url)
		require.NoError(t, err, url)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, url)
	}
	require.Contains(t, banner, "archive:")
	adminURL := "http://127.0.0.1:" + strconv.Itoa(ports["NSQADMIN_HTTP"]) + "/"
	if admin {
		require.Contains(t, banner, "nsqadmin    "+adminURL)
	} else {
		require.NotContains(t, banner, "nsqadmin")
	}
	// The archiver runs with --skip-empty-files.
	ps, err := exec.Command("ps", "-o", "args=", "--ppid", strconv.Itoa(cmd.Process.Pid)).Output()
	if err == nil {
		require.Contains(t, string(ps), "--skip-empty-files")
	}

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.Equal(t, 0, awaitExit(t, done, out))
	require.Contains(t, out.String(), "stopped; data is in "+data)
	// Every daemon is gone: its port is free again.
	for v, port := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		require.NoError(t, err, "%s port %d released", v, port)
		l.Close()
	}
	require.FileExists(t, filepath.Join(data, "nsqd", "nsqd.dat"), "nsqd stopped gracefully")
}
