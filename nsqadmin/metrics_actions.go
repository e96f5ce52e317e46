package nsqadmin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/nsqgo/nsq/internal/httpapi"
)

// actionNames are the admin actions nsq_admin_actions_total counts, named
// as the notifications name them (notify.go); "invalid" is a topic or
// channel action whose body names none of pause, unpause or empty.
var actionNames = [...]string{
	"create_topic", "create_channel", "delete_topic", "delete_channel",
	"pause_topic", "unpause_topic", "empty_topic",
	"pause_channel", "unpause_channel", "empty_channel",
	"tombstone_topic_producer", "invalid",
}

// actionOutcomes: ok; partial, the action answered with a warning naming
// nodes that failed; failed, no node could be asked (502); denied (401,
// 403: --admin-user, the auth server's grants, a cross-site request);
// invalid (400); error, anything else.
var actionOutcomes = [...]string{"ok", "partial", "failed", "denied", "invalid", "error"}

// actionNamer names the action a request asks for. body is the request's
// body (at most maxActionBody+1 bytes), which the handler still reads.
type actionNamer func(body []byte) string

// actionRoutes are the counted routes, by method and path under the base
// path as http.go registers them; /api/auth (log in, log out) is not an
// admin action.
var actionRoutes = map[string]actionNamer{
	"POST /api/topics": func(body []byte) string {
		var b struct {
			Channel string `json:"channel"`
		}
		// create_channel creates the topic too; one request, one count.
		if json.Unmarshal(body, &b) == nil && b.Channel != "" {
			return "create_channel"
		}
		return "create_topic"
	},
	"POST /api/topics/:topic":            bodyAction("_topic"),
	"POST /api/topics/:topic/:channel":   bodyAction("_channel"),
	"DELETE /api/topics/:topic":          func([]byte) string { return "delete_topic" },
	"DELETE /api/topics/:topic/:channel": func([]byte) string { return "delete_channel" },
	"DELETE /api/nodes/:node":            func([]byte) string { return "tombstone_topic_producer" },
}

func bodyAction(suffix string) actionNamer {
	return func(body []byte) string {
		var b struct {
			Action string `json:"action"`
		}
		if json.Unmarshal(body, &b) != nil {
			return "invalid"
		}
		switch b.Action {
		case "pause", "unpause", "empty":
			return b.Action + suffix
		}
		return "invalid"
	}
}

func actionIndex(name string) int {
	for i, a := range actionNames {
		if a == name {
			return i
		}
	}
	return len(actionNames) - 1
}

// countAction wraps the handler of route (method and path as registered)
// so that each request counts once under its action and outcome; routes
// that are not admin actions pass through unwrapped.
func (n *NSQAdmin) countAction(method, route string, h httpapi.Handler) httpapi.Handler {
	name, ok := actionRoutes[method+" "+route]
	if !ok {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
		// The handler reads at most maxActionBody (decodeBody); reading
		// one byte more keeps what it sees the same.
		body, err := io.ReadAll(io.LimitReader(r.Body, maxActionBody+1))
		if err != nil {
			n.metrics.actions[actionIndex(name(nil))][outcomeIndex("invalid")].Add(1)
			return nil, httpapi.Errorf(http.StatusBadRequest, err.Error())
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		result, err := h(w, r, ps)
		n.metrics.actions[actionIndex(name(body))][outcomeIndex(actionOutcome(result, err))].Add(1)
		return result, err
	}
}

func outcomeIndex(outcome string) int {
	for i, o := range actionOutcomes {
		if o == outcome {
			return i
		}
	}
	return len(actionOutcomes) - 1
}

func actionOutcome(result any, err error) string {
	if err == nil {
		if r, ok := result.(actionResult); ok && r.Message != "" {
			return "partial"
		}
		return "ok"
	}
	var httpErr httpapi.Error
	if !errors.As(err, &httpErr) {
		return "error"
	}
	switch httpErr.Status {
	case http.StatusBadRequest:
		return "invalid"
	case http.StatusUnauthorized, http.StatusForbidden:
		return "denied"
	case http.StatusBadGateway:
		return "failed"
	}
	return "error"
}
