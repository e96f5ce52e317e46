// Package bench holds no code: its tests run the scripts beside it.
package bench

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// compareEnv is the environment without compare.sh's own settings, so
// that a caller's ROUNDS or WARMUP does not change what the tests expect.
func compareEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "ROUNDS", "RUNFOR", "WARMUP", "TOUCH_MB", "QUIET", "RETRIES", "DRYRUN", "NSQD_BIN", "BASELINE_BIN":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// dryRun runs compare.sh with DRYRUN=1 and returns its output and error.
func dryRun(t *testing.T, env []string, shapes ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{"compare.sh"}, shapes...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestCompareSchedule checks the order of compare.sh's runs: one uncounted
// warm-up run of each daemon before a shape's round 1 (none for the ceiling
// shape, whose runs are against bench_ideal), then ABBA rounds.
func TestCompareSchedule(t *testing.T) {
	out, err := dryRun(t, compareEnv("DRYRUN=1", "ROUNDS=2"), "memory", "ceiling", "consumers")
	if err != nil {
		t.Fatalf("compare.sh: %v\n%s", err, out)
	}
	want := `memory warmup ours
memory warmup upstream
memory round 1 ours
memory round 1 upstream
memory round 2 upstream
memory round 2 ours
ceiling round 1 ideal
ceiling round 2 ideal
consumers warmup ours
consumers warmup upstream
consumers round 1 ours
consumers round 1 upstream
consumers round 2 upstream
consumers round 2 ours
`
	if out != want {
		t.Errorf("schedule:\n%s\nwant:\n%s", out, want)
	}
}

// TestCompareWarmupOff checks that WARMUP=0 leaves the warm-up runs out.
func TestCompareWarmupOff(t *testing.T) {
	out, err := dryRun(t, compareEnv("DRYRUN=1", "ROUNDS=3", "WARMUP=0"), "disk")
	if err != nil {
		t.Fatalf("compare.sh: %v\n%s", err, out)
	}
	want := "disk round 1 ours\ndisk round 1 upstream\ndisk round 2 upstream\ndisk round 2 ours\ndisk round 3 ours\ndisk round 3 upstream\n"
	if out != want {
		t.Errorf("schedule:\n%s\nwant:\n%s", out, want)
	}
}

// TestCompareRejects checks that compare.sh refuses an unknown shape and
// settings that are not numbers before it builds or runs anything.
func TestCompareRejects(t *testing.T) {
	for _, c := range []struct {
		env   []string
		shape string
		msg   string
	}{
		{compareEnv("DRYRUN=1"), "nosuch", "unknown shape nosuch"},
		{compareEnv("DRYRUN=1", "TOUCH_MB=1g"), "memory", "TOUCH_MB must be a number"},
		{compareEnv("DRYRUN=1", "QUIET=half"), "memory", "QUIET must be a number of cores"},
		{compareEnv("DRYRUN=1", "RETRIES=-1"), "memory", "RETRIES must be a count"},
	} {
		out, err := dryRun(t, c.env, c.shape)
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
			t.Errorf("%s: want exit status 2, got %v\n%s", c.msg, err, out)
		}
		if !strings.Contains(out, c.msg) {
			t.Errorf("output %q does not say %q", out, c.msg)
		}
	}
}

// diskFunc runs one function of diskstats.sh (sourced) with args and
// returns its output; the function must succeed whatever it is given.
func diskFunc(t *testing.T, fn string, args ...string) string {
	t.Helper()
	cmd := exec.Command("bash", append([]string{"-euc", `source ./diskstats.sh; "$@"`, "diskstats", fn}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", fn, args, err, out)
	}
	return string(out)
}

// TestDiskstatsDelta checks the MB between two readings (512-byte
// sectors, MB of 10^6 bytes) and the busy seconds, and that a missing or
// backward reading gives nothing rather than a made-up figure.
func TestDiskstatsDelta(t *testing.T) {
	if got := diskFunc(t, "disk_delta", "1000 4096 70", "3000 2004096 1320"); got != "1.0 1024.0 1.25\n" {
		t.Errorf("disk_delta: got %q, want \"1.0 1024.0 1.25\"", got)
	}
	for _, c := range [][2]string{{"", "1 2 3"}, {"1 2 3", ""}, {"5 2 3", "4 3 3"}, {"1 9 3", "2 8 3"},
		{"1 2 3", "2 3 2"}, {"1 2", "2 3 4"}, {"1 2 3 4", "2 3 4 5"}} {
		if got := diskFunc(t, "disk_delta", c[0], c[1]); got != "" {
			t.Errorf("disk_delta %q: got %q, want nothing", c, got)
		}
	}
}
