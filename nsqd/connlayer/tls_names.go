package connlayer

import (
	"crypto/tls"
	"fmt"
)

// CipherSuiteName is the IANA name (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
// or upstream's "Unknown <n>".
func CipherSuiteName(id uint16) string {
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

// VersionName is upstream's TLS1.0 … TLS1.3 spelling.
func VersionName(version uint16) string {
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
