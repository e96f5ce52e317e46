package nsqd

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"

	"github.com/julienschmidt/httprouter"
	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/internal/logging"
)

// configGet answers GET /config/<opt> with the option's current value,
// rendered by the V1 rules: strings raw, durations as integer nanoseconds,
// numbers, booleans and lists as JSON.
func (s *httpServer) configGet(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
	value, ok := s.nsqd.configValue(ps.ByName("opt"))
	if !ok {
		return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_OPTION")
	}
	return value, nil
}

// configPut changes one of the two options upstream lets change at run
// time and answers its new value. The body is checked before the name, so
// an empty body is 413 INVALID_VALUE whatever the option, as upstream.
func (s *httpServer) configPut(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
	n := s.nsqd
	opt := ps.ByName("opt")
	readMax := n.opts.MaxMsgSize + 1
	body, err := io.ReadAll(io.LimitReader(r.Body, readMax))
	if err != nil {
		n.logf(errorLevel, "HTTP PUT /config/%s: reading body: %s", opt, err)
		return nil, httpapi.Errorf(http.StatusInternalServerError, "INTERNAL_ERROR")
	}
	if int64(len(body)) == readMax || len(body) == 0 {
		return nil, httpapi.Errorf(http.StatusRequestEntityTooLarge, "INVALID_VALUE")
	}

	switch opt {
	case "nsqlookupd_tcp_addresses":
		var addrs []string
		if err := json.Unmarshal(body, &addrs); err != nil {
			return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_VALUE")
		}
		// Applied live: removed lookupds are disconnected, new ones
		// connected and sent every registration.
		n.SetLookupdAddresses(addrs)
		n.logf(infoLevel, "nsqlookupd TCP addresses set to %q", addrs)
	case "log_level":
		level, err := logging.ParseLevel(string(body))
		if err != nil {
			return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_VALUE")
		}
		n.logger.SetLevel(level)
		n.logf(infoLevel, "log level set to %s", level)
	default:
		return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_OPTION")
	}
	return s.configGet(w, r, ps)
}

// configValue returns an option by its config-file key, as Options
// declares it (options_declared.go). Options without a flag
// (queue_scan_interval, ...) and the unlisted ones are not exposed, as
// upstream. Most answers are the field itself; liveConfigValue has the
// ones whose value in force differs from the field.
func (n *NSQD) configValue(name string) (any, bool) {
	for _, option := range n.opts.Declarations() {
		if option.Unlisted || option.ConfigKey() != name {
			continue
		}
		if value, ok := n.liveConfigValue(name); ok {
			return value, true
		}
		value := reflect.ValueOf(option.Field).Elem()
		if value.Kind() == reflect.Slice && value.IsNil() {
			// [] rather than null when unset, as upstream's lists.
			return reflect.MakeSlice(value.Type(), 0, 0).Interface(), true
		}
		return value.Interface(), true
	}
	return nil, false
}

// liveConfigValue is the /config answer of an option whose value in force
// is not its Options field: what the daemon actually uses, as upstream
// shows.
func (n *NSQD) liveConfigValue(name string) (any, bool) {
	switch name {
	case "log_level":
		// The logger holds the live level; PUT changes it there.
		return int32(n.logger.Level()), true
	case "nsqlookupd_tcp_addresses":
		// PUT changes the set the lookupd client holds.
		return n.lookupdAddresses(), true
	case "tls_required":
		// A client auth policy raises "not required" to 2.
		return int(n.tls.required), true
	case "tls_min_version":
		return uint16(n.opts.TLSMinVersion), true
	case "statsd_prefix":
		// Expanded: %s is the host key.
		return n.statsdPrefix, true
	case "e2e_processing_latency_percentiles":
		// Sorted, and [] when latency is not tracked.
		return n.e2e.Percentiles(), true
	}
	return nil, false
}

// lookupdAddresses is the live nsqlookupd set; never nil, so /config
// renders [] rather than null, as upstream's default does.
func (n *NSQD) lookupdAddresses() []string {
	addrs := n.LookupdAddresses()
	if addrs == nil {
		addrs = []string{}
	}
	return addrs
}
