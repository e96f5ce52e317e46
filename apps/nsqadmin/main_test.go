package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/tooltest"
)

// upstreamFlags is every flag of upstream nsqadmin 1.3.0.
var upstreamFlags = []string{
	"config", "version", "log-level", "log-prefix", "verbose", "http-address", "base-path", "dev-static-dir",
	"graphite-url", "proxy-graphite", "statsd-counter-format", "statsd-gauge-format", "statsd-prefix",
	"statsd-interval", "notification-http-endpoint", "http-client-connect-timeout", "http-client-request-timeout",
	"http-client-tls-insecure-skip-verify", "http-client-tls-root-ca-file", "http-client-tls-cert",
	"http-client-tls-key", "allow-config-from-cidr", "acl-http-header", "lookupd-http-address",
	"nsqd-http-address", "admin-user",
}

func TestHelpListsEveryFlag(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"--help"}, &stdout, &stderr))
	for _, name := range append(upstreamFlags, "history-interval", "history-retention", "history-max-series",
		"auth-http-address", "auth-http-request-method") {
		require.Regexp(t, "\n  -"+regexp.QuoteMeta(name)+"[ \n]", stderr.String(), name)
	}
}

func TestDefaultsAreUpstreams(t *testing.T) {
	opts, showVersion, err := parseOptions(nil, &bytes.Buffer{})
	require.NoError(t, err)
	require.False(t, showVersion)
	require.Equal(t, "0.0.0.0:4171", opts.HTTPAddress)
	require.Equal(t, "/", opts.BasePath)
	require.Equal(t, "nsq.%s", opts.StatsdPrefix)
	require.Equal(t, "stats.counters.%s.count", opts.StatsdCounterFormat)
	require.Equal(t, "stats.gauges.%s", opts.StatsdGaugeFormat)
	require.Equal(t, time.Minute, opts.StatsdInterval)
	require.Equal(t, 2*time.Second, opts.HTTPClientConnectTimeout)
	require.Equal(t, 5*time.Second, opts.HTTPClientRequestTimeout)
	require.Equal(t, "127.0.0.1/8", opts.AllowConfigFromCIDR)
	require.Equal(t, "X-Forwarded-User", opts.ACLHTTPHeader)
	require.Equal(t, "[nsqadmin] ", opts.LogPrefix)
	require.Equal(t, logging.Info, opts.LogLevel)
	require.Equal(t, 10*time.Second, opts.HistoryInterval)
	require.Equal(t, time.Hour, opts.HistoryRetention)
}

func TestFlagsAreParsed(t *testing.T) {
	opts, _, err := parseOptions([]string{
		"--lookupd-http-address=a:1", "--lookupd-http-address", "b:2", "--admin-user=ann", "--admin-user=bob",
		"--base-path=/admin", "--graphite-url=http://g:80", "--proxy-graphite", "--statsd-interval=10s",
		"--notification-http-endpoint=http://n/x", "--acl-http-header=X-User", "--history-interval=2s",
		"--auth-http-address=auth:4181", "--log-level=debug", "--http-client-tls-insecure-skip-verify",
	}, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, []string{"a:1", "b:2"}, opts.NSQLookupdHTTPAddresses)
	require.Equal(t, []string{"ann", "bob"}, opts.AdminUsers)
	require.Equal(t, "/admin", opts.BasePath)
	require.Equal(t, "http://g:80", opts.GraphiteURL)
	require.True(t, opts.ProxyGraphite)
	require.Equal(t, 10*time.Second, opts.StatsdInterval)
	require.Equal(t, "http://n/x", opts.NotificationHTTPEndpoint)
	require.Equal(t, "X-User", opts.ACLHTTPHeader)
	require.Equal(t, 2*time.Second, opts.HistoryInterval)
	require.Equal(t, []string{"auth:4181"}, opts.AuthHTTPAddresses)
	require.Equal(t, logging.Debug, opts.LogLevel)
	require.True(t, opts.HTTPClientTLSInsecureSkipVerify)
}

func writeConfig(t *testing.T, text string) string {
	path := filepath.Join(t.TempDir(), "nsqadmin.cfg")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	return path
}

func TestConfigFileUsesUpstreamKeys(t *testing.T) {
	path := writeConfig(t, `
nsqlookupd_http_addresses = ["l1:4161", "l2:4161"]
admin_users = ["root"]
http_address = "127.0.0.1:9999"
statsd_interval = "30s"
http_client_request_timeout = 7000
log_level = "warn"
history_max_series = 50
`)
	opts, _, err := parseOptions([]string{"--config=" + path, "--http-address=127.0.0.1:1"}, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, []string{"l1:4161", "l2:4161"}, opts.NSQLookupdHTTPAddresses)
	require.Equal(t, []string{"root"}, opts.AdminUsers)
	require.Equal(t, "127.0.0.1:1", opts.HTTPAddress, "the command line wins")
	require.Equal(t, 30*time.Second, opts.StatsdInterval)
	require.Equal(t, 7*time.Second, opts.HTTPClientRequestTimeout, "integer durations are milliseconds")
	require.Equal(t, logging.Warn, opts.LogLevel)
	require.Equal(t, 50, opts.HistoryMaxSeries)
}

var fatalPrefix = `^\[nsqadmin\] \d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} FATAL: `

func TestMissingSourcesIsFatalWithUpstreamMessage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 1, run(context.Background(), []string{"--http-address=127.0.0.1:0"}, &stdout, &stderr))
	require.Regexp(t, fatalPrefix+regexp.QuoteMeta("failed to instantiate nsqadmin - --nsqd-http-address or --lookupd-http-address required")+"\n$", stderr.String())

	stderr.Reset()
	require.Equal(t, 1, run(context.Background(), []string{"--http-address=127.0.0.1:0", "--nsqd-http-address=127.0.0.1:1", "--lookupd-http-address=127.0.0.1:2"}, &stdout, &stderr))
	require.Contains(t, stderr.String(), "use --nsqd-http-address or --lookupd-http-address not both")
}

func TestBadCommandLineExitsTwo(t *testing.T) {
	for _, args := range [][]string{{"--no-such-flag"}, {"--log-level=loud"}, {"--history-interval=soon"}, {"stray"}} {
		var stdout, stderr bytes.Buffer
		require.Equal(t, 2, run(context.Background(), args, &stdout, &stderr), "%v", args)
		require.Contains(t, stderr.String(), "Usage of nsqadmin", "%v", args)
	}
}

func TestBadConfigValueIsFatal(t *testing.T) {
	var stdout, stderr bytes.Buffer
	path := writeConfig(t, `statsd_interval = "often"`)
	require.Equal(t, 1, run(context.Background(), []string{"--config=" + path}, &stdout, &stderr))
	require.Regexp(t, fatalPrefix+"failed parsing statsd_interval often\n$", stderr.String())
}

func TestVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"--version"}, &stdout, &stderr))
	require.Regexp(t, `^nsqadmin v1\.3\.0 \(built w/go.+\) nsqgo \S+\n$`, stdout.String())
}

func TestServesUntilCancelled(t *testing.T) {
	nsqd := tooltest.StartNSQD(t)
	addr := tooltest.FreePort(t) // below the ephemeral range: internal/testnet.FreeAddr says why

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	stderr := tooltest.NewBuffer()
	go func() {
		done <- run(ctx, []string{"--http-address=" + addr, "--nsqd-http-address=" + nsqd.HTTPAddr()}, &bytes.Buffer{}, stderr)
	}()
	stderr.WaitFor(t, "listening line", func(s string) bool { return strings.Contains(s, "HTTP: listening on "+addr) })
	resp, err := http.Get("http://" + addr + "/api/topics")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	cancel()
	select {
	case code := <-done:
		require.Equal(t, 0, code)
	case <-time.After(tooltest.WaitTimeout):
		t.Fatal("nsqadmin did not stop")
	}
}
