package nsqd

import "reflect"

// The options' values in force, as GET /config/:opt shows them
// (nsqd/httpserver asks through http_daemon.go).

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
