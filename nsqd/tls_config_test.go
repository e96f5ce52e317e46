package nsqd

import (
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// newErr runs New with configure applied to loopback test options and
// returns its error (stopping the daemon if it started).
func newErr(t *testing.T, configure func(*Options)) error {
	t.Helper()
	opts := NewOptions()
	opts.TCPAddress, opts.HTTPAddress, opts.HTTPSAddress = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	opts.DataPath = t.TempDir()
	opts.Logger = testLogWriter{t}
	configure(opts)
	n, err := New(opts)
	if err == nil {
		n.Exit()
	}
	return err
}

func TestNewRefusesTLSRequiredWithoutCertificate(t *testing.T) {
	for _, required := range []TLSRequirement{TLSRequired, TLSRequiredExceptHTTP} {
		err := newErr(t, func(o *Options) { o.TLSRequired = required })
		require.EqualError(t, err, "cannot require TLS client connections without TLS key and cert")
	}
}

func TestNewRefusesClientAuthPolicyWithoutCertificate(t *testing.T) {
	err := newErr(t, func(o *Options) { o.TLSClientAuthPolicy = "require" })
	require.EqualError(t, err, "cannot require TLS client connections without TLS key and cert")
}

func TestNewReportsAMissingCertificate(t *testing.T) {
	p := newTestPKI(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	err := newErr(t, func(o *Options) { p.serve(o); o.TLSCert = missing })
	require.EqualError(t, err, "failed to build TLS config - open "+missing+": no such file or directory")
}

func TestNewReportsACertificateWithoutKey(t *testing.T) {
	p := newTestPKI(t)
	err := newErr(t, func(o *Options) { o.TLSCert = p.certFile })
	require.ErrorContains(t, err, "failed to build TLS config - open : no such file or directory")
}

func TestNewReportsAnUnreadableRootCA(t *testing.T) {
	p := newTestPKI(t)
	missing := filepath.Join(t.TempDir(), "ca.pem")
	err := newErr(t, func(o *Options) { p.serve(o); o.TLSRootCAFile = missing })
	require.EqualError(t, err, "failed to build TLS config - open "+missing+": no such file or directory")
}

func TestNewReportsARootCAWithoutCertificates(t *testing.T) {
	p := newTestPKI(t)
	garbage := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(garbage, []byte("not PEM"), 0o600))
	err := newErr(t, func(o *Options) { p.serve(o); o.TLSRootCAFile = garbage })
	require.EqualError(t, err, "failed to build TLS config - failed to append certificate to pool from "+garbage)
}

// Upstream would quietly ask no certificate for a misspelt policy.
func TestNewRefusesAnUnknownClientAuthPolicy(t *testing.T) {
	p := newTestPKI(t)
	err := newErr(t, func(o *Options) { p.serve(o); o.TLSClientAuthPolicy = "require_verify" })
	require.EqualError(t, err, `failed to build TLS config - unknown --tls-client-auth-policy "require_verify" (want require or require-verify)`)
}

func TestNewReportsAnHTTPSListenFailure(t *testing.T) {
	p := newTestPKI(t)
	busy := startDaemon(t, nil)
	err := newErr(t, func(o *Options) { p.serve(o); o.HTTPSAddress = busy.RealHTTPAddr().String() })
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "listen ("+busy.RealHTTPAddr().String()+") failed - "), err.Error())
}

func TestConfigShowsTLSOptions(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, func(o *Options) {
		o.TLSRootCAFile = p.caFile
		o.TLSRequired = TLSRequiredExceptHTTP
	})
	for opt, want := range map[string]string{
		"tls_cert":               p.certFile,
		"tls_key":                p.keyFile,
		"tls_root_ca_file":       p.caFile,
		"tls_client_auth_policy": "",
		"tls_required":           "1",
		"tls_min_version":        "771", // TLS 1.2, a number as upstream's uint16
		"https_address":          "127.0.0.1:0",
	} {
		status, body := httpGet(t, n, "/config/"+opt)
		require.Equal(t, http.StatusOK, status, opt)
		require.Equal(t, want, string(body), opt)
	}
}

func TestTLSRequirementFlagValues(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want TLSRequirement
	}{
		{"true", TLSRequired}, {"TRUE", TLSRequired}, {"1", TLSRequired},
		{"false", TLSNotRequired}, {"0", TLSNotRequired},
		{"tcp-https", TLSRequiredExceptHTTP}, {"TCP-HTTPS", TLSRequiredExceptHTTP},
	} {
		var r TLSRequirement
		require.NoError(t, r.Set(tc.in), tc.in)
		require.Equal(t, tc.want, r, tc.in)
	}
	var r TLSRequirement
	require.Error(t, r.Set("sometimes"))
	require.True(t, r.IsBoolFlag(), "a bare --tls-required means true")
}

func TestTLSVersionFlagValues(t *testing.T) {
	v := TLSVersion(tls.VersionTLS12)
	require.NoError(t, v.Set(""), "empty keeps the default")
	require.Equal(t, TLSVersion(tls.VersionTLS12), v)
	for in, want := range map[string]uint16{
		"tls1.0": tls.VersionTLS10, "tls1.1": tls.VersionTLS11, "TLS1.2": tls.VersionTLS12, "tls1.3": tls.VersionTLS13,
	} {
		require.NoError(t, v.Set(in), in)
		require.Equal(t, TLSVersion(want), v, in)
	}
	require.Error(t, v.Set("ssl3.0"), "no stack here speaks SSL 3.0")
	require.Error(t, v.Set("tls2"))
}
