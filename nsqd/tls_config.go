package nsqd

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

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

// resolveTLS validates the TLS options with upstream's fatal messages. It
// leaves opts untouched: the effective requirement is returned instead.
func resolveTLS(opts *Options) (tlsSetup, error) {
	setup := tlsSetup{required: opts.TLSRequired}
	if opts.TLSClientAuthPolicy != "" && setup.required == TLSNotRequired {
		setup.required = TLSRequired
	}
	var err error
	if setup.server, err = buildTLSConfig(opts); err != nil {
		return setup, fmt.Errorf("failed to build TLS config - %w", err)
	}
	if setup.server == nil && setup.required != TLSNotRequired {
		return setup, errors.New("cannot require TLS client connections without TLS key and cert")
	}
	if setup.client, err = buildClientTLSConfig(opts); err != nil {
		return setup, fmt.Errorf("failed to build client TLS config - %w", err)
	}
	return setup, nil
}

// buildTLSConfig is the server side: nil when neither --tls-cert nor
// --tls-key is set (one without the other fails to load, as upstream).
func buildTLSConfig(opts *Options) (*tls.Config, error) {
	if opts.TLSCert == "" && opts.TLSKey == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey)
	if err != nil {
		return nil, err
	}
	config := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   uint16(opts.TLSMinVersion),
	}
	switch opts.TLSClientAuthPolicy {
	case "":
		config.ClientAuth = tls.NoClientCert
	case "require":
		config.ClientAuth = tls.RequireAnyClientCert
	case "require-verify":
		config.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		// Upstream silently asks no certificate for an unknown policy; a
		// typo must not quietly turn verification off.
		return nil, fmt.Errorf("unknown --tls-client-auth-policy %q (want require or require-verify)", opts.TLSClientAuthPolicy)
	}
	if opts.TLSRootCAFile != "" {
		pool, err := loadCertPool(opts.TLSRootCAFile)
		if err != nil {
			return nil, err
		}
		config.ClientCAs = pool
	}
	return config, nil
}

// buildClientTLSConfig is the client side of nsqd's own HTTPS calls.
func buildClientTLSConfig(opts *Options) (*tls.Config, error) {
	config := &tls.Config{MinVersion: uint16(opts.TLSMinVersion)}
	if opts.TLSRootCAFile != "" {
		pool, err := loadCertPool(opts.TLSRootCAFile)
		if err != nil {
			return nil, err
		}
		config.RootCAs = pool
	}
	return config, nil
}

func loadCertPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("failed to append certificate to pool from %s", path)
	}
	return pool, nil
}
