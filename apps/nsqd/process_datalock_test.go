package main

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A second nsqd on a data path in use refuses to start, says why, exits 1,
// and leaves the first one serving.
func TestSecondInstanceOnSameDataPathRefusesToStart(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no data-path lock on Windows, as upstream has none there (nsqd/datadir_windows.go)")
	}
	dir := t.TempDir()
	first := startNSQD(t, dir)

	second := launchNSQD(t, dir)
	select {
	case <-second.listening:
		t.Fatalf("second nsqd started serving on the data path in use:\n%s", second.log())
	case <-second.done:
	case <-time.After(startTimeout):
		t.Fatalf("second nsqd neither served nor exited within %s:\n%s", startTimeout, second.log())
	}
	if code := second.awaitExit(startTimeout); code != 1 {
		t.Fatalf("second nsqd exited with %d, want 1:\n%s", code, second.log())
	}
	if log := second.log(); !strings.Contains(log, "possibly in use by another instance of nsqd") {
		t.Fatalf("second nsqd does not say the data path is in use:\n%s", log)
	}
	if status, body := first.ping(); status != http.StatusOK || body != "OK" {
		t.Fatalf("first nsqd /ping: %d %q, want 200 OK", status, body)
	}
}
