package nsqclient

import (
	"fmt"
	"net"
)

// ConnectToNSQDNow is ConnectToNSQD that waits for the first connection
// to each address, as go-nsq's ConnectToNSQD does, and returns the first
// failure: an nsqd that refuses, cannot be reached within DialTimeout or
// rejects the subscription. Addresses that failed are not retried (the
// caller is expected to give up, as upstream's tools exit 1); a
// connection that succeeded and is lost later is re-established like any
// other.
func (c *Consumer) ConnectToNSQDNow(addrs ...string) error {
	seen := map[string]bool{}
	for _, addr := range addrs {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("nsqd address %q: %w", addr, err)
		}
		if seen[addr] {
			return fmt.Errorf("nsqd %s: %w", addr, ErrAlreadyConnected)
		}
		seen[addr] = true
	}
	results := make(chan error, len(addrs))
	c.mu.Lock()
	if err := c.connectableLocked(); err != nil {
		c.mu.Unlock()
		return err
	}
	for _, addr := range addrs {
		if _, ok := c.targets[addr]; ok {
			c.mu.Unlock()
			return fmt.Errorf("nsqd %s: %w", addr, ErrAlreadyConnected)
		}
	}
	for _, addr := range addrs {
		c.addTargetReportingLocked(addr, false, results)
	}
	c.startControlLocked()
	c.mu.Unlock()
	var first error
	for range addrs {
		if err := <-results; err != nil && first == nil {
			first = err
		}
	}
	return first
}
