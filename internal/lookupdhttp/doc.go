// Package lookupdhttp owns every query of nsqlookupd's HTTP API made by this
// project: nsqd's channel pre-creation (through lookupclient), the client
// library's producer discovery (nsqclient), the tools (nsq_stat,
// nsq_to_file) and nsqadmin.
//
// It owns three things:
//   - Client: GET /lookup, /topics, /channels and /nodes with the V1 Accept
//     header, bounded reads, the V1 and pre-1.0 answer shapes, optional TLS,
//     and a single retry over HTTPS when a 403 names an https_port (as
//     upstream's HTTP client does for every node it talks to);
//   - AskEach: the one "ask every lookupd at once" fan-out, whose answers
//     come back in the order of the addresses asked;
//   - Errors and Union: how callers read several lookupds' answers together.
//
// Imports point one way: this package uses only the standard library and
// internal/httpapi; lookupclient, nsqclient, nsqadmin and the apps import it.
// Each caller keeps its own policy on failures (log and skip, fail the
// whole operation, or report a partial answer), which is why AskEach
// returns every answer rather than deciding.
package lookupdhttp
