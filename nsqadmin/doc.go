// Package nsqadmin is the web UI's server: upstream nsqadmin 1.3's JSON API
// under {base-path}/api/ (topics, channels, nodes, counter, graphite and the
// administrative actions), aggregated from every nsqd's /stats and every
// nsqlookupd's registry, plus what upstream lacks: an in-memory history of
// depths and rates so graphs need no Graphite (/api/history), access
// control through the auth server nsqd uses (/api/auth), and a cross-site
// check on every action. Every other GET under the base path is the
// single-page app of package ui.
//
// It has the shape of nsqd and nsqlookupd: New binds the listener (port 0
// works; RealHTTPAddr says where), Main serves, Exit stops everything it
// started.
//
// # Goroutines
//
// NSQAdmin owns three: the HTTP server, the notification sender
// (--notification-http-endpoint) and the history poller. Exit stops all
// three and waits for them.
package nsqadmin
