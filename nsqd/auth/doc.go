// Package auth owns one nsqd TCP connection's authorization: the secret
// AUTH gave, the auth server's current answer, its renewal when the TTL
// runs out, and the per-topic cache that makes a producer's PUBs cost a
// map lookup (Session). The refusals it returns carry the V2 protocol's
// error codes; nsqd writes them as fatal errors.
//
// It knows the connection only through the small Conn interface (remote
// address, TLS peer, where stats see the answer), so nsqd imports it and
// never the reverse. The auth server protocol itself (query, answer rules)
// is internal/authclient's.
package auth
