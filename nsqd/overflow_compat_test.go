package nsqd

// backendTakesOverflow: durable overflow now always goes to the disk queue.
// TODO(lead): replace the refusal tests that use this with disk tests.
func backendTakesOverflow(b BackendQueue) bool { return b != nil }
