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
