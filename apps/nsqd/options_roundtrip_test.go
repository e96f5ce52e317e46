package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/nsqd"
)

// optionCase is how the round-trip test sets one option and what GET
// /config/<key> must then answer, in upstream's rendering (strings raw,
// durations in nanoseconds, numbers, booleans and lists as JSON).
type optionCase struct {
	flag       string // the --flag value
	toml       string // the config-file value, a TOML literal
	set        string // /config after either of those
	byDefault  string // /config when the option is not given
	notDefault bool   // byDefault is not checked: the test must set it
}

// roundTripCases has one entry per declared option, keyed by config key.
// Every value differs from the default, so an option the flag parser or the
// loader drops fails. The file spells durations both ways (integer
// milliseconds and strings) and booleans both ways, as upstream accepts.
func roundTripCases(t *testing.T, dataPath, cert, key string) map[string]optionCase {
	hostname, err := os.Hostname()
	require.NoError(t, err)
	return map[string]optionCase{
		"log_level":  {flag: "warn", toml: `"warn"`, set: "3", byDefault: "2"},
		"log_prefix": {flag: "[t] ", toml: `"[t] "`, set: "[t] ", byDefault: "[nsqd] "},
		"log_format": {flag: "json", toml: `"json"`}, // not in /config
		"id":         {flag: "7", toml: "7", set: "7", byDefault: strconv.FormatInt(nsqd.DefaultNodeID(hostname), 10)},

		"tcp_address":                 {flag: "127.0.0.1:0", toml: `"127.0.0.1:0"`, set: "127.0.0.1:0", notDefault: true},
		"http_address":                {flag: "127.0.0.1:0", toml: `"127.0.0.1:0"`, set: "127.0.0.1:0", notDefault: true},
		"https_address":               {flag: "127.0.0.1:0", toml: `"127.0.0.1:0"`, set: "127.0.0.1:0", notDefault: true},
		"broadcast_address":           {flag: "node.example", toml: `"node.example"`, set: "node.example", byDefault: hostname},
		"broadcast_tcp_port":          {flag: "4250", toml: "4250", set: "4250", byDefault: "0"},
		"broadcast_http_port":         {flag: "4251", toml: "4251", set: "4251", byDefault: "0"},
		"nsqlookupd_tcp_addresses":    {flag: "127.0.0.1:1,127.0.0.1:2", toml: `["127.0.0.1:1", "127.0.0.1:2"]`, set: `["127.0.0.1:1","127.0.0.1:2"]`, byDefault: "[]"},
		"http_client_connect_timeout": {flag: "3s", toml: "3000", set: "3000000000", byDefault: "2000000000"},
		"http_client_request_timeout": {flag: "6s", toml: `"6s"`, set: "6000000000", byDefault: "5000000000"},
		"auth_http_addresses":         {flag: "127.0.0.1:1", toml: `["127.0.0.1:1"]`, set: `["127.0.0.1:1"]`, byDefault: "[]"},
		"auth_http_request_method":    {flag: "post", toml: `"post"`, set: "post", byDefault: "get"},
		"http_auth":                   {flag: "publish", toml: `"publish"`, set: "publish", byDefault: "off"},

		"data_path":          {flag: dataPath, toml: strconv.Quote(dataPath), set: dataPath, notDefault: true},
		"mem_queue_size":     {flag: "5", toml: "5", set: "5", byDefault: "10000"},
		"max_bytes_per_file": {flag: "4096", toml: "4096", set: "4096", byDefault: "104857600"},
		"sync_every":         {flag: "3", toml: "3", set: "3", byDefault: "2500"},
		"sync_timeout":       {flag: "3s", toml: "3000", set: "3000000000", byDefault: "2000000000"},

		"queue_scan_selection_count": {flag: "7", toml: "7", set: "7", byDefault: "20"},
		"queue_scan_worker_pool_max": {flag: "2", toml: "2", set: "2", byDefault: "4"},

		"msg_timeout":     {flag: "30s", toml: "30000", set: "30000000000", byDefault: "60000000000"},
		"max_msg_timeout": {flag: "20m", toml: `"20m"`, set: "1200000000000", byDefault: "900000000000"},
		"max_msg_size":    {flag: "2048", toml: "2048", set: "2048", byDefault: "1048576"},
		"max_req_timeout": {flag: "2h", toml: `"2h"`, set: "7200000000000", byDefault: "3600000000000"},
		"max_body_size":   {flag: "8192", toml: "8192", set: "8192", byDefault: "5242880"},

		"client_timeout":            {flag: "30s", toml: `"30s"`}, // not in /config
		"max_heartbeat_interval":    {flag: "50s", toml: "50000", set: "50000000000", byDefault: "60000000000"},
		"max_rdy_count":             {flag: "100", toml: "100", set: "100", byDefault: "2500"},
		"max_output_buffer_size":    {flag: "1000", toml: "1000", set: "1000", byDefault: "65536"},
		"max_output_buffer_timeout": {flag: "20s", toml: `"20s"`, set: "20000000000", byDefault: "30000000000"},
		"min_output_buffer_timeout": {flag: "10ms", toml: "10", set: "10000000", byDefault: "25000000"},
		"output_buffer_timeout":     {flag: "100ms", toml: `"100ms"`, set: "100000000", byDefault: "250000000"},
		"max_channel_consumers":     {flag: "3", toml: "3", set: "3", byDefault: "0"},

		"deflate":           {flag: "false", toml: "false", set: "false", byDefault: "true"},
		"max_deflate_level": {flag: "4", toml: "4", set: "4", byDefault: "6"},
		"snappy":            {flag: "false", toml: `"false"`, set: "false", byDefault: "true"},

		"tls_cert":               {flag: cert, toml: strconv.Quote(cert), set: cert, byDefault: ""},
		"tls_key":                {flag: key, toml: strconv.Quote(key), set: key, byDefault: ""},
		"tls_root_ca_file":       {flag: cert, toml: strconv.Quote(cert), set: cert, byDefault: ""},
		"tls_client_auth_policy": {flag: "require-verify", toml: `"require-verify"`, set: "require-verify", byDefault: ""},
		// tcp-https (1) stays: a client auth policy raises only "not
		// required" to 2, as upstream.
		"tls_required":    {flag: "tcp-https", toml: `"tcp-https"`, set: "1", byDefault: "0"},
		"tls_min_version": {flag: "tls1.3", toml: `"tls1.3"`, set: "772", byDefault: "771"},

		"statsd_address":                     {flag: "127.0.0.1:1", toml: `"127.0.0.1:1"`, set: "127.0.0.1:1", byDefault: ""},
		"statsd_prefix":                      {flag: "q.%s", toml: `"q.%s"`, set: "q.node_example_4251.", notDefault: true},
		"statsd_interval":                    {flag: "30s", toml: "30000", set: "30000000000", byDefault: "60000000000"},
		"statsd_mem_stats":                   {flag: "false", toml: "false", set: "false", byDefault: "true"},
		"statsd_udp_packet_size":             {flag: "1000", toml: "1000", set: "1000", byDefault: "508"},
		"statsd_exclude_ephemeral":           {flag: "true", toml: "true", set: "true", byDefault: "false"},
		"e2e_processing_latency_percentiles": {flag: "0.5,0.99", toml: "[0.5, 0.99]", set: "[0.99,0.5]", byDefault: "[]"},
		"e2e_processing_latency_window_time": {flag: "5m", toml: `"5m"`, set: "300000000000", byDefault: "600000000000"},

		"metrics_exclude_ephemeral": {flag: "true", toml: "true", set: "true", byDefault: "false"},
		"metrics_e2e_histogram":     {flag: "false", toml: "false", set: "false", byDefault: "true"},

		"enable_experiment": {flag: "topology-aware-consumption", toml: `["topology-aware-consumption"]`, set: `["topology-aware-consumption"]`, byDefault: "[]"},
		"topology_region":   {flag: "eu", toml: `"eu"`, set: "eu", byDefault: ""},
		"topology_zone":     {flag: "eu-1", toml: `"eu-1"`, set: "eu-1", byDefault: ""},

		"max_attempts":      {flag: "5", toml: "5", set: "5", byDefault: "0"},
		"msg_ttl":           {flag: "90s", toml: "90000", set: "90000000000", byDefault: "0"},
		"max_channel_depth": {flag: "1000", toml: "1000", set: "1000", byDefault: "0"},
		"max_channel_bytes": {flag: "65536", toml: "65536", set: "65536", byDefault: "0"},
		"overflow":          {flag: "drop-oldest", toml: `"drop-oldest"`, set: "drop-oldest", byDefault: "reject-new"},
		"max_dead_depth":    {flag: "50", toml: "50", set: "50", byDefault: "100000"},

		"huge_pages": {flag: "true", toml: "true", set: "true", byDefault: "false"},
		"fanout_log": {flag: "false", toml: "false", set: "false", byDefault: "true"},
	}
}

// Every declared option set by flag and the same set by the config file
// give the same Options, differ from the defaults, and read back from a
// running daemon's GET /config/<key> as upstream renders them; with
// nothing given, /config shows the defaults.
func TestEveryOptionRoundTripsThroughFlagFileAndConfig(t *testing.T) {
	cert, key := writeSelfSignedCert(t)
	cases := roundTripCases(t, t.TempDir(), cert, key)
	declared := nsqd.NewOptions().Declarations()

	var args []string
	var file strings.Builder
	seen := map[string]bool{}
	for _, option := range declared {
		c, ok := cases[option.ConfigKey()]
		require.True(t, ok, "--%s (%s) is declared but has no round-trip case", option.Flag, option.ConfigKey())
		require.Equal(t, option.Unlisted, c.set == "", "%s: a listed option needs the /config answer", option.ConfigKey())
		seen[option.ConfigKey()] = true
		args = append(args, "--"+option.Flag+"="+c.flag)
		fmt.Fprintf(&file, "%s = %s\n", option.ConfigKey(), c.toml)
	}
	for key := range cases {
		require.True(t, seen[key], "round-trip case %s is not a declared option", key)
	}

	byFlag, err := parseOptions(args, io.Discard)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "nsqd.toml")
	require.NoError(t, os.WriteFile(path, []byte(file.String()), 0o600))
	byFile, err := parseOptions([]string{"--config=" + path}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, byFlag.opts, byFile.opts, "the flags and the file set the same options")

	defaults := nsqd.NewOptions()
	setOptions := byFlag.opts.Declarations()
	for i, option := range defaults.Declarations() {
		require.NotEqual(t, reflect.ValueOf(option.Field).Elem().Interface(),
			reflect.ValueOf(setOptions[i].Field).Elem().Interface(), "%s: the case's value is the default", option.ConfigKey())
	}

	client := tlsClient(t, cert, key)
	for name, opts := range map[string]*nsqd.Options{"flags": byFlag.opts, "file": byFile.opts} {
		n := runDaemon(t, opts)
		base := "https://" + n.RealHTTPSAddr().String()
		for _, option := range declared {
			status, body := getConfig(t, client, base, option.ConfigKey())
			if option.Unlisted {
				require.Equal(t, http.StatusBadRequest, status, "%s: %s", option.ConfigKey(), body)
				require.JSONEq(t, `{"message":"INVALID_OPTION"}`, body)
				continue
			}
			require.Equal(t, http.StatusOK, status, "%s (%s): %s", option.ConfigKey(), name, body)
			require.Equal(t, cases[option.ConfigKey()].set, body, "%s set by %s", option.ConfigKey(), name)
		}
		n.Exit()
	}

	// Defaults: only the listen addresses and the data path are given
	// (the defaults bind fixed ports and write to the working directory).
	p, err := parseOptions([]string{"--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0",
		"--https-address=127.0.0.1:0", "--data-path=" + t.TempDir()}, io.Discard)
	require.NoError(t, err)
	n := runDaemon(t, p.opts)
	base := "http://" + n.RealHTTPAddr().String()
	hostname, err := os.Hostname()
	require.NoError(t, err)
	hostKey := strings.NewReplacer(".", "_", ":", "_").Replace(net.JoinHostPort(hostname, strconv.Itoa(n.RealHTTPAddr().Port)))
	for _, option := range declared {
		c := cases[option.ConfigKey()]
		status, body := getConfig(t, http.DefaultClient, base, option.ConfigKey())
		switch {
		case option.Unlisted:
			require.Equal(t, http.StatusBadRequest, status, "%s: %s", option.ConfigKey(), body)
		case option.ConfigKey() == "statsd_prefix":
			require.Equal(t, "nsq."+hostKey+".", body)
		case !c.notDefault:
			require.Equal(t, http.StatusOK, status, "%s: %s", option.ConfigKey(), body)
			require.Equal(t, c.byDefault, body, "%s by default", option.ConfigKey())
		}
	}
	n.Exit()
}

// runDaemon starts nsqd in-process and stops it when the test ends (Exit
// may also be called early; a second call is harmless).
func runDaemon(t *testing.T, opts *nsqd.Options) *nsqd.NSQD {
	t.Helper()
	opts.Logger = io.Discard
	n, err := nsqd.New(opts)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- n.Main() }()
	t.Cleanup(func() {
		n.Exit()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("nsqd did not stop within 10s")
		}
	})
	return n
}

func getConfig(t *testing.T, client *http.Client, base, key string) (int, string) {
	t.Helper()
	resp, err := client.Get(base + "/config/" + key)
	require.NoError(t, err, key)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err, key)
	return resp.StatusCode, string(body)
}

// writeSelfSignedCert writes a certificate for 127.0.0.1 that is its own
// CA and serves both ends, so one file is the server's certificate, the
// root the server verifies clients by and the client's certificate.
func writeSelfSignedCert(t *testing.T) (certPath, keyPath string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &priv.PublicKey, priv)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(priv)
	require.NoError(t, err)
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certPath, keyPath
}

func tlsClient(t *testing.T, certPath, keyPath string) *http.Client {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	require.NoError(t, err)
	pemBytes, err := os.ReadFile(certPath)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(pemBytes))
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			Certificates: []tls.Certificate{pair}, RootCAs: roots, MinVersion: tls.VersionTLS13,
		}},
	}
}
