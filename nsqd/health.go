package nsqd

import "sync"

// health is the daemon's last disk-write outcome: a failed write makes
// /ping and /stats report "NOK - <error>" until a later write succeeds.
type health struct {
	mu  sync.Mutex
	err error
}

// recordWrite notes the outcome of a backend write.
func (n *NSQD) recordWrite(err error) {
	n.health.mu.Lock()
	if err != nil && n.health.err == nil {
		n.logf(errorLevel, "disk write failed, reporting unhealthy: %s", err)
	}
	n.health.err = err
	n.health.mu.Unlock()
}

// healthError is nil when healthy.
func (n *NSQD) healthError() error {
	n.health.mu.Lock()
	defer n.health.mu.Unlock()
	return n.health.err
}

// healthString is upstream's health text: "OK" or "NOK - <error>".
func (n *NSQD) healthString() string {
	if err := n.healthError(); err != nil {
		return "NOK - " + err.Error()
	}
	return "OK"
}
