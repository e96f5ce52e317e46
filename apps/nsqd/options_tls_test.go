package main

import (
	"crypto/tls"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/nsqgo/nsq/nsqd"
	"github.com/stretchr/testify/require"
)

func TestTLSFlagDefaults(t *testing.T) {
	p, err := parseOptions(nil, io.Discard)
	require.NoError(t, err)
	opts := p.opts
	require.Equal(t, "0.0.0.0:4152", opts.HTTPSAddress)
	require.Equal(t, nsqd.TLSNotRequired, opts.TLSRequired)
	// Ours is TLS 1.2 where upstream defaults to 1.0.
	require.Equal(t, nsqd.TLSVersion(tls.VersionTLS12), opts.TLSMinVersion)
	require.Empty(t, opts.TLSCert)
	require.Empty(t, opts.TLSKey)
	require.Empty(t, opts.TLSRootCAFile)
	require.Empty(t, opts.TLSClientAuthPolicy)
	require.True(t, opts.SnappyEnabled)
	require.True(t, opts.DeflateEnabled)
	require.Equal(t, 6, opts.MaxDeflateLevel)
}

func TestTLSFlagsParse(t *testing.T) {
	p, err := parseOptions([]string{
		"--tls-cert=/c.pem", "--tls-key=/k.pem", "--tls-root-ca-file=/ca.pem",
		"--tls-client-auth-policy=require-verify", "--tls-min-version=tls1.3",
		"--https-address=127.0.0.1:14152", "--snappy=false", "--deflate=false", "--max-deflate-level=9",
	}, io.Discard)
	require.NoError(t, err)
	opts := p.opts
	require.Equal(t, "/c.pem", opts.TLSCert)
	require.Equal(t, "/k.pem", opts.TLSKey)
	require.Equal(t, "/ca.pem", opts.TLSRootCAFile)
	require.Equal(t, "require-verify", opts.TLSClientAuthPolicy)
	require.Equal(t, nsqd.TLSVersion(tls.VersionTLS13), opts.TLSMinVersion)
	require.Equal(t, "127.0.0.1:14152", opts.HTTPSAddress)
	require.False(t, opts.SnappyEnabled)
	require.False(t, opts.DeflateEnabled)
	require.Equal(t, 9, opts.MaxDeflateLevel)
}

func TestTLSRequiredFlagSpellings(t *testing.T) {
	for args, want := range map[string]nsqd.TLSRequirement{
		"--tls-required":           nsqd.TLSRequired, // bare flag means true
		"--tls-required=true":      nsqd.TLSRequired,
		"--tls-required=false":     nsqd.TLSNotRequired,
		"--tls-required=tcp-https": nsqd.TLSRequiredExceptHTTP,
	} {
		p, err := parseOptions([]string{args}, io.Discard)
		require.NoError(t, err, args)
		require.Equal(t, want, p.opts.TLSRequired, args)
	}
}

func TestBadTLSFlagsAreRejected(t *testing.T) {
	for _, args := range []string{"--tls-required=maybe", "--tls-min-version=ssl3.0", "--tls-min-version=tls9"} {
		_, err := parseOptions([]string{args}, io.Discard)
		require.Error(t, err, args)
	}
}

func TestTLSConfigFileKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nsqd.toml")
	require.NoError(t, os.WriteFile(path, []byte(`
tls_cert = "/c.pem"
tls_key = "/k.pem"
tls_root_ca_file = "/ca.pem"
tls_client_auth_policy = "require"
tls_required = "tcp-https"
tls_min_version = ""
https_address = "127.0.0.1:14152"
snappy = false
deflate = "false"
`), 0o600))
	p, err := parseOptions([]string{"--config=" + path}, io.Discard)
	require.NoError(t, err)
	opts := p.opts
	require.Equal(t, "/c.pem", opts.TLSCert)
	require.Equal(t, "/k.pem", opts.TLSKey)
	require.Equal(t, "/ca.pem", opts.TLSRootCAFile)
	require.Equal(t, "require", opts.TLSClientAuthPolicy)
	require.Equal(t, nsqd.TLSRequiredExceptHTTP, opts.TLSRequired)
	require.Equal(t, nsqd.TLSVersion(tls.VersionTLS12), opts.TLSMinVersion, `"" keeps the default`)
	require.Equal(t, "127.0.0.1:14152", opts.HTTPSAddress)
	require.False(t, opts.SnappyEnabled)
	require.False(t, opts.DeflateEnabled)
}

func TestTLSConfigFileBooleanRequirement(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nsqd.toml")
	require.NoError(t, os.WriteFile(path, []byte("tls_required = true\n"), 0o600))
	p, err := parseOptions([]string{"--config=" + path}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, nsqd.TLSRequired, p.opts.TLSRequired)
}

func TestTLSConfigFileBadRequirementIsReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nsqd.toml")
	require.NoError(t, os.WriteFile(path, []byte(`tls_required = "sometimes"`), 0o600))
	_, err := parseOptions([]string{"--config=" + path}, io.Discard)
	require.ErrorContains(t, err, "failed parsing tls_required sometimes")
}

func TestTLSRequiredWithoutCertificateFailsStartup(t *testing.T) {
	code := run([]string{"--tls-required", "--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0",
		"--data-path=" + t.TempDir()})
	require.Equal(t, 1, code)
}
