// Package authclient owns the client side of the auth server protocol that
// nsqd's --auth-http-address and nsqadmin's auth servers speak: the query
// (GET /auth with remote_ip, tls, secret and common_name, or the same
// fields as JSON by POST), trying every configured server from a random
// one, and the answer's validation into a State whose regexps are compiled
// once (state.go) with the permission rules nsqd's commands apply.
//
// It keeps no per-connection or per-secret state: nsqd/auth holds a TCP
// connection's answer, nsqd's HTTP API and nsqadmin cache answers their
// own way. It imports nothing of this module.
package authclient
