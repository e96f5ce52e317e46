// Package httpapi owns the HTTP conventions nsqd and nsqlookupd share with
// upstream NSQ 1.x (the "V1" response format): the X-NSQ-Content-Type header,
// raw strings versus JSON bodies, {"message":"..."} errors, and a router whose
// 404, 405 and panic answers take the same shape.
//
// It must never import a daemon: nsqd and nsqlookupd import it.
package httpapi
