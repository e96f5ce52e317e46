package nsqd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/testnet"
	"github.com/stretchr/testify/require"
)

// upstreamNSQDModule is the throwaway module upstream's nsqd v1.3.0 is
// built in, from the Go module proxy (as bench/compare.sh builds it).
const upstreamNSQDModule = `module nsqgo-upstream-nsqd

go 1.21

require github.com/nsqio/nsq v1.3.0

replace github.com/judwhite/go-svc => github.com/mreiferson/go-svc v1.2.2-0.20210815184239-7a96e00010f6
`

// upstreamNSQD returns upstream nsqd v1.3.0's binary: the one
// bench/compare.sh built, if there is one, else one built here in
// $HOME/.cache/nsqgo-upstream/nsqd. It skips the test, saying why, when
// neither is possible (no network or module proxy).
func upstreamNSQD(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Skipf("upstream nsqd v1.3.0 is not available: no cache directory: %v", err)
	}
	if bin := filepath.Join(cache, "nsqgo-bench", "upstream-v1.3.0", "bin", "nsqd"); isExecutable(bin) {
		return bin
	}
	dir := filepath.Join(cache, "nsqgo-upstream", "nsqd")
	bin := filepath.Join(dir, "nsqd")
	if old, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(old), upstreamNSQDModule) && isExecutable(bin) {
		return bin
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(upstreamNSQDModule), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	for _, args := range [][]string{
		{"mod", "download", "github.com/nsqio/nsq"},
		{"build", "-mod=mod", "-o", bin, "github.com/nsqio/nsq/apps/nsqd"},
	} {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off")
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Skipf("upstream nsqd v1.3.0 could not be built from the module proxy, so nsqd.dat is not checked against it: go %s: %v\n%s",
				strings.Join(args, " "), err, out.String())
		}
	}
	return bin
}

// freeLoopbackAddr is a loopback address with a port free a moment ago,
// for a process that cannot be told to listen on port 0 and report it;
// below the ephemeral range (internal/testnet.FreeAddr says why).
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	return testnet.FreeAddr(t)
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0
}

// upstreamStats is the part of upstream's /stats this test reads.
type upstreamStats struct {
	Topics []struct {
		Name     string `json:"topic_name"`
		Paused   bool   `json:"paused"`
		Channels []struct {
			Name   string `json:"channel_name"`
			Paused bool   `json:"paused"`
		} `json:"channels"`
	} `json:"topics"`
}

// runUpstreamNSQD runs upstream's nsqd on dataPath until the returned stop
// is called (SIGTERM, a graceful exit that rewrites nsqd.dat) and returns
// its HTTP base URL.
func runUpstreamNSQD(t *testing.T, bin, dataPath string) (string, func()) {
	t.Helper()
	httpAddr := freeLoopbackAddr(t)
	cmd := exec.Command(bin, "--data-path="+dataPath, "--tcp-address="+freeLoopbackAddr(t),
		"--http-address="+httpAddr, "--https-address=", "--broadcast-address=127.0.0.1", "--log-level=warn")
	var logsMu sync.Mutex
	var logs strings.Builder
	cmd.Stdout = lockedWriter{&logsMu, &logs}
	cmd.Stderr = cmd.Stdout
	output := func() string {
		logsMu.Lock()
		defer logsMu.Unlock()
		return logs.String()
	}
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("upstream nsqd did not stop on SIGTERM")
		}
		if t.Failed() {
			t.Logf("upstream nsqd output:\n%s", output())
		}
	}
	t.Cleanup(stop)
	base := "http://" + httpAddr
	// Polled: a separate process offers no event to wait on.
	waitFor(t, "upstream nsqd to answer /ping", func() bool {
		select {
		case <-exited:
			t.Fatalf("upstream nsqd exited at start:\n%s", output())
		default:
		}
		resp, err := http.Get(base + "/ping")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base, stop
}

// Our nsqd.dat with queue settings in it is read by upstream nsqd v1.3.0,
// which ignores the "config" keys and restores every topic, channel and
// paused state (queued messages are not checked: our disk queue format is
// not upstream's, README "Adoption"); upstream then writes the file back
// without them (so going back to upstream drops the settings, and our
// nsqd starts again from that file without them).
func TestUpstreamNSQDReadsMetadataWithSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("starts upstream's nsqd binary")
	}
	bin := upstreamNSQD(t)

	n := startDaemon(t, nil)
	dataPath := n.opts.DataPath
	adminPost(t, n, "/topic/create?topic=orders&msg_ttl=60000&max_depth=1000")
	adminPost(t, n, "/channel/create?topic=orders&channel=work&max_attempts=5&dead_letter_topic=orders-dead")
	adminPost(t, n, "/channel/create?topic=orders&channel=audit&overflow=drop-oldest")
	adminPost(t, n, "/channel/pause?topic=orders&channel=audit")
	adminPost(t, n, "/topic/create?topic=idle")
	adminPost(t, n, "/topic/pause?topic=idle")
	n.Exit()

	written, err := os.ReadFile(filepath.Join(dataPath, metadataFile))
	require.NoError(t, err)
	require.Equal(t, 3, bytes.Count(written, []byte(`"config":`)), "%s", written)

	base, stop := runUpstreamNSQD(t, bin, dataPath)
	resp, err := http.Get(base + "/stats?format=json")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	var stats upstreamStats
	require.NoError(t, json.Unmarshal(body, &stats), "%s", body)
	got := map[string]string{}
	for _, topic := range stats.Topics {
		got[topic.Name] = fmt.Sprintf("paused=%v", topic.Paused)
		for _, c := range topic.Channels {
			got[topic.Name+"/"+c.Name] = fmt.Sprintf("paused=%v", c.Paused)
		}
	}
	require.Equal(t, map[string]string{
		"orders":       "paused=false",
		"orders/work":  "paused=false",
		"orders/audit": "paused=true",
		"idle":         "paused=true",
	}, got, "upstream's /stats: %s", body)
	stop()

	rewritten, err := os.ReadFile(filepath.Join(dataPath, metadataFile))
	require.NoError(t, err)
	require.NotContains(t, string(rewritten), `"config"`, "upstream keeps only what it knows")

	n = startDaemon(t, func(o *Options) { o.DataPath = dataPath })
	require.Equal(t, uint16(0), existingChannel(t, n, "orders", "work").policy().MaxAttempts)
	require.True(t, existingChannel(t, n, "orders", "audit").IsPaused())
}
