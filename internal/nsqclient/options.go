package nsqclient

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/version"
)

// GoNSQVersion is the go-nsq release whose behaviour and option names this
// package follows. Tools put it in their user agent because upstream's
// tools report "<tool>/1.3.0 go-nsq/1.1.0" and monitoring reads /stats.
const GoNSQVersion = "1.1.0"

// ToolUserAgent is the user agent an upstream-compatible tool sends.
func ToolUserAgent(tool string) string {
	return fmt.Sprintf("%s/%s go-nsq/%s", tool, version.Version, GoNSQVersion)
}

// Backoff strategies (the backoff_strategy option).
const (
	BackoffExponential = "exponential"
	BackoffFullJitter  = "full_jitter"
)

// Options configures Producers and Consumers, like go-nsq's Config: the
// same settings, defaults and ranges, settable by name through Set (what
// --consumer-opt and --producer-opt use). NewOptions gives the defaults;
// a Producer or Consumer copies the Options it is given.
type Options struct {
	DialTimeout  time.Duration // dial_timeout
	ReadTimeout  time.Duration // read_timeout: no frame for this long closes the connection
	WriteTimeout time.Duration // write_timeout: per flush

	// LookupdPollInterval is how often lookupds are asked for producers
	// (plus up to LookupdPollJitter of it once, at start); it is also the
	// longest wait between reconnection attempts to an nsqd.
	LookupdPollInterval time.Duration // lookupd_poll_interval
	LookupdPollJitter   float64       // lookupd_poll_jitter
	LookupdPollTimeout  time.Duration // lookupd_poll_timeout: one /lookup request

	MaxRequeueDelay     time.Duration // max_requeue_delay
	DefaultRequeueDelay time.Duration // default_requeue_delay, multiplied by attempts
	BackoffStrategy     string        // backoff_strategy: exponential or full_jitter
	MaxBackoffDuration  time.Duration // max_backoff_duration; 0 disables backoff
	BackoffMultiplier   time.Duration // backoff_multiplier
	MaxAttempts         uint16        // max_attempts; 0 = unlimited

	LowRdyIdleTimeout       time.Duration // low_rdy_idle_timeout
	LowRdyTimeout           time.Duration // low_rdy_timeout
	RDYRedistributeInterval time.Duration // rdy_redistribute_interval

	ClientID  string // client_id (default: short hostname)
	Hostname  string // hostname
	UserAgent string // user_agent

	HeartbeatInterval time.Duration // heartbeat_interval; -1 disables (producers only)
	SampleRate        int32         // sample_rate

	TLSv1     bool        // tls_v1
	TLSConfig *tls.Config // tls_root_ca_file, tls_insecure_skip_verify, tls_cert, tls_key, tls_min_version

	Deflate      bool // deflate
	DeflateLevel int  // deflate_level
	Snappy       bool // snappy

	OutputBufferSize    int64         // output_buffer_size; -1 disables
	OutputBufferTimeout time.Duration // output_buffer_timeout; -1 disables

	MaxInFlight int           // max_in_flight
	MsgTimeout  time.Duration // msg_timeout; 0 = nsqd's default
	AuthSecret  string        // auth_secret

	// StopTimeout bounds a Consumer's graceful Stop: connections still
	// waiting for in-flight messages after it are closed. (go-nsq fixes
	// it at 30s.)
	StopTimeout time.Duration

	// Logger receives connection and consumer events; nil discards them.
	Logger *logging.Logger

	// Clock is where a Consumer's timers and timestamps come from: RDY
	// redistribution and its idle checks, backoff pauses, lookupd polling,
	// reconnection waits and StopTimeout. nil is the wall clock; a test
	// passes a clock.Fake and advances it. Dial, read and write timeouts
	// are socket deadlines, kept by the kernel on the wall clock. Not
	// settable by name: no go-nsq option has it.
	Clock clock.Clock

	// tls_cert and tls_key file names, kept until both are known.
	tlsCertFile, tlsKeyFile string
}

// NewOptions returns go-nsq 1.1's defaults.
func NewOptions() *Options {
	hostname, err := os.Hostname()
	if err != nil {
		hostname = "unknown"
	}
	shortHost, _, _ := strings.Cut(hostname, ".")
	return &Options{
		DialTimeout:  time.Second,
		ReadTimeout:  60 * time.Second,
		WriteTimeout: time.Second,

		LookupdPollInterval: 60 * time.Second,
		LookupdPollJitter:   0.3,
		LookupdPollTimeout:  time.Minute,

		MaxRequeueDelay:     15 * time.Minute,
		DefaultRequeueDelay: 90 * time.Second,
		BackoffStrategy:     BackoffExponential,
		MaxBackoffDuration:  2 * time.Minute,
		BackoffMultiplier:   time.Second,
		MaxAttempts:         5,

		LowRdyIdleTimeout:       10 * time.Second,
		LowRdyTimeout:           30 * time.Second,
		RDYRedistributeInterval: 5 * time.Second,

		ClientID:  shortHost,
		Hostname:  hostname,
		UserAgent: "nsqclient/" + version.Version,

		HeartbeatInterval: 30 * time.Second,
		DeflateLevel:      6,

		OutputBufferSize:    16384,
		OutputBufferTimeout: 250 * time.Millisecond,

		MaxInFlight: 1,
		StopTimeout: 30 * time.Second,
	}
}

// durationRange is an option's allowed range; max 0 means unbounded.
type durationRange struct {
	name     string
	value    time.Duration
	min, max time.Duration
}

// Validate checks every option against go-nsq's ranges.
func (o *Options) Validate() error {
	for _, r := range []durationRange{
		{"read_timeout", o.ReadTimeout, 100 * time.Millisecond, 5 * time.Minute},
		{"write_timeout", o.WriteTimeout, 100 * time.Millisecond, 5 * time.Minute},
		{"lookupd_poll_interval", o.LookupdPollInterval, 10 * time.Millisecond, 5 * time.Minute},
		{"max_requeue_delay", o.MaxRequeueDelay, 0, 60 * time.Minute},
		{"default_requeue_delay", o.DefaultRequeueDelay, 0, 60 * time.Minute},
		{"max_backoff_duration", o.MaxBackoffDuration, 0, 60 * time.Minute},
		{"backoff_multiplier", o.BackoffMultiplier, 0, 60 * time.Minute},
		{"low_rdy_idle_timeout", o.LowRdyIdleTimeout, time.Second, 5 * time.Minute},
		{"low_rdy_timeout", o.LowRdyTimeout, time.Second, 5 * time.Minute},
		{"rdy_redistribute_interval", o.RDYRedistributeInterval, time.Millisecond, 5 * time.Second},
		{"msg_timeout", o.MsgTimeout, 0, 0},
	} {
		if r.value < r.min {
			return fmt.Errorf("invalid %s ! %v < %v", r.name, r.value, r.min)
		}
		if r.max > 0 && r.value > r.max {
			return fmt.Errorf("invalid %s ! %v > %v", r.name, r.value, r.max)
		}
	}
	switch {
	case o.DialTimeout <= 0:
		return errors.New("invalid dial_timeout ! must be positive")
	case o.LookupdPollTimeout <= 0:
		return errors.New("invalid lookupd_poll_timeout ! must be positive")
	case o.StopTimeout <= 0:
		return errors.New("invalid StopTimeout ! must be positive")
	case o.LookupdPollJitter < 0 || o.LookupdPollJitter > 1:
		return fmt.Errorf("invalid lookupd_poll_jitter ! %v not in [0,1]", o.LookupdPollJitter)
	case o.SampleRate < 0 || o.SampleRate > 99:
		return fmt.Errorf("invalid sample_rate ! %d not in [0,99]", o.SampleRate)
	case o.DeflateLevel < 1 || o.DeflateLevel > 9:
		return fmt.Errorf("invalid deflate_level ! %d not in [1,9]", o.DeflateLevel)
	case o.MaxInFlight < 0:
		return fmt.Errorf("invalid max_in_flight ! %d < 0", o.MaxInFlight)
	case o.Deflate && o.Snappy:
		return errors.New("cannot enable both deflate and snappy compression")
	case o.BackoffStrategy != BackoffExponential && o.BackoffStrategy != BackoffFullJitter:
		return fmt.Errorf("invalid backoff_strategy %q", o.BackoffStrategy)
	case o.HeartbeatInterval > o.ReadTimeout:
		// A heartbeat is what keeps an idle connection's reads alive.
		return fmt.Errorf("heartbeat_interval %v must be less than read_timeout %v", o.HeartbeatInterval, o.ReadTimeout)
	}
	return nil
}

// clone copies o so that later changes by the caller do not reach a
// running Producer or Consumer.
func (o *Options) clone() Options {
	c := *o
	if o.TLSConfig != nil {
		c.TLSConfig = o.TLSConfig.Clone()
	}
	return c
}

// clock is Clock, or the wall clock when none is set.
func (o *Options) clock() clock.Clock {
	if o.Clock == nil {
		return clock.Real()
	}
	return o.Clock
}

func (o *Options) logf(level logging.Level, format string, args ...any) {
	o.Logger.Logf(level, format, args...)
}
