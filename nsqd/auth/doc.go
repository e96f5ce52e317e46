// Package auth owns nsqd's authorization of its clients. For a TCP
// connection (session.go): the secret AUTH gave, the auth server's current
// answer, its renewal when the TTL runs out, and the per-topic cache that
// makes a producer's PUBs cost a map lookup (Session); the refusals it
// returns carry the V2 protocol's error codes, which nsqd writes as fatal
// errors. For the HTTP API (http.go, --http-auth): which endpoints need
// which grant, the bearer secret, and the answers cached per secret and
// peer (HTTPGuard).
//
// It knows a TCP connection only through the small Conn interface (remote
// address, TLS peer, where stats see the answer), and the HTTP API only as
// the http.Handler it guards plus one optional extra admin rule, so nsqd
// imports it and never the reverse. The auth server protocol itself
// (query, answer rules) is internal/authclient's.
package auth
