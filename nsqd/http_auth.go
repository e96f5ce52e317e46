package nsqd

import (
	"github.com/nsqgo/nsq/nsqd/auth"
	"github.com/nsqgo/nsq/nsqd/httpserver"
)

// The HTTP API's tie to authorization: the guard in front of both HTTP
// listeners is nsqd/auth's (auth.HTTPGuard, its http.go), asking the
// daemon's auth servers, with the dead-letter rule of the settings
// endpoints (nsqd/httpserver's object_config.go). newHTTPServer
// (http_daemon.go) puts it in front of the routes.

// --http-auth values (auth.HTTPOff, ...), as options.go and the tests name
// them.
const (
	httpAuthOff     = auth.HTTPOff
	httpAuthPublish = auth.HTTPPublish
	httpAuthAll     = auth.HTTPAll
)

func validateHTTPAuthOptions(opts *Options) error {
	return auth.ValidateHTTPMode(opts.HTTPAuth, len(opts.AuthHTTPAddresses) > 0)
}

// newHTTPAuthorizer is the guard of both HTTP listeners; nil when
// --http-auth is off.
func newHTTPAuthorizer(n *NSQD) *auth.HTTPGuard {
	return auth.NewHTTPGuard(n.auth, n.opts.HTTPAuth,
		func(format string, args ...any) { n.logf(warnLevel, format, args...) },
		httpserver.DeadLetterTopicGranted)
}
