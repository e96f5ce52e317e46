package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAuthFlagDefaultsMatchUpstream(t *testing.T) {
	p, err := parseOptions(nil, io.Discard)
	require.NoError(t, err)
	require.Empty(t, p.opts.AuthHTTPAddresses)
	require.Equal(t, "get", p.opts.AuthHTTPRequestMethod)
}

func TestAuthHTTPAddressFlagIsRepeatable(t *testing.T) {
	p, err := parseOptions([]string{
		"--auth-http-address=127.0.0.1:4181", "--auth-http-address=https://auth.example/check",
		"--auth-http-request-method=post",
	}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, []string{"127.0.0.1:4181", "https://auth.example/check"}, p.opts.AuthHTTPAddresses)
	require.Equal(t, "post", p.opts.AuthHTTPRequestMethod)
}

func TestAuthConfigFileKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nsqd.toml")
	require.NoError(t, os.WriteFile(path, []byte(`
auth_http_addresses = ["a:4181", "b:4181"]
auth_http_request_method = "post"
`), 0o600))
	p, err := parseOptions([]string{"--config=" + path}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, []string{"a:4181", "b:4181"}, p.opts.AuthHTTPAddresses)
	require.Equal(t, "post", p.opts.AuthHTTPRequestMethod)
}

func TestUnknownAuthRequestMethodFailsStartup(t *testing.T) {
	code := run([]string{"--auth-http-request-method=put", "--tcp-address=127.0.0.1:0",
		"--http-address=127.0.0.1:0", "--data-path=" + t.TempDir()})
	require.Equal(t, 1, code)
}
