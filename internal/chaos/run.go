package chaos

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Fault kinds the nemesis knows.
const (
	FaultKill9    = "kill9"    // SIGKILL, restart
	FaultSIGTERM  = "sigterm"  // graceful stop, restart
	FaultSIGSTOP  = "sigstop"  // SIGSTOP for a while, SIGCONT
	FaultFlip     = "flip"     // SIGKILL, flip a byte in a closed segment, restart
	FaultDiskFull = "diskfull" // fill the data directory's small tmpfs for a while (root only)
)

// AllFaults is every fault kind, for a mixed run.
var AllFaults = []string{FaultKill9, FaultSIGTERM, FaultSIGSTOP, FaultFlip, FaultDiskFull}

// Config describes one run.
type Config struct {
	NSQD     string   // path of the nsqd binary
	NSQDArgs []string // extra flags (the harness adds listeners and --data-path)
	Dir      string   // work directory: data and logs; a temp dir when empty
	Cycles   int
	Seed     uint64
	Faults   []string // chosen at random per cycle
	// CycleTime is the mean time the workload runs between faults.
	CycleTime    time.Duration
	Publishers   int
	Consumers    int
	PublishPause time.Duration // mean pause between a publisher's commands
	// Interrupt, when closed, ends the cycles early: the run drains, stops
	// nsqd (and unmounts its tmpfs) and checks what it has.
	Interrupt <-chan struct{}
	// MaxBacklog bounds the messages answered OK and not yet FIN'd before
	// publishers wait (10,000 unless set).
	MaxBacklog   int
	MaxDPUBDelay time.Duration
	Topic        string
	Channel      string
	// Channels is how many channels of the topic the consumers read (1
	// unless set): the first is named Channel, the others Channel1,
	// Channel2... Consumers are spread over them, at least one each.
	Channels int
	// DrainTimeout bounds the final drain.
	DrainTimeout time.Duration
	// Slack is the scheduling allowance on the replay bound (Bounds.Slack):
	// 1 s unless set.
	Slack time.Duration
	Log   io.Writer
}

func (c *Config) defaults() {
	if c.Cycles == 0 {
		c.Cycles = 5
	}
	if len(c.Faults) == 0 {
		c.Faults = []string{FaultKill9}
	}
	if c.CycleTime == 0 {
		c.CycleTime = 2 * time.Second
	}
	if c.Publishers == 0 {
		c.Publishers = 4
	}
	if c.Consumers == 0 {
		c.Consumers = 3
	}
	if c.MaxBacklog == 0 {
		c.MaxBacklog = 10_000
	}
	if c.MaxDPUBDelay == 0 {
		c.MaxDPUBDelay = 3 * time.Second
	}
	if c.Topic == "" {
		c.Topic = "chaos"
	}
	if c.Channel == "" {
		c.Channel = "ch"
	}
	if c.Channels < 1 {
		c.Channels = 1
	}
	c.Consumers = max(c.Consumers, c.Channels)
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 2 * time.Minute
	}
	if c.Slack == 0 {
		c.Slack = time.Second
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
}

// channelNames are the channels a run reads: Channel, then Channel1,
// Channel2... (a run of one channel is named as it always was).
func (c *Config) channelNames() []string {
	names := []string{c.Channel}
	for i := 1; i < c.Channels; i++ {
		names = append(names, c.Channel+strconv.Itoa(i))
	}
	return names
}

// flagValue returns the last value given to --name (or -name) in args.
func flagValue(args []string, name string) (string, bool) {
	var v string
	found := false
	for _, a := range args {
		a = strings.TrimLeft(a, "-")
		if k, val, ok := strings.Cut(a, "="); ok && k == name {
			v, found = val, true
		}
	}
	return v, found
}

// Result is a finished run.
type Result struct {
	Report  Report
	History *History
	Dir     string // work directory (data, nsqd.log)
	Elapsed time.Duration
	Errors  []string // harness-level problems (nsqd failed to restart, drain timed out...)
}

// OK: the checker passed and the harness met no problem.
func (r Result) OK() bool { return r.Report.OK() && len(r.Errors) == 0 }

// Run starts nsqd, runs the workload through cfg.Cycles faults, drains,
// stops nsqd and checks the history.
func Run(cfg Config) (Result, error) {
	cfg.defaults()
	began := time.Now()
	dir := cfg.Dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "nsq-chaos-"); err != nil {
			return Result{}, err
		}
	}
	res := Result{History: &History{}, Dir: dir}
	args := slices.Clone(cfg.NSQDArgs)
	if _, ok := flagValue(args, "msg-timeout"); !ok {
		args = append(args, "--msg-timeout=6s")
	}
	if _, ok := flagValue(args, "max-bytes-per-file"); !ok && slices.Contains(cfg.Faults, FaultFlip) {
		// Small segments, so that closed ones exist to damage.
		args = append(args, "--max-bytes-per-file=262144")
	}
	bounds := Bounds{SyncTimeout: 2 * time.Second, MsgTimeout: 6 * time.Second, Slack: cfg.Slack}
	if v, ok := flagValue(args, "sync-timeout"); ok {
		if d, err := time.ParseDuration(v); err == nil {
			bounds.SyncTimeout = d
		}
	}
	if v, ok := flagValue(args, "msg-timeout"); ok {
		if d, err := time.ParseDuration(v); err == nil {
			bounds.MsgTimeout = d
		}
	}

	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return res, err
	}
	faults := slices.Clone(cfg.Faults)
	tmpfs := false
	if slices.Contains(faults, FaultDiskFull) {
		if err := mountTmpfs(dataDir); err != nil {
			fmt.Fprintf(cfg.Log, "chaos: no disk-full fault: %s\n", err)
			faults = slices.DeleteFunc(faults, func(f string) bool { return f == FaultDiskFull })
		} else {
			tmpfs = true
			defer unmountTmpfs(dataDir)
		}
	}
	if len(faults) == 0 {
		return res, errors.New("no fault kind can run here")
	}
	n := &node{bin: cfg.NSQD, dataDir: dataDir, args: args, logPath: filepath.Join(dir, "nsqd.log")}
	if err := n.start(); err != nil {
		return res, err
	}
	defer n.shutdown()
	// The channels exist before the first publish, so each gets every
	// message.
	if err := n.post("/topic/create?topic=" + cfg.Topic); err != nil {
		return res, err
	}
	res.History.Channels = cfg.channelNames()
	for _, ch := range res.History.Channels {
		if err := n.post("/channel/create?topic=" + cfg.Topic + "&channel=" + ch); err != nil {
			return res, err
		}
	}
	fmt.Fprintf(cfg.Log, "chaos: nsqd %v, data in %s, log %s\n", args, dataDir, n.logPath)

	w := newWorkload(n, res.History, &cfg)
	w.start(cfg.Seed)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xc4a05))
	nem := &nemesis{node: n, hist: res.History, rng: rng, dataDir: dataDir, log: cfg.Log}
	for cycle := range cfg.Cycles {
		// A nil Interrupt never fires: pause and stopped treat it as open.
		pause(cfg.Interrupt, time.Duration(float64(cfg.CycleTime)*(0.5+rng.Float64())))
		if stopped(cfg.Interrupt) {
			res.Errors = append(res.Errors, fmt.Sprintf("interrupted after %d cycles", cycle))
			break
		}
		kind := faults[rng.IntN(len(faults))]
		if err := nem.inject(kind); err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("cycle %d (%s): %s", cycle+1, kind, err))
			fmt.Fprintf(cfg.Log, "chaos: cycle %d: %s: %s\n", cycle+1, kind, err)
			if n.addr() == "" {
				if err := n.start(); err != nil {
					res.Errors = append(res.Errors, "restart: "+err.Error())
					break
				}
			}
			continue
		}
		fmt.Fprintf(cfg.Log, "chaos: cycle %d/%d: %s\n", cycle+1, cfg.Cycles, kind)
	}

	// Drain: no more publishes, every delivery FIN'd, until the channel is
	// empty with nothing in flight or deferred for a while.
	w.stopPublishers()
	w.finAll.Store(true)
	if err := drain(n, cfg); err != nil {
		res.Errors = append(res.Errors, "drain: "+err.Error())
	}
	w.stopConsumers()
	if err := n.shutdown(); err != nil {
		res.Errors = append(res.Errors, "final stop: "+err.Error())
	}
	n.mu.Lock()
	res.Errors = append(res.Errors, n.exitErrs...)
	n.mu.Unlock()
	for text, count := range w.errorCounts() {
		fmt.Fprintf(cfg.Log, "chaos: consumers got %q %d times\n", text, count)
		if !strings.HasPrefix(text, "E_FIN_FAILED") && !strings.HasPrefix(text, "E_REQ_FAILED") {
			res.Errors = append(res.Errors, fmt.Sprintf("consumers got %q %d times", text, count))
		}
	}
	res.Report = Check(res.History, bounds)
	if tmpfs && !res.OK() {
		// The data directory goes with its tmpfs: keep a copy for the
		// post-mortem (the segments, the cursors' metadata).
		kept := filepath.Join(dir, "data-kept")
		if out, err := exec.Command("cp", "-a", dataDir, kept).CombinedOutput(); err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("keeping the data directory: %s: %s", err, out))
		} else {
			fmt.Fprintf(cfg.Log, "chaos: data directory copied to %s\n", kept)
		}
	}
	res.Elapsed = time.Since(began)
	return res, nil
}

// drain waits until every channel of the run has been empty (no depth,
// nothing in flight or deferred) and the topic too, on several polls in a
// row, after the last DPUB's time has passed. A channel missing from the
// stats is not empty: its messages are somewhere else, or gone.
func drain(n *node, cfg Config) error {
	deadline := time.Now().Add(cfg.DrainTimeout)
	pause(nil, cfg.MaxDPUBDelay)
	quiet := 0
	var last string
	for quiet < 5 {
		if time.Now().After(deadline) {
			return fmt.Errorf("not drained within %s: %s", cfg.DrainTimeout, last)
		}
		pause(nil, 200*time.Millisecond)
		if n.addr() == "" {
			return errors.New("nsqd is not running")
		}
		s, err := n.stats()
		if err != nil {
			quiet, last = 0, err.Error()
			continue
		}
		empty, state := drained(s, cfg.Topic, cfg.channelNames())
		last = state
		if empty {
			quiet++
		} else {
			quiet = 0
		}
	}
	return nil
}

// drained reports whether the topic and each of channels is empty in s,
// and what it saw.
func drained(s nodeStats, topic string, channels []string) (bool, string) {
	empty := true
	var seen []string
	missing := map[string]bool{}
	for _, ch := range channels {
		missing[ch] = true
	}
	for _, t := range s.Topics {
		if t.Name != topic {
			continue
		}
		if t.Depth != 0 {
			empty = false
		}
		seen = append(seen, fmt.Sprintf("topic depth %d", t.Depth))
		for _, c := range t.Channels {
			delete(missing, c.Name)
			if c.Depth != 0 || c.InFlight != 0 || c.Deferred != 0 {
				empty = false
			}
			seen = append(seen, fmt.Sprintf("channel %s depth %d, in flight %d, deferred %d", c.Name, c.Depth, c.InFlight, c.Deferred))
		}
	}
	for _, ch := range channels {
		if missing[ch] {
			empty = false
			seen = append(seen, "channel "+ch+" missing")
		}
	}
	return empty, strings.Join(seen, "; ")
}

// nemesis injects faults into the node.
type nemesis struct {
	node    *node
	hist    *History
	rng     *rand.Rand
	dataDir string
	log     io.Writer
}

func (m *nemesis) inject(kind string) error {
	f := Fault{Kind: kind, Start: time.Now()}
	defer func() {
		f.End = time.Now()
		m.hist.addFault(f)
	}()
	switch kind {
	case FaultKill9:
		if err := m.node.signal(syscall.SIGKILL); err != nil {
			return err
		}
		return m.node.start()
	case FaultSIGTERM:
		if err := m.node.signal(syscall.SIGTERM); err != nil {
			m.node.start()
			return err
		}
		return m.node.start()
	case FaultSIGSTOP:
		if err := m.node.signal(sigStop); err != nil {
			return err
		}
		pause(nil, time.Duration(300+m.rng.IntN(1700))*time.Millisecond)
		return m.node.signal(sigCont)
	case FaultFlip:
		if err := m.node.signal(syscall.SIGKILL); err != nil {
			return err
		}
		detail, ids, err := flipClosedSegment(m.dataDir, m.rng)
		f.Detail = detail
		m.hist.addDamaged(ids)
		if err != nil {
			fmt.Fprintf(m.log, "chaos: flip: %s\n", err)
		}
		return m.node.start()
	case FaultDiskFull:
		filler := filepath.Join(m.dataDir, "chaos-filler")
		err := fillDisk(filler)
		pause(nil, time.Duration(500+m.rng.IntN(1500))*time.Millisecond)
		if rerr := os.Remove(filler); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	return fmt.Errorf("unknown fault %q", kind)
}

// fillDisk writes path until the file system is full.
func fillDisk(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return nil
			}
			return err
		}
	}
}

// tmpfsSize is room for the backlog a run builds up when publishers
// outpace consumers, with the filler taking whatever is left.
const tmpfsSize = "256m"

func mountTmpfs(dir string) error {
	if os.Geteuid() != 0 {
		return errors.New("needs root to mount a small tmpfs")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+tmpfsSize, "tmpfs", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("mount tmpfs: %s: %s", err, out)
	}
	return nil
}

func unmountTmpfs(dir string) {
	exec.Command("umount", dir).Run()
}
