package prometheus

import "sync"

// maxPublishErrorReasons bounds the reason series: the codes are nsqd's
// (its TCP error codes and HTTP error messages), but a bound keeps a future
// code from growing the exposition without limit. Codes past it count as
// "other".
const maxPublishErrorReasons = 32

// PublishError is one series of nsq_publish_errors_total.
type PublishError struct {
	Protocol string // "tcp" or "http"
	Reason   string // the error code the publisher saw
}

// PublishErrors counts refused publishes by protocol and error code. It is
// touched only when a publish fails, never on the success path. The zero
// value is ready to use.
type PublishErrors struct {
	mu     sync.Mutex
	counts map[PublishError]uint64
}

// Add counts one refused publish.
func (p *PublishErrors) Add(protocol, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.counts == nil {
		p.counts = map[PublishError]uint64{}
	}
	key := PublishError{protocol, reason}
	if _, ok := p.counts[key]; !ok && len(p.counts) >= maxPublishErrorReasons {
		key.Reason = "other"
	}
	p.counts[key]++
}

// Snapshot is a copy of the counts, for a scrape.
func (p *PublishErrors) Snapshot() map[PublishError]uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[PublishError]uint64, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}
