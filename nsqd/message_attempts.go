package nsqd

import "math"

// countAttempt is a message's attempts after one more delivery. It
// saturates at 65535, the largest value the wire's uint16 field holds,
// where upstream wraps to 0: a message delivered that often must not look
// like a new one again, to its consumer or to an attempts limit.
func countAttempt(attempts uint16) uint16 {
	if attempts == math.MaxUint16 {
		return attempts
	}
	return attempts + 1
}
