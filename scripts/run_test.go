// Package scripts holds no code: its tests run the scripts beside them.
package scripts

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/testnet"
	"github.com/nsqgo/nsq/internal/tooltest/commands"
)

const scriptTimeout = 90 * time.Second

// TestMain gives the scripts SIGINT at its default action, and removes the
// binaries built for the tests.
//
// A process started in the background by a shell without job control (an
// asynchronous list: make test's -race run, scripts/test-run.sh's jobs)
// starts with SIGINT and SIGQUIT ignored (POSIX, "Asynchronous Lists"), and
// exec passes an ignored signal on. run.sh would start with SIGINT ignored,
// and bash can neither trap nor reset a signal ignored when it started, so
// the Ctrl-C test's SIGINT would do nothing. Exec resets a caught signal to
// its default action instead: catching SIGINT here (never read: Ctrl-C is
// already ignored by this process) gives every script run.sh's Ctrl-C,
// however this test binary was started.
func TestMain(m *testing.M) {
	if signal.Ignored(os.Interrupt) {
		signal.Notify(make(chan os.Signal, 1), os.Interrupt)
	}
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

// freePort is a loopback port nothing listens on (just released) for
// run.sh to bind later, below the kernel's ephemeral range where there is
// room (internal/testnet.FreeAddr says why: run.sh otherwise fails to start,
// without its banner).
func freePort(t *testing.T) int {
	t.Helper()
	_, port, err := net.SplitHostPort(testnet.FreeAddr(t))
	require.NoError(t, err)
	n, err := strconv.Atoi(port)
	require.NoError(t, err)
	return n
}

// lockedBuffer collects the script's combined output and says when it
// grows.
type lockedBuffer struct {
	mu      sync.Mutex
	sb      strings.Builder
	changed chan struct{} // closed and replaced on every write
}

func newLockedBuffer() *lockedBuffer { return &lockedBuffer{changed: make(chan struct{})} }

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.changed)
	b.changed = make(chan struct{})
	return b.sb.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sb.String()
}

// snapshot is the output so far and a channel closed when it grows.
func (b *lockedBuffer) snapshot() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sb.String(), b.changed
}

// awaitOutput waits until run.sh has printed text; it fails at once, with
// the output, if run.sh exits first.
func awaitOutput(t *testing.T, out *lockedBuffer, done chan error, text string) {
	t.Helper()
	timeout := time.After(scriptTimeout)
	for {
		s, changed := out.snapshot()
		if strings.Contains(s, text) {
			return
		}
		select {
		case <-changed:
		case err := <-done:
			done <- err
			t.Fatalf("run.sh exited (%v) before printing %q; output:\n%s", err, text, out)
		case <-timeout:
			t.Fatalf("run.sh did not print %q within %s; output:\n%s", text, scriptTimeout, out)
		}
	}
}

// runScript starts scripts/run.sh with env added; the cleanup stops it by
// PID (SIGTERM: its trap stops the daemons it started, by PID).
func runScript(t *testing.T, env ...string) (*exec.Cmd, *lockedBuffer, chan error) {
	t.Helper()
	cmd := exec.Command("bash", "run.sh")
	cmd.Env = append(os.Environ(), env...)
	out := newLockedBuffer()
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case err := <-done:
			done <- err
		default:
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(scriptTimeout):
				t.Errorf("run.sh (pid %d) did not stop after SIGTERM", cmd.Process.Pid)
			}
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
	awaitOutput(t, out, done, "Ctrl-C stops everything.")

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
