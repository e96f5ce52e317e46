package connlayer

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// TLSFiles are the TLS options the configurations are built from (nsqd's
// --tls-cert, --tls-key, --tls-client-auth-policy, --tls-root-ca-file and
// --tls-min-version).
type TLSFiles struct {
	Cert             string
	Key              string
	ClientAuthPolicy string // "", "require" or "require-verify"
	RootCAFile       string
	MinVersion       uint16
}

// ServerTLSConfig answers tls_v1 upgrades and serves HTTPS: nil when
// neither a certificate nor a key is set (one without the other fails to
// load, as upstream).
func ServerTLSConfig(f TLSFiles) (*tls.Config, error) {
	if f.Cert == "" && f.Key == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, err
	}
	config := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   f.MinVersion,
	}
	switch f.ClientAuthPolicy {
	case "":
		config.ClientAuth = tls.NoClientCert
	case "require":
		config.ClientAuth = tls.RequireAnyClientCert
	case "require-verify":
		config.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		// Upstream silently asks no certificate for an unknown policy; a
		// typo must not quietly turn verification off.
		return nil, fmt.Errorf("unknown --tls-client-auth-policy %q (want require or require-verify)", f.ClientAuthPolicy)
	}
	if f.RootCAFile != "" {
		pool, err := loadCertPool(f.RootCAFile)
		if err != nil {
			return nil, err
		}
		config.ClientCAs = pool
	}
	return config, nil
}

// ClientTLSConfig is for the daemon's own calls to https:// servers: it
// trusts RootCAFile when given, the system roots otherwise.
func ClientTLSConfig(f TLSFiles) (*tls.Config, error) {
	config := &tls.Config{MinVersion: f.MinVersion}
	if f.RootCAFile != "" {
		pool, err := loadCertPool(f.RootCAFile)
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
