package commands

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables naming directories of commands built before the
// tests (see the Makefile's test target): BinEnv for a test binary built
// without -race, RaceBinEnv for one built with it.
const (
	BinEnv     = "NSQGO_TEST_BIN"
	RaceBinEnv = "NSQGO_TEST_RACE_BIN"
)

// module is the import path the commands live under, as apps/<name>.
const module = "github.com/nsqgo/nsq/apps/"

// buildTimeout bounds one `go build`; a cold cache with -race is the slow
// case.
const buildTimeout = 5 * time.Minute

// Set hands out the commands one test binary uses, built like the test
// binary: with -race under -race, so that a data race in a daemon run as a
// process fails the race pass too. Remove deletes what it built: call it
// from TestMain after m.Run, since every test shares the binaries.
type Set struct {
	mu    sync.Mutex
	dir   string            // temp dir of this Set's own builds; "" before the first
	built map[string]string // name -> path, for commands built or found
}

// Path returns the executable of apps/name, from the prebuilt directory
// when make test provided one, else built now (once per Set).
func (s *Set) Path(t testing.TB, name string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if path, ok := s.built[name]; ok {
		return path
	}
	env := BinEnv
	if raceEnabled {
		env = RaceBinEnv
	}
	if dir := os.Getenv(env); dir != "" {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("$%s=%s has no %s (make test builds it there first): %v", env, dir, name, err)
		}
		s.remember(name, path)
		return path
	}
	if s.dir == "" {
		dir, err := os.MkdirTemp("", "nsqgo-test-commands-")
		if err != nil {
			t.Fatalf("temp dir for the commands: %v", err)
		}
		s.dir = dir
	}
	path := filepath.Join(s.dir, name)
	args := []string{"build", "-o", path}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, module+name)
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	s.remember(name, path)
	return path
}

func (s *Set) remember(name, path string) {
	if s.built == nil {
		s.built = map[string]string{}
	}
	s.built[name] = path
}

// Dir returns a directory holding at least the named commands (for a
// script that takes a build directory, as scripts/run.sh does).
func (s *Set) Dir(t testing.TB, names ...string) string {
	t.Helper()
	dir := ""
	for _, name := range names {
		d := filepath.Dir(s.Path(t, name))
		if dir != "" && d != dir {
			t.Fatalf("%s is in %s, not with the others in %s", name, d, dir)
		}
		dir = d
	}
	if dir == "" {
		t.Fatal("commands.Dir: no command named")
	}
	return dir
}

// Remove deletes the commands this Set built (none when they came from
// make test's directory).
func (s *Set) Remove() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir != "" {
		os.RemoveAll(s.dir)
		s.dir = ""
	}
	s.built = nil
}
