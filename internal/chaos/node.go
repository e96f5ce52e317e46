package chaos

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// node is the nsqd under test: a built binary run as a child process on
// loopback with port 0 listeners, its own data directory, and signals sent
// to its PID only. Its stderr goes to a log file kept with the data.
type node struct {
	bin     string
	dataDir string
	args    []string
	logPath string

	mu       sync.Mutex
	cmd      *exec.Cmd
	tcp      string
	http     string
	running  bool
	done     chan struct{} // closed when the current process has been reaped
	stopped  bool          // SIGSTOP'd and not yet continued
	starts   int
	exitErrs []string // unexpected exits, for the report
}

const (
	startTimeout = 30 * time.Second
	termTimeout  = 30 * time.Second
)

// start launches nsqd and waits for both "listening on" lines.
func (n *node) start() error {
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := append([]string{
		"--tcp-address=127.0.0.1:0",
		"--http-address=127.0.0.1:0",
		"--data-path=" + n.dataDir,
	}, n.args...)
	cmd := exec.Command(n.bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return err
	}
	cmd.Stdout = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", n.bin, err)
	}
	fmt.Fprintf(logf, "=== chaos: started pid %d at %s\n", cmd.Process.Pid, time.Now().Format(time.RFC3339Nano))
	done := make(chan struct{})
	addrs := make(chan [2]string, 1)
	go func() {
		// Owner: this process; ends when its stderr closes (it exited).
		defer close(done)
		defer logf.Close()
		lines := bufio.NewScanner(stderr)
		lines.Buffer(make([]byte, 64<<10), 1<<20)
		var tcp, http string
		for lines.Scan() {
			line := lines.Text()
			fmt.Fprintln(logf, line)
			if _, a, ok := strings.Cut(line, "TCP: listening on "); ok && tcp == "" {
				tcp = strings.TrimSpace(a)
			}
			if _, a, ok := strings.Cut(line, "HTTP: listening on "); ok && http == "" {
				http = strings.TrimSpace(a)
				if tcp != "" {
					addrs <- [2]string{tcp, http}
				}
			}
		}
		io.Copy(logf, stderr)
		err := cmd.Wait()
		fmt.Fprintf(logf, "=== chaos: pid %d exited: %v\n", cmd.Process.Pid, err)
	}()
	select {
	case a := <-addrs:
		n.mu.Lock()
		n.cmd, n.tcp, n.http, n.running, n.done, n.stopped = cmd, a[0], a[1], true, done, false
		n.starts++
		n.mu.Unlock()
		go n.watch(cmd, done)
		return nil
	case <-done:
		return fmt.Errorf("nsqd exited before listening (see %s)", n.logPath)
	case <-time.After(startTimeout):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("nsqd did not listen within %s (see %s)", startTimeout, n.logPath)
	}
}

// watch notes an exit nobody asked for (a crash of the daemon itself).
func (n *node) watch(cmd *exec.Cmd, done chan struct{}) {
	<-done
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == cmd && n.running {
		n.running = false
		n.exitErrs = append(n.exitErrs, fmt.Sprintf("pid %d exited on its own: %v", cmd.Process.Pid, cmd.ProcessState))
	}
}

// addr is where clients connect now; "" while the daemon is down.
func (n *node) addr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.running {
		return ""
	}
	return n.tcp
}

func (n *node) httpAddr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.running {
		return ""
	}
	return n.http
}

// signal sends sig to the daemon's PID and, for SIGKILL and SIGTERM, waits
// for it to exit (SIGTERM: up to termTimeout, then SIGKILL, reported).
func (n *node) signal(sig syscall.Signal) error {
	n.mu.Lock()
	cmd, done, running := n.cmd, n.done, n.running
	if sig == syscall.SIGKILL || sig == syscall.SIGTERM {
		n.running = false // an exit from here on was asked for
	}
	switch sig {
	case sigStop:
		n.stopped = true
	case sigCont:
		n.stopped = false
	}
	n.mu.Unlock()
	if cmd == nil || !running {
		return errors.New("nsqd is not running")
	}
	if err := cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %s to pid %d: %w", sig, cmd.Process.Pid, err)
	}
	if sig != syscall.SIGKILL && sig != syscall.SIGTERM {
		return nil
	}
	select {
	case <-done:
		if sig == syscall.SIGTERM && cmd.ProcessState != nil && cmd.ProcessState.ExitCode() != 0 {
			return fmt.Errorf("nsqd exited with %d after SIGTERM", cmd.ProcessState.ExitCode())
		}
		return nil
	case <-time.After(termTimeout):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("nsqd did not exit within %s of %s; killed", termTimeout, sig)
	}
}

// shutdown stops the daemon for good: continued if stopped, then SIGTERM.
func (n *node) shutdown() error {
	n.mu.Lock()
	stopped, running := n.stopped, n.running
	n.mu.Unlock()
	if !running {
		return nil
	}
	if stopped {
		n.signal(sigCont)
	}
	return n.signal(syscall.SIGTERM)
}

// Stats as /stats?format=json gives them; only what the harness reads.
type nodeStats struct {
	Topics []struct {
		Name     string `json:"topic_name"`
		Depth    int64  `json:"depth"`
		Channels []struct {
			Name     string `json:"channel_name"`
			Depth    int64  `json:"depth"`
			InFlight int64  `json:"in_flight_count"`
			Deferred int64  `json:"deferred_count"`
			Skipped  int64  `json:"disk_skipped_records"`
		} `json:"channels"`
	} `json:"topics"`
}

var statsClient = &http.Client{Timeout: 5 * time.Second}

func (n *node) stats() (nodeStats, error) {
	var s nodeStats
	addr := n.httpAddr()
	if addr == "" {
		return s, errors.New("nsqd is not running")
	}
	resp, err := statsClient.Get("http://" + addr + "/stats?format=json")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("/stats: %s", resp.Status)
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&s)
	return s, err
}

// post sends an admin POST (e.g. /channel/create) and requires a 200.
func (n *node) post(path string) error {
	addr := n.httpAddr()
	if addr == "" {
		return errors.New("nsqd is not running")
	}
	resp, err := statsClient.Post("http://"+addr+path, "text/plain", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s", path, resp.Status)
	}
	return nil
}
