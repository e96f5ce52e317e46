// Package httpserver owns nsqd's HTTP API: upstream 1.3's route table and
// ours beside it, each endpoint's parameters, checks, error tokens and
// answers, and one listener's http.Server (timeouts, shutdown, the
// --tls-required refusal, the --http-auth guard in front of the routes).
//
//	server.go        Server: New, Serve, Close; Config (the options it keeps)
//	daemon.go        Daemon, the operations the handlers ask of nsqd, and the
//	                 values they exchange (Info, StatsQuery, Check)
//	routes.go        the route table, and the refused-publish count
//	params.go        the shared query parsing and the V1 error answers
//	pub.go           /pub and /mpub: bounded body reads; mpub_body.go parses
//	                 a /mpub body (text or binary)
//	admin.go         /topic/* and /channel/*: create, delete, empty, pause
//	object_config.go /topic/config, /channel/config and the create
//	                 endpoints' settings parameters (ours)
//	peek.go, dead.go /channel/peek, /topic/peek, /channel/dead/* (ours)
//	info.go          /ping and /info; stats.go /stats; config.go /config/:opt
//	probes.go        /healthz and /readyz (ours); debug.go /debug/*
//	tls_required.go  the plain listener's 403 TLS_REQUIRED
//
// It knows the daemon only through Daemon: topics and channels by name,
// plain values in, JSON-ready values out (nsqd implements it in
// nsqd/http_daemon.go and builds a Server per listener). It must never
// import nsqd, which imports it; it uses the V1 response conventions of
// internal/httpapi, the names of internal/protocol, and the queue settings
// and errors of nsqd/queue. /stats and /metrics are the daemon's to
// render: Stats answers a value ready to encode and Metrics an
// http.Handler, so the stats and metrics types never reach this package.
package httpserver
