package nsqd

import (
	"errors"
	"fmt"
	"os"
)

// The checks behind GET /readyz (ours; nsqd/httpserver's probes.go serves
// them): whether the node should receive traffic. /healthz needs nothing
// of the daemon.

// readinessCheck is one /readyz check: nil when it passes.
type readinessCheck struct {
	name string
	run  func(n *NSQD) error
}

// readinessChecks run in this order, each every time (a probe every few
// seconds is cheap: the disk check writes one small file).
var readinessChecks = []readinessCheck{
	{"listeners", func(n *NSQD) error {
		if n.exiting.Load() {
			return errors.New("shutting down")
		}
		if !n.serving.Load() {
			return errors.New("not serving yet")
		}
		return nil
	}},
	{"metadata", func(n *NSQD) error {
		if n.loading.Load() {
			return errors.New("nsqd.dat not loaded yet")
		}
		return nil
	}},
	{"disk", func(n *NSQD) error {
		if err := n.healthError(); err != nil {
			return fmt.Errorf("last write failed: %w", err)
		}
		return probeWritable(n.dataPath())
	}},
	{"lookupd", func(n *NSQD) error {
		configured := len(n.lookup.Addresses())
		if configured == 0 {
			return nil
		}
		if n.lookup.Registered() == 0 {
			return fmt.Errorf("registered with none of %d nsqlookupd", configured)
		}
		return nil
	}},
}

// probeWritable creates, writes, syncs and removes a small file in dir:
// what a disk that is full, read-only or gone refuses.
func probeWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".readyz-*")
	if err != nil {
		return fmt.Errorf("data path not writable: %w", err)
	}
	name := f.Name()
	defer os.Remove(name)
	_, err = f.Write([]byte("readyz\n"))
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("data path not writable: %w", err)
	}
	return nil
}
