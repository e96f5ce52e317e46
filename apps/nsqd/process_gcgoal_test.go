package main

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/gcgoal"
)

// runtimeMinimumGoal is the collector's minimum heap goal at the default
// GOGC=100: what an idle daemon's goal is without internal/gcgoal.
const runtimeMinimumGoal = 4 << 20

// forcedGCGoal forces a collection in the daemon (the heap profile's gc=1)
// and returns the heap goal it reports afterwards (NextGC).
func forcedGCGoal(t *testing.T, httpAddr string) uint64 {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + httpAddr + "/debug/pprof/heap?gc=1")
	if err != nil {
		t.Fatalf("forcing a collection: %s", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	resp, err = client.Get("http://" + httpAddr + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatalf("reading the heap profile: %s", err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	for lines.Scan() {
		if v, ok := strings.CutPrefix(lines.Text(), "# NextGC = "); ok {
			goal, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				t.Fatalf("NextGC line %q: %s", lines.Text(), err)
			}
			return goal
		}
	}
	t.Fatalf("the heap profile has no NextGC line (%v)", lines.Err())
	return 0
}

// An idle daemon's live heap is well under a megabyte: its heap goal is the
// lowered minimum (2 MB), not the runtime's 4 MB.
func TestIdleDaemonCollectsBelowTheRuntimesMinimumGoal(t *testing.T) {
	if !gcgoal.Enabled() {
		t.Skip("GOGC or GOMEMLIMIT is set in the environment: the daemon leaves pacing alone")
	}
	p := startNSQD(t, t.TempDir())
	defer p.stop()
	// The goal is lowered by the tuner after a collection, on the runtime's
	// finalizer goroutine: collect until it shows (it does after the first
	// one or two).
	var goal uint64
	for range 50 {
		if goal = forcedGCGoal(t, p.httpAddr); goal < runtimeMinimumGoal {
			return
		}
	}
	t.Fatalf("heap goal %d after 50 collections of an idle daemon, want under %d", goal, runtimeMinimumGoal)
}

// With GOGC set, the daemon's pacing is the user's: an idle daemon keeps
// the runtime's 4 MB minimum goal.
func TestDaemonLeavesPacingToGOGC(t *testing.T) {
	t.Setenv("GOGC", "100") // inherited by the daemon
	p := startNSQD(t, t.TempDir())
	defer p.stop()
	for range 5 {
		if goal := forcedGCGoal(t, p.httpAddr); goal < runtimeMinimumGoal {
			t.Fatalf("heap goal %d with GOGC=100 set, want the runtime's minimum %d", goal, runtimeMinimumGoal)
		}
	}
}
