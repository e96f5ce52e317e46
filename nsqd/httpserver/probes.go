package httpserver

import (
	"encoding/json"
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// Orchestrator probes (ours; upstream has only /ping). /healthz answers as
// long as the process serves HTTP: a liveness probe that restarts nsqd only
// when it is wedged. /readyz runs the checks that say whether the node
// should receive traffic (the daemon's, Daemon.Readiness), and names the
// ones that failed.

// ProbeAnswer is the JSON body of both probes. Checks maps each check to
// "ok" or the reason it failed; Failed lists the failed ones, sorted as
// they ran.
type ProbeAnswer struct {
	Status string            `json:"status"`
	Failed []string          `json:"failed,omitempty"`
	Checks map[string]string `json:"checks,omitempty"`
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
	writeProbe(w, http.StatusOK, ProbeAnswer{Status: "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
	resp := ProbeAnswer{Status: "ready", Checks: map[string]string{}}
	for _, check := range s.daemon.Readiness() {
		if check.Err != nil {
			resp.Failed = append(resp.Failed, check.Name)
			resp.Checks[check.Name] = check.Err.Error()
			continue
		}
		resp.Checks[check.Name] = "ok"
	}
	status := http.StatusOK
	if len(resp.Failed) > 0 {
		resp.Status = "not ready"
		status = http.StatusServiceUnavailable
	}
	writeProbe(w, status, resp)
}

func writeProbe(w http.ResponseWriter, status int, resp ProbeAnswer) {
	body, _ := json.Marshal(resp)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
