package nsqd

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/nsqd/httpserver"
	"github.com/nsqgo/nsq/nsqd/queue"
	"github.com/nsqgo/nsq/nsqd/stats"
)

// The HTTP API's tie to the daemon: nsqd/httpserver serves the routes and
// asks for what it needs through httpserver.Daemon, which httpDaemon
// implements here over *NSQD. Names come in, JSON-ready values go out;
// the daemon's own errors are translated to the package's (httpError).

// newHTTPServer builds the API for one listener; with requireTLS (the
// plain listener under --tls-required=true) every request is refused with
// 403 TLS_REQUIRED.
func newHTTPServer(n *NSQD, requireTLS bool) *httpserver.Server {
	cfg := httpserver.Config{
		RequireTLS:    requireTLS,
		HTTPSPort:     n.httpsPort,
		ClientTimeout: n.opts.ClientTimeout,
		MaxMsgSize:    n.opts.MaxMsgSize,
		MaxBodySize:   n.opts.MaxBodySize,
		MaxReqTimeout: n.opts.MaxReqTimeout,
	}
	if n.httpAuth != nil {
		cfg.Guard = n.httpAuth.Wrap
	}
	return httpserver.New(httpDaemon{n}, cfg)
}

// httpsPort is the port TLS_REQUIRED names: upstream reports 0 when HTTPS
// is not listening.
func (n *NSQD) httpsPort() int {
	if n.httpsListener == nil {
		return 0
	}
	return listenerPort(n.httpsListener)
}

// listenerPort is the bound port, or -1 as upstream reports for a unix
// socket (or a listener that is not open).
func listenerPort(l net.Listener) int {
	if l == nil {
		return -1
	}
	if addr, ok := l.Addr().(*net.TCPAddr); ok {
		return addr.Port
	}
	return -1
}

// httpDaemon is nsqd's side of httpserver.Daemon.
type httpDaemon struct{ nsqd *NSQD }

var _ httpserver.Daemon = httpDaemon{}

// httpError translates the daemon's errors into httpserver's; others pass
// unchanged (queue.ErrFull and *queue.FieldError are shared already).
func httpError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errTopicNotFound):
		return translatedError{err, httpserver.ErrTopicNotFound}
	case errors.Is(err, errChannelNotFound):
		return translatedError{err, httpserver.ErrChannelNotFound}
	case errors.Is(err, errExiting):
		return translatedError{err, httpserver.ErrExiting}
	}
	return err
}

// translatedError is a daemon error that is also one of httpserver's,
// keeping its own text for the log.
type translatedError struct{ err, is error }

func (e translatedError) Error() string        { return e.err.Error() }
func (e translatedError) Unwrap() error        { return e.err }
func (e translatedError) Is(target error) bool { return target == e.is }

func (d httpDaemon) topic(name string) (*Topic, error) {
	t, err := d.nsqd.GetExistingTopic(name)
	if err != nil {
		return nil, httpserver.ErrTopicNotFound
	}
	return t, nil
}

func (d httpDaemon) channel(topic, channel string) (*Topic, *Channel, error) {
	t, err := d.topic(topic)
	if err != nil {
		return nil, nil, err
	}
	c, err := t.GetExistingChannel(channel)
	if err != nil {
		return nil, nil, httpserver.ErrChannelNotFound
	}
	return t, c, nil
}

func (d httpDaemon) CreateTopic(topic string) error {
	_, err := d.nsqd.GetTopic(topic)
	return httpError(err)
}

// Publish and PublishBatch put on the topic the handler created; one
// deleted since answers ErrExiting, as a put on the deleted topic did.
func (d httpDaemon) Publish(topic string, body []byte, delay time.Duration) error {
	t, err := d.nsqd.GetExistingTopic(topic)
	if err != nil {
		return httpserver.ErrExiting
	}
	msgs := []Message{{Body: body}}
	if delay > 0 {
		return httpError(t.PutDeferred(msgs, delay))
	}
	return httpError(t.PutMessages(msgs))
}

func (d httpDaemon) PublishBatch(topic string, bodies [][]byte) error {
	t, err := d.nsqd.GetExistingTopic(topic)
	if err != nil {
		return httpserver.ErrExiting
	}
	msgs := make([]Message, len(bodies))
	for i, body := range bodies {
		msgs[i].Body = body
	}
	// The bodies alias the request buffer; copied out, they keep alive
	// only their own bytes (body_alloc.go).
	repackBodies(msgs)
	return httpError(t.PutMessages(msgs))
}

func (d httpDaemon) PublishRefused(reason string) { d.nsqd.publishErrors.add("http", reason) }

func (d httpDaemon) TopicExists(topic string) bool {
	_, err := d.nsqd.GetExistingTopic(topic)
	return err == nil
}

func (d httpDaemon) DeleteTopic(topic string) error {
	return httpError(d.nsqd.DeleteExistingTopic(topic))
}

func (d httpDaemon) EmptyTopic(topic string) error {
	t, err := d.topic(topic)
	if err != nil {
		return err
	}
	return httpError(t.Empty())
}

// PauseTopic changes the state; the topic persists the metadata itself so
// that a crash cannot silently undo the change.
func (d httpDaemon) PauseTopic(topic string, paused bool) error {
	t, err := d.topic(topic)
	if err != nil {
		return err
	}
	if paused {
		t.Pause()
	} else {
		t.Unpause()
	}
	return nil
}

func (d httpDaemon) CreateChannel(topic, channel string) error {
	t, err := d.topic(topic)
	if err != nil {
		return err
	}
	if _, err := t.GetChannel(channel); err != nil {
		if errors.Is(err, errExiting) {
			// The topic was deleted between the lookup and now.
			return httpserver.ErrTopicNotFound
		}
		return err
	}
	return nil
}

func (d httpDaemon) DeleteChannel(topic, channel string) error {
	t, err := d.topic(topic)
	if err != nil {
		return err
	}
	return httpError(t.DeleteExistingChannel(channel))
}

func (d httpDaemon) EmptyChannel(topic, channel string) error {
	_, c, err := d.channel(topic, channel)
	if err != nil {
		return err
	}
	return httpError(c.Empty())
}

func (d httpDaemon) PauseChannel(topic, channel string, paused bool) error {
	_, c, err := d.channel(topic, channel)
	if err != nil {
		return err
	}
	if paused {
		c.Pause()
	} else {
		c.Unpause()
	}
	return nil
}

func (d httpDaemon) TopicConfig(topic string) (httpserver.TopicConfig, error) {
	t, err := d.topic(topic)
	if err != nil {
		return httpserver.TopicConfig{}, err
	}
	e := t.effectivePolicy()
	return httpserver.TopicConfig{
		Topic: t.name, MsgTTL: e.MsgTTL.Milliseconds(), MaxDepth: e.MaxDepth, MaxBytes: e.MaxBytes, Overflow: e.Overflow,
		Source: httpserver.TopicSources{MsgTTL: e.Sources.MsgTTL, MaxDepth: e.Sources.MaxDepth, MaxBytes: e.Sources.MaxBytes, Overflow: e.Sources.Overflow},
	}, nil
}

func (d httpDaemon) ConfigureTopic(topic string, set queue.Settings, clear []queue.Field) error {
	t, err := d.topic(topic)
	if err != nil {
		return err
	}
	if err := t.updateSettings(set, clear); err != nil {
		return err
	}
	d.nsqd.logf(infoLevel, "TOPIC(%s): settings now %s", t.name, settingsText(t.settings()))
	d.nsqd.metadataChanged()
	return nil
}

func (d httpDaemon) ChannelConfig(topic, channel string) (httpserver.ChannelConfig, error) {
	_, c, err := d.channel(topic, channel)
	if err != nil {
		return httpserver.ChannelConfig{}, err
	}
	e := c.effectivePolicy()
	return httpserver.ChannelConfig{
		Topic: c.topicName, Channel: c.name,
		MaxAttempts: e.MaxAttempts, MsgTTL: e.MsgTTL.Milliseconds(), MaxDepth: e.MaxDepth, MaxBytes: e.MaxBytes,
		Overflow: e.Overflow, DeadLetterTopic: e.DeadLetterTopic, MaxDeadDepth: e.MaxDeadDepth,
		Source: httpserver.ChannelSources{
			MaxAttempts: e.Sources.MaxAttempts, MsgTTL: e.Sources.MsgTTL, MaxDepth: e.Sources.MaxDepth,
			MaxBytes: e.Sources.MaxBytes, Overflow: e.Sources.Overflow, DeadLetterTopic: e.Sources.DeadLetterTopic,
			MaxDeadDepth: e.Sources.MaxDeadDepth,
		},
	}, nil
}

func (d httpDaemon) ConfigureChannel(topic, channel string, set queue.Settings, clear []queue.Field) error {
	t, c, err := d.channel(topic, channel)
	if err != nil {
		return err
	}
	if err := c.updateSettings(t, set, clear); err != nil {
		return err
	}
	d.nsqd.logf(infoLevel, "TOPIC(%s): channel(%s) settings now %s", t.name, c.name, settingsText(c.settings()))
	d.nsqd.metadataChanged()
	return nil
}

// settingsText renders settings for the log, as nsqd.dat has them.
func settingsText(s queue.Settings) string {
	data, err := s.MarshalJSON()
	if err != nil {
		return err.Error()
	}
	return string(data)
}

func peekedMessage(m *Message) httpserver.PeekedMessage {
	return httpserver.PeekedMessage{ID: string(m.ID[:]), Timestamp: m.Timestamp, Attempts: m.Attempts, DeliverAt: m.DeliverAt, Body: m.Body}
}

func (d httpDaemon) PeekChannel(topic, channel string, state httpserver.PeekState, n int, after uint64) ([]httpserver.PeekedMessage, error) {
	_, c, err := d.channel(topic, channel)
	if err != nil {
		return nil, err
	}
	var out []httpserver.PeekedMessage
	switch state {
	case httpserver.PeekReady, httpserver.PeekDeferred:
		var msgs []Message
		if state == httpserver.PeekReady {
			msgs, err = c.peekReady(n)
		} else {
			msgs = c.peekDeferred(n)
		}
		for i := range msgs {
			out = append(out, peekedMessage(&msgs[i]))
		}
	case httpserver.PeekInFlight:
		for _, m := range c.peekInFlight(n) {
			j := peekedMessage(&m.Message)
			j.TimeoutAt, j.ClientID = m.TimeoutAt, m.ClientID
			out = append(out, j)
		}
	case httpserver.PeekDead:
		var dead []queue.DeadMessage
		dead, err = c.peekDead(after, n)
		for _, m := range dead {
			out = append(out, httpserver.PeekedMessage{
				ID: string(m.ID[:]), Timestamp: m.Timestamp, Attempts: m.Attempts,
				Seq: m.Seq, Reason: m.Reason.String(), DiedAt: m.DiedAt, Body: m.Body,
			})
		}
	}
	return out, err
}

func (d httpDaemon) PeekTopic(topic string, n int) ([]httpserver.PeekedMessage, error) {
	t, err := d.topic(topic)
	if err != nil {
		return nil, err
	}
	msgs, err := t.peekHeld(n)
	if err != nil {
		return nil, err
	}
	out := make([]httpserver.PeekedMessage, 0, len(msgs))
	for i := range msgs {
		out = append(out, peekedMessage(&msgs[i]))
	}
	return out, nil
}

// RedriveDead and EmptyDead treat an ephemeral channel, which keeps no
// dead set, as one with an empty dead set.
func (d httpDaemon) RedriveDead(ctx context.Context, topic, channel string, n, rate int) (int, int64, error) {
	_, c, err := d.channel(topic, channel)
	if err != nil {
		return 0, 0, err
	}
	moved, err := c.redrive(ctx, n, rate)
	if err != nil && !errors.Is(err, errNoDeadSet) {
		return moved, 0, err
	}
	return moved, c.deadDepth(), nil
}

func (d httpDaemon) EmptyDead(topic, channel string) error {
	_, c, err := d.channel(topic, channel)
	if err != nil {
		return err
	}
	if _, err := c.emptyDead(); err != nil && !errors.Is(err, errNoDeadSet) {
		return err
	}
	return nil
}

func (d httpDaemon) Health() string { return d.nsqd.healthString() }

func (d httpDaemon) Readiness() []httpserver.Check {
	checks := make([]httpserver.Check, len(readinessChecks))
	for i, check := range readinessChecks {
		checks[i] = httpserver.Check{Name: check.name, Err: check.run(d.nsqd)}
	}
	return checks
}

func (d httpDaemon) Info() httpserver.Info {
	n := d.nsqd
	return httpserver.Info{
		Version:              Version,
		BroadcastAddress:     n.opts.BroadcastAddress,
		HTTPPort:             listenerPort(n.httpListener),
		TCPPort:              listenerPort(n.tcpListener),
		StartTime:            n.startTime.Unix(),
		MaxHeartbeatInterval: n.opts.MaxHeartbeatInterval,
		MaxOutputBufferSize:  n.opts.MaxOutputBufferSize,
		MaxOutputBufferTime:  n.opts.MaxOutputBufferTimeout,
		MaxDeflateLevel:      n.opts.MaxDeflateLevel,
		TopologyZone:         n.opts.TopologyZone,
		TopologyRegion:       n.opts.TopologyRegion,
	}
}

// statsResponse is the JSON /stats document in upstream's key order.
type statsResponse = stats.Document

// statsSnapshot reads what /stats shows, health first, as upstream.
func (d httpDaemon) statsSnapshot(q httpserver.StatsQuery) (string, Stats, *MemStats) {
	health := d.nsqd.healthString()
	stats := d.nsqd.GetStats(q.Topic, q.Channel, q.Clients)
	var mem *MemStats
	if q.Memory {
		m := readMemStats()
		mem = &m
	}
	return health, stats, mem
}

func (d httpDaemon) Stats(q httpserver.StatsQuery) any {
	health, stats, mem := d.statsSnapshot(q)
	return statsResponse{
		Version:   Version,
		Health:    health,
		StartTime: d.nsqd.startTime.Unix(),
		Topics:    stats.Topics,
		Memory:    mem,
		Producers: stats.Producers,
	}
}

func (d httpDaemon) StatsText(q httpserver.StatsQuery) []byte {
	health, stats, mem := d.statsSnapshot(q)
	return statsText(stats, mem, health, d.nsqd.startTime, time.Now())
}

func (d httpDaemon) Metrics() http.Handler { return d.nsqd.metrics.handler }

func (d httpDaemon) ConfigValue(opt string) (any, bool) { return d.nsqd.configValue(opt) }

func (d httpDaemon) SetLookupdAddresses(addrs []string) { d.nsqd.SetLookupdAddresses(addrs) }

func (d httpDaemon) SetLogLevel(level logging.Level) { d.nsqd.logger.SetLevel(level) }

func (d httpDaemon) Logf(level logging.Level, format string, args ...any) {
	d.nsqd.logf(level, format, args...)
}
