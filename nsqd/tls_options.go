package nsqd

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nsqgo/nsq/nsqd/connlayer"
)

// TLSRequirement is --tls-required: whether clients must upgrade to TLS
// before doing anything else. The values are upstream's, which /config
// reports as numbers.
type TLSRequirement int

const (
	// TLSNotRequired lets plain TCP and HTTP clients in.
	TLSNotRequired TLSRequirement = 0
	// TLSRequiredExceptHTTP ("tcp-https") requires TLS on TCP only; the
	// plain HTTP listener stays open.
	TLSRequiredExceptHTTP TLSRequirement = 1
	// TLSRequired requires TLS on TCP and answers plain HTTP with 403.
	TLSRequired TLSRequirement = 2
)

// Set implements flag.Value: "true", "false" (and the other spellings
// strconv.ParseBool accepts) or "tcp-https", case-insensitively.
func (r *TLSRequirement) Set(s string) error {
	s = strings.ToLower(s)
	if s == "tcp-https" {
		*r = TLSRequiredExceptHTTP
		return nil
	}
	required, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true, false or tcp-https, got %q", s)
	}
	*r = TLSNotRequired
	if required {
		*r = TLSRequired
	}
	return nil
}

func (r *TLSRequirement) String() string {
	if r == nil {
		return "false"
	}
	switch *r {
	case TLSRequiredExceptHTTP:
		return "tcp-https"
	case TLSRequired:
		return "true"
	}
	return "false"
}

// Get implements flag.Getter.
func (r *TLSRequirement) Get() any { return *r }

// IsBoolFlag lets a bare --tls-required mean true, as upstream.
func (r *TLSRequirement) IsBoolFlag() bool { return true }

// TLSVersion is --tls-min-version, a crypto/tls version number.
type TLSVersion uint16

// parseTLSVersion maps the spellings --tls-min-version accepts. Upstream's
// help text also offers ssl3.0, which crypto/tls cannot speak, so it is
// refused rather than accepted and failing every handshake.
func parseTLSVersion(s string) (TLSVersion, bool) {
	switch strings.ToLower(s) {
	case "tls1.0":
		return tls.VersionTLS10, true
	case "tls1.1":
		return tls.VersionTLS11, true
	case "tls1.2":
		return tls.VersionTLS12, true
	case "tls1.3":
		return tls.VersionTLS13, true
	}
	return 0, false
}

// Set implements flag.Value; an empty value keeps the default, as in
// upstream's config files (tls_min_version = "").
func (v *TLSVersion) Set(s string) error {
	if s == "" {
		return nil
	}
	version, ok := parseTLSVersion(s)
	if !ok {
		return fmt.Errorf("unknown TLS version %q (want tls1.0, tls1.1, tls1.2 or tls1.3)", s)
	}
	*v = version
	return nil
}

func (v *TLSVersion) String() string {
	if v == nil {
		return ""
	}
	switch *v {
	case tls.VersionTLS10:
		return "tls1.0"
	case tls.VersionTLS11:
		return "tls1.1"
	case tls.VersionTLS12:
		return "tls1.2"
	case tls.VersionTLS13:
		return "tls1.3"
	}
	return strconv.Itoa(int(*v))
}

// Get implements flag.Getter.
func (v *TLSVersion) Get() any { return *v }

// tlsSetup is what the TLS options resolve to at New.
type tlsSetup struct {
	// server answers tls_v1 upgrades and serves HTTPS; nil without a
	// certificate and key, and then TLS is never negotiated.
	server *tls.Config
	// client is for nsqd's own calls to https:// servers (auth): it trusts
	// --tls-root-ca-file when given, the system roots otherwise.
	client *tls.Config
	// required is --tls-required as in force: a client auth policy raises
	// "not required" to "required", as upstream.
	required TLSRequirement
}

// resolveTLS validates the TLS options with upstream's fatal messages and
// builds the configurations (nsqd/connlayer). It leaves opts untouched: the
// effective requirement is returned instead.
func resolveTLS(opts *Options) (tlsSetup, error) {
	setup := tlsSetup{required: opts.TLSRequired}
	if opts.TLSClientAuthPolicy != "" && setup.required == TLSNotRequired {
		setup.required = TLSRequired
	}
	files := connlayer.TLSFiles{
		Cert:             opts.TLSCert,
		Key:              opts.TLSKey,
		ClientAuthPolicy: opts.TLSClientAuthPolicy,
		RootCAFile:       opts.TLSRootCAFile,
		MinVersion:       uint16(opts.TLSMinVersion),
	}
	var err error
	if setup.server, err = connlayer.ServerTLSConfig(files); err != nil {
		return setup, fmt.Errorf("failed to build TLS config - %w", err)
	}
	if setup.server == nil && setup.required != TLSNotRequired {
		return setup, errors.New("cannot require TLS client connections without TLS key and cert")
	}
	if setup.client, err = connlayer.ClientTLSConfig(files); err != nil {
		return setup, fmt.Errorf("failed to build client TLS config - %w", err)
	}
	return setup, nil
}
