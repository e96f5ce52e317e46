package nsqlookupd

import (
	"encoding/json"
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// Orchestrator probes (ours; upstream has only /ping), with nsqd's JSON
// shape. nsqlookupd keeps no disk state and depends on nothing, so ready
// means serving both listeners and not shutting down.
type probeResponse struct {
	Status string            `json:"status"`
	Failed []string          `json:"failed,omitempty"`
	Checks map[string]string `json:"checks,omitempty"`
}

func (l *NSQLookupd) doHealthz(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
	writeProbe(w, http.StatusOK, probeResponse{Status: "ok"})
}

func (l *NSQLookupd) doReadyz(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
	l.mu.Lock()
	started, exiting := l.started, l.exiting
	l.mu.Unlock()
	resp := probeResponse{Status: "ready", Checks: map[string]string{"listeners": "ok"}}
	status := http.StatusOK
	if !started || exiting {
		status = http.StatusServiceUnavailable
		resp.Status = "not ready"
		resp.Failed = []string{"listeners"}
		resp.Checks["listeners"] = "shutting down"
		if !started {
			resp.Checks["listeners"] = "not serving yet"
		}
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
