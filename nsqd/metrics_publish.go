package nsqd

import (
	"errors"
	"net/http"
	"sync"

	"github.com/julienschmidt/httprouter"
	"github.com/nsqgo/nsq/internal/httpapi"
)

// maxPublishErrorReasons bounds the reason series: the codes are ours
// (protocol_v2.go, http_pub.go), but a bound keeps a future code from
// growing the exposition without limit. Codes past it count as "other".
const maxPublishErrorReasons = 32

// publishErrorKey is one series of nsq_publish_errors_total.
type publishErrorKey struct {
	protocol string // "tcp" or "http"
	reason   string // the error code the publisher saw
}

// publishErrors counts refused publishes by protocol and error code. It is
// touched only when a publish fails, never on the success path.
type publishErrors struct {
	mu     sync.Mutex
	counts map[publishErrorKey]uint64
}

func (p *publishErrors) add(protocol, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.counts == nil {
		p.counts = map[publishErrorKey]uint64{}
	}
	key := publishErrorKey{protocol, reason}
	if _, ok := p.counts[key]; !ok && len(p.counts) >= maxPublishErrorReasons {
		key.reason = "other"
	}
	p.counts[key]++
}

func (p *publishErrors) snapshot() map[publishErrorKey]uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[publishErrorKey]uint64, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

// countTCPPublish passes a PUB, MPUB or DPUB result through, counting a
// refusal by its error code.
func (s *v2Session) countTCPPublish(response []byte, err error) ([]byte, error) {
	if err != nil {
		reason := "other"
		var perr *protocolError
		if errors.As(err, &perr) {
			reason = publishErrorReason(err, perr.code) // topic_bound.go
		}
		s.n.publishErrors.add("tcp", reason)
	}
	return response, err
}

// countHTTPPublish wraps /pub and /mpub, counting a refusal by the message
// of its V1 error ("MSG_TOO_BIG", "BAD_TOPIC", ...).
func (s *httpServer) countHTTPPublish(h httpapi.Handler) httpapi.Handler {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
		data, err := h(w, r, ps)
		if err != nil {
			reason := "INTERNAL_ERROR"
			var apiErr httpapi.Error
			if errors.As(err, &apiErr) {
				reason = apiErr.Message
			}
			s.nsqd.publishErrors.add("http", reason)
		}
		return data, err
	}
}
