package nsqd

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/julienschmidt/httprouter"
)

// Orchestrator probes (ours; upstream has only /ping). /healthz answers as
// long as the process serves HTTP: a liveness probe that restarts nsqd only
// when it is wedged. /readyz runs the checks that say whether the node
// should receive traffic, and names the ones that failed.

// probeResponse is the JSON body of both probes. Checks maps each check to
// "ok" or the reason it failed; Failed lists the failed ones, sorted as
// they ran.
type probeResponse struct {
	Status string            `json:"status"`
	Failed []string          `json:"failed,omitempty"`
	Checks map[string]string `json:"checks,omitempty"`
}

func (s *httpServer) healthz(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
	writeProbe(w, http.StatusOK, probeResponse{Status: "ok"})
}

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

func (s *httpServer) readyz(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
	resp := probeResponse{Status: "ready", Checks: map[string]string{}}
	for _, check := range readinessChecks {
		if err := check.run(s.nsqd); err != nil {
			resp.Failed = append(resp.Failed, check.name)
			resp.Checks[check.name] = err.Error()
			continue
		}
		resp.Checks[check.name] = "ok"
	}
	status := http.StatusOK
	if len(resp.Failed) > 0 {
		resp.Status = "not ready"
		status = http.StatusServiceUnavailable
	}
	writeProbe(w, status, resp)
}

func writeProbe(w http.ResponseWriter, status int, resp probeResponse) {
	body, _ := json.Marshal(resp)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
