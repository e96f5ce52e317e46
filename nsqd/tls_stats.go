package nsqd

import (
	"crypto/tls"
	"fmt"
)

// setTLSStats fills a client's TLS fields in /stats the way upstream
// renders them; a plain connection leaves them at their zero values.
func (s *ClientStats) setTLSStats(state *tls.ConnectionState) {
	if state == nil {
		return
	}
	s.TLS = true
	s.CipherSuite = cipherSuiteName(state.CipherSuite)
	s.TLSVersion = tlsVersionName(state.Version)
	s.TLSNegotiatedProtocol = state.NegotiatedProtocol
	// Deprecated in crypto/tls (always true now), but upstream reports it.
	s.TLSNegotiatedProtocolIsMutual = state.NegotiatedProtocolIsMutual
}

// cipherSuiteName is the IANA name (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
// or upstream's "Unknown <n>".
func cipherSuiteName(id uint16) string {
	for _, suite := range tls.CipherSuites() {
		if suite.ID == id {
			return suite.Name
		}
	}
	for _, suite := range tls.InsecureCipherSuites() {
		if suite.ID == id {
			return suite.Name
		}
	}
	return fmt.Sprintf("Unknown %d", id)
}

// tlsVersionName is upstream's TLS1.0 … TLS1.3 spelling.
func tlsVersionName(version uint16) string {
	switch version {
	case tls.VersionTLS10:
		return "TLS1.0"
	case tls.VersionTLS11:
		return "TLS1.1"
	case tls.VersionTLS12:
		return "TLS1.2"
	case tls.VersionTLS13:
		return "TLS1.3"
	}
	return fmt.Sprintf("Unknown %d", version)
}
