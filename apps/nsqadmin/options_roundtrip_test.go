package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/nsqadmin"
)

// Every declared option set by flag and the same set by the config file
// give the same Options, each differs from its default, and a running
// nsqadmin's GET /config/<key> answers it in upstream's rendering.
func TestEveryOptionRoundTripsThroughFlagFileAndConfig(t *testing.T) {
	cert, key := writeCertificate(t)
	cases := map[string]struct{ flag, toml, config string }{
		"log_level":                            {"warn", `"warn"`, "3"},
		"log_prefix":                           {"[t] ", `"[t] "`, "[t] "},
		"log_format":                           {"json", `"json"`, ""}, // not in /config
		"http_address":                         {"127.0.0.1:0", `"127.0.0.1:0"`, "127.0.0.1:0"},
		"base_path":                            {"/admin", `"/admin"`, "/admin"},
		"dev_static_dir":                       {"/static", `"/static"`, "/static"},
		"graphite_url":                         {"http://127.0.0.1:1", `"http://127.0.0.1:1"`, "http://127.0.0.1:1"},
		"proxy_graphite":                       {"true", "true", "true"},
		"statsd_counter_format":                {"c.%s", `"c.%s"`, "c.%s"},
		"statsd_gauge_format":                  {"g.%s", `"g.%s"`, "g.%s"},
		"statsd_prefix":                        {"q.%s", `"q.%s"`, "q.%s"},
		"statsd_interval":                      {"30s", "30000", "30000000000"},
		"notification_http_endpoint":           {"http://127.0.0.1:1/n", `"http://127.0.0.1:1/n"`, "http://127.0.0.1:1/n"},
		"http_client_connect_timeout":          {"3s", `"3s"`, "3000000000"},
		"http_client_request_timeout":          {"6s", "6000", "6000000000"},
		"http_client_tls_insecure_skip_verify": {"true", `"true"`, "true"},
		"http_client_tls_root_ca_file":         {cert, strconv.Quote(cert), cert},
		"http_client_tls_cert":                 {cert, strconv.Quote(cert), cert},
		"http_client_tls_key":                  {key, strconv.Quote(key), key},
		"allow_config_from_cidr":               {"127.0.0.0/16", `"127.0.0.0/16"`, "127.0.0.0/16"},
		"acl_http_header":                      {"X-User", `"X-User"`, "X-User"},
		"nsqlookupd_http_addresses":            {"127.0.0.1:1,127.0.0.1:2", `["127.0.0.1:1", "127.0.0.1:2"]`, `["127.0.0.1:1","127.0.0.1:2"]`},
		"nsqd_http_addresses":                  {"127.0.0.1:3", `["127.0.0.1:3"]`, `["127.0.0.1:3"]`},
		"admin_users":                          {"ann,bob", `["ann", "bob"]`, `["ann","bob"]`},
		"history_interval":                     {"5s", `"5s"`, "5000000000"},
		"history_retention":                    {"30m", "1800000", "1800000000000"},
		"history_max_series":                   {"10", "10", "10"},
		"auth_http_addresses":                  {"127.0.0.1:1", `["127.0.0.1:1"]`, `["127.0.0.1:1"]`},
		"auth_http_request_method":             {"post", `"post"`, "post"},
	}
	declared := nsqadmin.NewOptions().Declarations()
	require.Len(t, declared, len(cases), "every declared option has a round-trip case")
	var args []string
	var file strings.Builder
	for _, option := range declared {
		c, ok := cases[option.ConfigKey()]
		require.True(t, ok, "--%s (%s) has no round-trip case", option.Flag, option.ConfigKey())
		require.Equal(t, option.Unlisted, c.config == "", option.ConfigKey())
		args = append(args, "--"+option.Flag+"="+c.flag)
		fmt.Fprintf(&file, "%s = %s\n", option.ConfigKey(), c.toml)
	}
	byFlag, _, err := parseOptions(args, io.Discard)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "nsqadmin.toml")
	require.NoError(t, os.WriteFile(path, []byte(file.String()), 0o600))
	byFile, _, err := parseOptions([]string{"--config=" + path}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, byFlag, byFile, "the flags and the file set the same options")
	set := byFlag.Declarations()
	for i, option := range declared {
		require.NotEqual(t, reflect.ValueOf(option.Field).Elem().Interface(),
			reflect.ValueOf(set[i].Field).Elem().Interface(), "%s: the value is the default", option.ConfigKey())
	}

	// nsqadmin takes lookupds or nsqds, not both: one run each.
	for _, without := range []string{"nsqd_http_addresses", "nsqlookupd_http_addresses"} {
		opts := *byFlag
		if without == "nsqd_http_addresses" {
			opts.NSQDHTTPAddresses = nil
		} else {
			opts.NSQLookupdHTTPAddresses = nil
		}
		base := runAdmin(t, &opts)
		for _, option := range declared {
			if option.ConfigKey() == without {
				continue
			}
			resp, err := http.Get(base + "/config/" + option.ConfigKey())
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			if option.Unlisted {
				require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s: %s", option.ConfigKey(), body)
				continue
			}
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", option.ConfigKey(), body)
			require.Equal(t, cases[option.ConfigKey()].config, string(body), option.ConfigKey())
		}
	}
}

// runAdmin starts nsqadmin in-process, returns its base URL and stops it
// when the test ends.
func runAdmin(t *testing.T, opts *nsqadmin.Options) string {
	t.Helper()
	opts.Logger = io.Discard
	n, err := nsqadmin.New(opts)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- n.Main() }()
	t.Cleanup(func() {
		n.Exit()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("nsqadmin did not stop within 10s")
		}
	})
	return "http://" + n.RealHTTPAddr().String() + strings.TrimSuffix(opts.BasePath, "/")
}

// writeCertificate writes a self-signed certificate and its key, valid
// files for the HTTP client's TLS options.
func writeCertificate(t *testing.T) (certPath, keyPath string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
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
