package nsqd

import (
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"
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
