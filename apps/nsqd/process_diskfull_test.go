package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// mountSmallTmpfs mounts a 2 MiB tmpfs (root only) and unmounts it in
// cleanup; it skips the test when that is not possible here.
func mountSmallTmpfs(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs for a full disk")
	}
	dir := filepath.Join(t.TempDir(), "full")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%s): %s", err, out)
	}
	// Registered after TempDir and before any nsqd starts, so it runs after
	// the daemon is stopped and before the directory is removed.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %s: %s", dir, err, out)
		}
	})
	return dir
}

// On a full disk a publish fails with E_PUB_FAILED and /ping turns NOK; the
// daemon keeps delivering what it has, and once space returns publishing
// works and /ping is OK again.
func TestDiskFullFailsPublishesUntilSpaceReturns(t *testing.T) {
	dir := mountSmallTmpfs(t)
	// The filler is the space handed back later: consuming frees nothing
	// until a whole segment is read, so deleting it is how room returns.
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, bytes.Repeat([]byte{'f'}, 512<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startNSQD(t, dir, "--mem-queue-size=0")
	p.createChannel("full", "ch")

	bodies := makeBodies("full", 400, 16<<10) // 6.4 MiB: more than fits
	pub := dialV2(t, p.tcpAddr)
	accepted := 0
	var failure string
	for _, b := range bodies {
		text, isErr, err := pub.pub("full", b)
		if err != nil {
			t.Fatalf("PUB %d: %s", accepted, err)
		}
		if isErr {
			failure = text
			break
		}
		accepted++
	}
	if failure == "" {
		t.Fatalf("all %d PUBs of 16 KiB succeeded on a 2 MiB tmpfs", len(bodies))
	}
	if !strings.HasPrefix(failure, "E_PUB_FAILED") {
		t.Errorf("failed PUB answered %q, want E_PUB_FAILED", failure)
	}
	if accepted == 0 {
		t.Fatalf("the first PUB already failed (%s): the disk was full before the test began", failure)
	}
	t.Logf("%d PUBs accepted before: %s", accepted, failure)

	if status, body := p.ping(); status != http.StatusInternalServerError || !strings.HasPrefix(body, "NOK") {
		t.Errorf("/ping on a full disk: %d %q, want 500 NOK ...", status, body)
	}
	if doc := p.stats(); !strings.HasPrefix(doc.Health, "NOK") {
		t.Errorf("/stats health on a full disk: %q, want NOK ...", doc.Health)
	}
	if status, body := httpDo(t, http.MethodPost, p.url("/pub?topic=full"), bytes.NewReader(bodies[accepted])); status != http.StatusInternalServerError {
		t.Errorf("HTTP /pub on a full disk: %d %s, want 500", status, body)
	}

	// Still serving: what was accepted is delivered.
	wasAccepted := map[string]bool{}
	for _, b := range bodies[:accepted] {
		wasAccepted[string(b)] = true
	}
	k := startConsumer(t, p.tcpAddr, "full", "ch", 3)
	for i := range 3 {
		d, ok := <-k.deliveries
		if !ok {
			t.Fatalf("consumer ended after %d messages on a full disk", i)
		}
		if !wasAccepted[d.Body] {
			t.Fatalf("delivered %.40q, which is not an accepted message", d.Body)
		}
	}
	k.stopAndCollect()

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	again := dialV2(t, p.tcpAddr)
	if text, isErr, err := again.pub("full", bodies[accepted]); err != nil || isErr {
		t.Fatalf("PUB after space returned: %q (error frame %v, %v), want OK", text, isErr, err)
	}
	if status, body := p.ping(); status != http.StatusOK || body != "OK" {
		t.Errorf("/ping after space returned: %d %q, want 200 OK", status, body)
	}
	p.stop()
}
