package nsqadmin

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"reflect"

	"github.com/julienschmidt/httprouter"

	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/internal/logging"
)

// maxConfigBody is upstream's limit on a PUT /config body.
const maxConfigBody = 1024 * 1024

// configHandler is upstream's GET and PUT /config/:opt, allowed only from
// --allow-config-from-cidr. PUT changes nsqlookupd_http_addresses (a JSON
// list) or log_level at run time; GET reads any option by its config-file
// name.
func (n *NSQAdmin) configHandler(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
	opt := ps.ByName("opt")
	if cidr := n.getOpts().AllowConfigFromCIDR; cidr != "" {
		_, ipnet, _ := net.ParseCIDR(cidr) // validated by New
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_REMOTE_ADDR")
		}
		ip := net.ParseIP(host)
		if ip == nil {
			return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_REMOTE_ADDR")
		}
		if !ipnet.Contains(ip) {
			return nil, httpapi.Errorf(http.StatusForbidden, "FORBIDDEN")
		}
	}
	if r.Method == http.MethodPut {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxConfigBody+1))
		if err != nil {
			return nil, httpapi.Errorf(http.StatusInternalServerError, "INTERNAL_ERROR")
		}
		if len(body) > maxConfigBody || len(body) == 0 {
			return nil, httpapi.Errorf(http.StatusRequestEntityTooLarge, "INVALID_VALUE")
		}
		opts := n.getOpts().clone()
		switch opt {
		case "nsqlookupd_http_addresses":
			var addrs []string
			if err := json.Unmarshal(body, &addrs); err != nil {
				return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_VALUE")
			}
			opts.NSQLookupdHTTPAddresses = addrs
		case "log_level":
			level, err := logging.ParseLevel(string(body))
			if err != nil {
				return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_VALUE")
			}
			opts.LogLevel = level
			n.logger.SetLevel(level)
		default:
			return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_OPTION")
		}
		n.opts.Store(opts)
	}
	value, ok := optionByConfigName(n.getOpts(), opt)
	if !ok {
		return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_OPTION")
	}
	return value, nil
}

// optionByConfigName is an option's value by its config-file key, as
// Options declares it (options_declared.go).
func optionByConfigName(o *Options, name string) (any, bool) {
	for _, option := range o.Declarations() {
		if !option.Unlisted && option.ConfigKey() == name {
			return reflect.ValueOf(option.Field).Elem().Interface(), true
		}
	}
	return nil, false
}
