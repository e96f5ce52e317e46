package protocol

import "strings"

// EphemeralSuffix marks topics and channels that never touch disk and vanish
// with their last consumer.
const EphemeralSuffix = "#ephemeral"

// MaxNameLength is the longest valid topic or channel name, suffix included.
const MaxNameLength = 64

// ValidName reports whether name is a valid topic or channel name:
// 1..64 bytes of [.a-zA-Z0-9_-], optionally ending in "#ephemeral".
// It is hand-rolled rather than a regexp because it runs on every PUB.
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > MaxNameLength {
		return false
	}
	base := strings.TrimSuffix(name, EphemeralSuffix)
	if len(base) == 0 {
		return false
	}
	for i := 0; i < len(base); i++ {
		c := base[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// IsEphemeral reports whether a name carries the ephemeral suffix.
func IsEphemeral(name string) bool {
	return strings.HasSuffix(name, EphemeralSuffix)
}
