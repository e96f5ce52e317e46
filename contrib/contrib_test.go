// Package contrib holds no code: its tests check the files beside them,
// the systemd units and the nsqadmin sample config. (The nsqd and
// nsqlookupd samples are checked by their binaries' own tests, through
// their config loaders: apps/nsqd/contrib_config_test.go,
// apps/nsqlookupd/contrib_config_test.go.)
package contrib

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/config"
	"github.com/nsqgo/nsq/internal/testnet"
	"github.com/nsqgo/nsq/internal/tooltest/commands"
)

// commandsUsed is the nsqadmin checked against its sample config: make
// test's build when it made one, else built for this test binary.
var commandsUsed commands.Set

func TestMain(m *testing.M) {
	code := m.Run()
	commandsUsed.Remove()
	os.Exit(code)
}

var units = []string{"nsqd", "nsqlookupd", "nsqadmin"}

// unitSettings reads the Key=Value lines of a unit file.
func unitSettings(t *testing.T, name string) map[string]string {
	data, err := os.ReadFile(filepath.Join("systemd", name+".service"))
	require.NoError(t, err)
	settings := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if key, value, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			settings[key] = value
		}
	}
	return settings
}

func TestUnitsRunAsTheNSQUserAndRestartOnFailure(t *testing.T) {
	for _, name := range units {
		s := unitSettings(t, name)
		require.Equal(t, "nsq", s["User"], name)
		require.Equal(t, "on-failure", s["Restart"], name)
		require.Equal(t, "SIGTERM", s["KillSignal"], "%s: SIGTERM is the graceful stop", name)
		require.True(t, strings.HasPrefix(s["ExecStart"], "/usr/local/bin/"+name+" --config=/etc/nsq/"+name+".toml"),
			"%s: %s", name, s["ExecStart"])
	}
	nsqd := unitSettings(t, "nsqd")
	require.Equal(t, "nsqd", nsqd["StateDirectory"])
	require.Contains(t, nsqd["ExecStart"], "--data-path=/var/lib/nsqd")
	stop, err := time.ParseDuration(strings.Replace(nsqd["TimeoutStopSec"], "min", "m", 1))
	require.NoError(t, err)
	require.GreaterOrEqual(t, stop, 5*time.Minute, "nsqd needs time to write what it holds")
}

// systemd-analyze verify checks the units' syntax, and that ExecStart is an
// executable: the copies verified point at this test binary instead of
// /usr/local/bin. Any complaint fails, since verify exits 0 on an unknown
// key or a bad value ("ignoring").
func TestUnitsPassSystemdAnalyzeVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the units are not verified here")
	}
	self, err := os.Executable()
	require.NoError(t, err)
	dir := t.TempDir()
	var paths []string
	for _, name := range units {
		data, err := os.ReadFile(filepath.Join("systemd", name+".service"))
		require.NoError(t, err)
		data = bytes.ReplaceAll(data, []byte("/usr/local/bin/"+name), []byte(self))
		path := filepath.Join(dir, name+".service")
		require.NoError(t, os.WriteFile(path, data, 0o644))
		paths = append(paths, path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, analyze, append([]string{"verify"}, paths...)...).CombinedOutput()
	require.NoError(t, err, "systemd-analyze verify:\n%s", out)
	require.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify complained")
}

// nsqadmin's flag names whose config key is not the name with '-' turned
// into '_' (upstream's cfg tags).
var nsqadminKeys = map[string]string{
	"lookupd-http-address": "nsqlookupd_http_addresses",
	"nsqd-http-address":    "nsqd_http_addresses",
	"admin-user":           "admin_users",
	"auth-http-address":    "auth_http_addresses",
	"config":               "",
	"version":              "",
	"verbose":              "",
}

func TestNSQAdminSampleConfigListsEveryKeyAndStarts(t *testing.T) {
	if _, err := os.Stat("../apps/nsqadmin"); err != nil {
		t.Skip("apps/nsqadmin is not in this tree: contrib/nsqadmin.toml is not checked")
	}
	bin := commandsUsed.Path(t, "nsqadmin")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	help, _ := exec.CommandContext(ctx, bin, "--help").CombinedOutput()
	known := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(string(help), -1) {
		key, special := nsqadminKeys[m[1]]
		if !special {
			key = strings.ReplaceAll(m[1], "-", "_")
		}
		if key != "" {
			known[key] = true
		}
	}
	require.Contains(t, known, "http_address", "--help was parsed:\n%s", help)
	set, commented, _, err := config.SampleKeys("nsqadmin.toml")
	require.NoError(t, err)
	listed := map[string]bool{}
	for _, key := range append(set, commented...) {
		require.True(t, known[key], "nsqadmin.toml sets %q, which nsqadmin does not read", key)
		listed[key] = true
	}
	for key := range known {
		require.True(t, listed[key], "nsqadmin.toml does not document %q", key)
	}

	// Started with the sample (on a free loopback port, below the ephemeral
	// range: internal/testnet.FreeAddr says why), it serves /ping.
	addr := testnet.FreeAddr(t)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--config=nsqadmin.toml", "--http-address="+addr)
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}()
	client := &http.Client{Timeout: time.Second}
	require.Eventually(t, func() bool {
		resp, err := client.Get("http://" + addr + "/ping")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond, "nsqadmin serves /ping with the sample config")
}
