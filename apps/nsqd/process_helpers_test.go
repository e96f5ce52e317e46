package main

// Helpers for the process-level tests: they run this command, built once
// (see commandsUsed), as a real subprocess, so that what is tested is what
// ships (flag parsing, signal handling, exit codes, the data-path lock) and so
// that a crash can be a real SIGKILL rather than a simulated one.

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/tooltest/commands"
)

const (
	// startTimeout bounds the wait for both "listening on" lines.
	startTimeout = 20 * time.Second
	// stopTimeout bounds a graceful stop before the process is killed.
	stopTimeout = 20 * time.Second
)

// commandsUsed is the nsqd these tests run: make test's build when it made
// one, else built once per test binary (with -race under -race, so that a
// data race in the daemon under crash and restart scenarios fails them).
var commandsUsed commands.Set

// TestMain exists only to remove the binary built for the process tests:
// it is shared by every test, so no single test's TempDir can own it.
func TestMain(m *testing.M) {
	code := m.Run()
	commandsUsed.Remove()
	os.Exit(code)
}

// nsqdBinary returns the path of this command's executable.
func nsqdBinary(t *testing.T) string {
	t.Helper()
	return commandsUsed.Path(t, "nsqd")
}

// nsqdProcess is one running nsqd. Its stderr is kept whole so that a
// failing test can show it, and scanned for the lines announcing the bound
// addresses, which is how the tests learn the ports it picked.
type nsqdProcess struct {
	t        *testing.T
	cmd      *exec.Cmd
	dataPath string
	tcpAddr  string // set before listening is closed
	httpAddr string // set before listening is closed

	listening chan struct{} // closed once both addresses are known
	done      chan struct{} // closed once stderr is read to EOF and Wait returned
	waitErr   error

	mu     sync.Mutex
	stderr strings.Builder
}

// startNSQD runs nsqd on dataPath with loopback listeners on free ports plus
// args, and returns once it serves both TCP and HTTP.
func startNSQD(t *testing.T, dataPath string, args ...string) *nsqdProcess {
	t.Helper()
	p := launchNSQD(t, dataPath, args...)
	p.awaitListening()
	return p
}

// launchNSQD starts nsqd without waiting for it to serve (for a start that
// is expected to fail). The process is killed in cleanup if still running.
func launchNSQD(t *testing.T, dataPath string, args ...string) *nsqdProcess {
	t.Helper()
	bin := nsqdBinary(t)
	full := append([]string{
		"--tcp-address=127.0.0.1:0",
		"--http-address=127.0.0.1:0",
		"--data-path=" + dataPath,
	}, args...)
	p := &nsqdProcess{
		t:         t,
		cmd:       exec.Command(bin, full...),
		dataPath:  dataPath,
		listening: make(chan struct{}),
		done:      make(chan struct{}),
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatalf("stderr pipe: %s", err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start nsqd: %s", err)
	}
	go p.readStderr(stderr)
	t.Cleanup(p.cleanup)
	return p
}

// readStderr records every line, publishes the addresses from the
// "listening on" lines, and reaps the process at EOF (Wait must come after
// the pipe is drained).
func (p *nsqdProcess) readStderr(stderr io.Reader) {
	lines := bufio.NewScanner(stderr)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	var tcp, http string
	for lines.Scan() {
		line := lines.Text()
		p.mu.Lock()
		p.stderr.WriteString(line)
		p.stderr.WriteByte('\n')
		p.mu.Unlock()
		if tcp == "" {
			if _, addr, ok := strings.Cut(line, "INFO: TCP: listening on "); ok {
				tcp = strings.TrimSpace(addr)
			}
		}
		if http == "" {
			if _, addr, ok := strings.Cut(line, "INFO: HTTP: listening on "); ok {
				http = strings.TrimSpace(addr)
			}
		}
		if tcp != "" && http != "" && p.tcpAddr == "" {
			p.tcpAddr, p.httpAddr = tcp, http
			close(p.listening)
		}
	}
	// A line too long for the scanner ends the scan: keep draining, or the
	// daemon would block writing its log and never exit.
	io.Copy(io.Discard, stderr)
	p.waitErr = p.cmd.Wait()
	close(p.done)
}

func (p *nsqdProcess) awaitListening() {
	p.t.Helper()
	select {
	case <-p.listening:
	case <-p.done:
		p.t.Fatalf("nsqd exited before listening (%v):\n%s", p.waitErr, p.log())
	case <-time.After(startTimeout):
		p.t.Fatalf("nsqd did not announce its listeners within %s:\n%s", startTimeout, p.log())
	}
}

// log returns what the process wrote on stderr so far.
func (p *nsqdProcess) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// awaitExit waits for the process to end and returns its exit code, or
// fails the test after timeout (killing it by PID first).
func (p *nsqdProcess) awaitExit(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("nsqd (pid %d) did not exit within %s; killed:\n%s", p.cmd.Process.Pid, timeout, p.log())
	}
	var exitErr *exec.ExitError
	if p.waitErr != nil && !errors.As(p.waitErr, &exitErr) {
		p.t.Fatalf("waiting for nsqd: %s", p.waitErr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// stop is a graceful stop (SIGTERM, as an init system sends): it must
// complete within stopTimeout and exit 0.
func (p *nsqdProcess) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatalf("SIGTERM to nsqd (pid %d): %s", p.cmd.Process.Pid, err)
	}
	if code := p.awaitExit(stopTimeout); code != 0 {
		p.t.Fatalf("nsqd exited with %d after SIGTERM, want 0:\n%s", code, p.log())
	}
}

// crash is kill -9: nothing in the daemon runs after it.
func (p *nsqdProcess) crash() {
	p.t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		p.t.Fatalf("SIGKILL to nsqd (pid %d): %s", p.cmd.Process.Pid, err)
	}
	p.awaitExit(stopTimeout)
}

// cleanup kills the process if a test left it running, shows its log when
// the test failed, and fails the test if the race detector spoke.
func (p *nsqdProcess) cleanup() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			p.t.Errorf("nsqd (pid %d) still not reaped %s after SIGKILL", p.cmd.Process.Pid, stopTimeout)
		}
	}
	log := p.log()
	if strings.Contains(log, "WARNING: DATA RACE") {
		p.t.Errorf("the race detector reported a data race in nsqd")
	}
	if p.t.Failed() {
		p.t.Logf("stderr of nsqd (pid %d, %v):\n%s", p.cmd.Process.Pid, p.cmd.Args[1:], log)
	}
}
