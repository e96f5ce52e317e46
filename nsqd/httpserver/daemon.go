package httpserver

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/nsqd/queue"
)

// Daemon is what the HTTP API needs of nsqd: operations on topics and
// channels by name, with plain values in and JSON-ready values out. nsqd
// implements it in one file (nsqd/http_daemon.go); the handlers here never
// see a Topic or a Channel, so the daemon's types can change without this
// package knowing.
//
// Errors: ErrTopicNotFound and ErrChannelNotFound for a missing object,
// ErrExiting when the topic or the daemon is shutting down, queue.ErrFull
// when a bound refuses a publish, a *queue.FieldError for a refused
// setting; anything else is a failure the handler logs and answers 500.
type Daemon interface {
	// Publishing (/pub, /mpub).

	// CreateTopic gets the topic, creating it if needed.
	CreateTopic(topic string) error
	// Publish puts one message on the existing topic, deferred by delay
	// when it is positive. body is the message's own buffer.
	Publish(topic string, body []byte, delay time.Duration) error
	// PublishBatch puts messages on the existing topic, all or none. The
	// bodies alias one request buffer; the daemon copies them out so that
	// what it keeps holds only message bytes.
	PublishBatch(topic string, bodies [][]byte) error
	// PublishRefused counts a refused HTTP publish by its V1 error message
	// (nsq_publish_errors_total).
	PublishRefused(reason string)

	// Topics and channels (/topic/*, /channel/*).

	TopicExists(topic string) bool
	DeleteTopic(topic string) error
	EmptyTopic(topic string) error
	PauseTopic(topic string, paused bool) error
	// CreateChannel gets the channel of an existing topic, creating it.
	CreateChannel(topic, channel string) error
	// DeleteChannel also closes the connections of its consumers.
	DeleteChannel(topic, channel string) error
	// EmptyChannel drops ready, deferred and in-flight messages.
	EmptyChannel(topic, channel string) error
	PauseChannel(topic, channel string, paused bool) error

	// Queue settings (/topic/config, /channel/config and the create
	// endpoints' parameters).

	TopicConfig(topic string) (TopicConfig, error)
	// ConfigureTopic sets and clears the topic's own settings, persists
	// them and logs the result.
	ConfigureTopic(topic string, set queue.Settings, clear []queue.Field) error
	ChannelConfig(topic, channel string) (ChannelConfig, error)
	ConfigureChannel(topic, channel string, set queue.Settings, clear []queue.Field) error

	// Looking at messages and the dead set (/topic/peek, /channel/peek,
	// /channel/dead/*).

	// PeekChannel copies up to n messages in state; after pages the dead
	// set.
	PeekChannel(topic, channel string, state PeekState, n int, after uint64) ([]PeekedMessage, error)
	// PeekTopic copies up to n of the messages the topic holds.
	PeekTopic(topic string, n int) ([]PeekedMessage, error)
	// RedriveDead moves up to n dead messages back (n 0: all) at rate per
	// second (0: unpaced) until ctx ends; it answers how many moved, also
	// on failure, and how many stay dead.
	RedriveDead(ctx context.Context, topic, channel string, n, rate int) (moved int, deadCount int64, err error)
	EmptyDead(topic, channel string) error

	// The node.

	// Health is upstream's health text: "OK" or "NOK - <error>".
	Health() string
	// Readiness runs /readyz's checks, in order.
	Readiness() []Check
	// Info is /info's answer but for the hostname, which the handler reads.
	Info() Info
	// Stats is /stats?format=json's answer, ready to encode; StatsText is
	// the human-readable /stats.
	Stats(q StatsQuery) any
	StatsText(q StatsQuery) []byte
	// Metrics serves /metrics.
	Metrics() http.Handler
	// ConfigValue is an option's value in force by its config-file key,
	// false for an option /config does not show.
	ConfigValue(opt string) (any, bool)
	// SetLookupdAddresses and SetLogLevel apply the two options PUT
	// /config changes at run time.
	SetLookupdAddresses(addrs []string)
	SetLogLevel(level logging.Level)

	Logf(level logging.Level, format string, args ...any)
}

// The errors a Daemon answers for a missing object or a daemon going away.
var (
	ErrTopicNotFound   = errors.New("topic not found")
	ErrChannelNotFound = errors.New("channel not found")
	ErrExiting         = errors.New("exiting")
)

// StatsQuery is /stats's filter: an empty topic or channel means all.
type StatsQuery struct {
	Topic, Channel string
	Clients        bool // include clients and producers
	Memory         bool // include the runtime's memory statistics
}

// Check is the result of one /readyz check: Err nil when it passed.
type Check struct {
	Name string
	Err  error
}

// Info is the JSON /info document, in upstream's key order.
type Info struct {
	Version              string        `json:"version"`
	BroadcastAddress     string        `json:"broadcast_address"`
	Hostname             string        `json:"hostname"`
	HTTPPort             int           `json:"http_port"`
	TCPPort              int           `json:"tcp_port"`
	StartTime            int64         `json:"start_time"`
	MaxHeartbeatInterval time.Duration `json:"max_heartbeat_interval"`
	MaxOutputBufferSize  int64         `json:"max_output_buffer_size"`
	MaxOutputBufferTime  time.Duration `json:"max_output_buffer_timeout"`
	MaxDeflateLevel      int           `json:"max_deflate_level"`
	TopologyZone         string        `json:"topology_zone,omitempty"` // upstream master
	TopologyRegion       string        `json:"topology_region,omitempty"`
}
