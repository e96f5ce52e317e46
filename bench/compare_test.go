// Package bench holds no code: its tests run the scripts beside it.
package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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

// devNumbers splits a st_dev as glibc encodes it (the encoding stat's %d
// prints) into the major and minor numbers /proc/diskstats lists.
func devNumbers(dev uint64) (major, minor uint64) {
	return (dev>>8)&0xfff | (dev>>32)&^uint64(0xfff), dev&0xff | (dev>>12)&0xffffff00
}

// TestDiskstatsDevice checks that disk_device finds the line of the
// device holding a directory by its major:minor (not by its position or
// a name), and prints nothing, successfully, when the counters do not
// list it, when the file is missing or garbled, or the directory is not
// there: compare.sh then runs without disk figures.
func TestDiskstatsDevice(t *testing.T) {
	dir := t.TempDir()
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	major, minor := devNumbers(uint64(st.Dev))
	line := func(maj, mn uint64, name string, rd, wr int) string {
		return fmt.Sprintf("%4d %7d %s 10 0 %d 5 20 0 %d 9 0 %d 14 0 0 0 0 0 0\n", maj, mn, name, rd, wr, rd+wr+1)
	}
	write := func(name, body string) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	listed := write("listed", "garbage\n"+line(major+1, minor, "other0", 1, 2)+line(major, minor+1, "other1", 3, 4)+
		line(major, minor, "testdisk", 1000, 4096))
	if got := diskFunc(t, "disk_device", dir, listed); got != "testdisk\n" {
		t.Errorf("disk_device: got %q, want testdisk", got)
	}
	if got := diskFunc(t, "disk_sectors", "testdisk", listed); got != "1000 4096 5097\n" {
		t.Errorf("disk_sectors: got %q, want \"1000 4096 5097\"", got)
	}
	unlisted := write("unlisted", line(major+1, minor, "other0", 1, 2))
	// A line cut short, as a partition's line was before Linux 2.6.25.
	short := write("short", fmt.Sprintf("%d %d testdisk 1 2 3 4\n", major, minor))
	for _, c := range [][]string{
		{"disk_device", dir, unlisted},
		{"disk_device", dir, short},
		{"disk_device", dir, filepath.Join(dir, "nosuchfile")},
		{"disk_device", filepath.Join(dir, "nosuchdir"), listed},
		{"disk_sectors", "nosuchdisk", listed},
		{"disk_sectors", "testdisk", short},
		{"disk_sectors", "", listed},
		{"disk_sectors", "testdisk", filepath.Join(dir, "nosuchfile")},
	} {
		if got := diskFunc(t, c[0], c[1:]...); got != "" {
			t.Errorf("%q: got %q, want nothing", c, got)
		}
	}
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
