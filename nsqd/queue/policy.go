package queue

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
)

// A Policy is what a queue enforces beyond upstream NSQ (issue 12): an
// attempts limit, an age limit and a bound, and where messages that hit
// them go. Its zero value turns every rule off, which is upstream's
// behaviour; each rule is off again when its field is zero.
//
// Policy is data only. The daemon resolves one per topic and per channel
// from its flags (Defaults) and the object's own settings (Settings), and
// the queue consults it; nothing here reads a clock or takes a lock.
type Policy struct {
	// MaxAttempts is the most deliveries a message gets; a timeout or REQ
	// that would give it one more sends it to the dead set. 0: unlimited.
	MaxAttempts uint16
	// MsgTTL is how long after its publish timestamp a message may still
	// be delivered. 0: forever.
	MsgTTL time.Duration
	// MaxDepth and MaxBytes bound the queue (memory and disk together), in
	// messages and body bytes. 0: unbounded.
	MaxDepth int64
	MaxBytes int64
	// Overflow is what a bounded queue does when it is full.
	Overflow Overflow
	// DeadLetterTopic, when set on a channel, receives the channel's dead
	// messages (published to this nsqd) instead of its dead set.
	DeadLetterTopic string
	// MaxDeadDepth bounds a channel's dead set; beyond it the oldest dead
	// message is dropped and counted. 0: unbounded.
	MaxDeadDepth int64
}

// Bounded reports whether the queue has a depth or byte bound.
func (p Policy) Bounded() bool { return p.MaxDepth > 0 || p.MaxBytes > 0 }

// Enforces reports whether any rule is on (attempts limit, TTL or bound):
// when it is false the queue behaves as upstream's and may skip every
// check. MaxDeadDepth and DeadLetterTopic alone enforce nothing; they say
// where messages go once a rule sends them away.
func (p Policy) Enforces() bool { return p.MaxAttempts > 0 || p.MsgTTL > 0 || p.Bounded() }

// Overflow says what a full queue does with a new message.
type Overflow uint8

const (
	// OverflowRejectNew refuses the publish (TCP E_PUB_FAILED, HTTP 503);
	// the zero value, so that a bound never loses a message by default.
	OverflowRejectNew Overflow = iota
	// OverflowDropOldest moves the oldest message out (reason "overflow")
	// and accepts the new one.
	OverflowDropOldest
)

// Overflow names, as flags, HTTP and nsqd.dat spell them.
const (
	overflowRejectNewName  = "reject-new"
	overflowDropOldestName = "drop-oldest"
)

func (o Overflow) String() string {
	switch o {
	case OverflowRejectNew:
		return overflowRejectNewName
	case OverflowDropOldest:
		return overflowDropOldestName
	}
	return fmt.Sprintf("overflow(%d)", uint8(o))
}

// ParseOverflow reads "reject-new" or "drop-oldest".
func ParseOverflow(s string) (Overflow, error) {
	switch s {
	case overflowRejectNewName:
		return OverflowRejectNew, nil
	case overflowDropOldestName:
		return OverflowDropOldest, nil
	}
	return 0, fmt.Errorf("overflow must be %s or %s (got %q)", overflowRejectNewName, overflowDropOldestName, s)
}

// MarshalText writes the name, so JSON shows "reject-new", not 0.
func (o Overflow) MarshalText() ([]byte, error) {
	if o > OverflowDropOldest {
		return nil, fmt.Errorf("unknown %s", o)
	}
	return []byte(o.String()), nil
}

// UnmarshalText reads the name.
func (o *Overflow) UnmarshalText(text []byte) error {
	parsed, err := ParseOverflow(string(text))
	if err != nil {
		return err
	}
	*o = parsed
	return nil
}

// Defaults are the daemon-wide values, from nsqd's flags: what a channel
// gets unless it or its topic says otherwise. The depth and byte bounds are
// channels' only (--max-channel-depth, --max-channel-bytes): a topic is
// bounded only by its own settings.
type Defaults struct {
	MaxAttempts     uint16
	MsgTTL          time.Duration
	MaxChannelDepth int64
	MaxChannelBytes int64
	Overflow        Overflow
	MaxDeadDepth    int64
}

// Validate checks the flag values, naming the flag at fault.
func (d Defaults) Validate() error {
	switch {
	case d.MsgTTL < 0:
		return fmt.Errorf("--msg-ttl must not be negative (got %s)", d.MsgTTL)
	case d.MsgTTL%time.Millisecond != 0:
		return fmt.Errorf("--msg-ttl must be a whole number of milliseconds (got %s)", d.MsgTTL)
	case d.MaxChannelDepth < 0:
		return fmt.Errorf("--max-channel-depth must not be negative (got %d)", d.MaxChannelDepth)
	case d.MaxChannelBytes < 0:
		return fmt.Errorf("--max-channel-bytes must not be negative (got %d)", d.MaxChannelBytes)
	case d.MaxDeadDepth < 0:
		return fmt.Errorf("--max-dead-depth must not be negative (got %d)", d.MaxDeadDepth)
	case d.Overflow > OverflowDropOldest:
		return fmt.Errorf("--overflow: unknown %s", d.Overflow)
	}
	return nil
}

// Field names one setting: its HTTP parameter and nsqd.dat key.
type Field uint8

const (
	FieldMaxAttempts Field = iota
	FieldMsgTTL
	FieldMaxDepth
	FieldMaxBytes
	FieldOverflow
	FieldDeadLetterTopic
	fieldCount
)

var fieldNames = [fieldCount]string{"max_attempts", "msg_ttl", "max_depth", "max_bytes", "overflow", "dead_letter_topic"}

// Name is the parameter name, e.g. "max_attempts".
func (f Field) Name() string {
	if f < fieldCount {
		return fieldNames[f]
	}
	return fmt.Sprintf("field(%d)", uint8(f))
}

// Fields lists every per-object setting, in parameter order.
func Fields() []Field {
	fields := make([]Field, fieldCount)
	for i := range fields {
		fields[i] = Field(i)
	}
	return fields
}

// TopicFields are the settings a topic takes: attempts and dead letters
// concern deliveries, which only channels make.
func TopicFields() []Field {
	return []Field{FieldMsgTTL, FieldMaxDepth, FieldMaxBytes, FieldOverflow}
}

// Settings are one topic's or channel's own values; a nil field is not
// set there and comes from further up (the topic, then the defaults).
// A set zero is a value like any other: max_attempts=0 on a channel makes
// its attempts unlimited whatever --max-attempts says.
type Settings struct {
	MaxAttempts     *uint16
	MsgTTL          *time.Duration
	MaxDepth        *int64
	MaxBytes        *int64
	Overflow        *Overflow
	DeadLetterTopic *string
}

// IsZero reports whether nothing is set.
func (s Settings) IsZero() bool { return s == Settings{} }

// Has reports whether f is set.
func (s Settings) Has(f Field) bool {
	switch f {
	case FieldMaxAttempts:
		return s.MaxAttempts != nil
	case FieldMsgTTL:
		return s.MsgTTL != nil
	case FieldMaxDepth:
		return s.MaxDepth != nil
	case FieldMaxBytes:
		return s.MaxBytes != nil
	case FieldOverflow:
		return s.Overflow != nil
	case FieldDeadLetterTopic:
		return s.DeadLetterTopic != nil
	}
	return false
}

// Without returns s with the fields unset (back to the inherited value).
func (s Settings) Without(fields ...Field) Settings {
	for _, f := range fields {
		switch f {
		case FieldMaxAttempts:
			s.MaxAttempts = nil
		case FieldMsgTTL:
			s.MsgTTL = nil
		case FieldMaxDepth:
			s.MaxDepth = nil
		case FieldMaxBytes:
			s.MaxBytes = nil
		case FieldOverflow:
			s.Overflow = nil
		case FieldDeadLetterTopic:
			s.DeadLetterTopic = nil
		}
	}
	return s
}

// With returns s with every field that update sets replaced by update's.
func (s Settings) With(update Settings) Settings {
	if update.MaxAttempts != nil {
		s.MaxAttempts = update.MaxAttempts
	}
	if update.MsgTTL != nil {
		s.MsgTTL = update.MsgTTL
	}
	if update.MaxDepth != nil {
		s.MaxDepth = update.MaxDepth
	}
	if update.MaxBytes != nil {
		s.MaxBytes = update.MaxBytes
	}
	if update.Overflow != nil {
		s.Overflow = update.Overflow
	}
	if update.DeadLetterTopic != nil {
		s.DeadLetterTopic = update.DeadLetterTopic
	}
	return s
}

// FieldError is a setting with a bad value, or one the object does not
// take; the HTTP API answers it as INVALID_ARG_<FIELD>.
type FieldError struct {
	Field Field
	Err   error
}

func (e *FieldError) Error() string { return e.Field.Name() + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(f Field, format string, args ...any) error {
	return &FieldError{Field: f, Err: fmt.Errorf(format, args...)}
}

// ValidateTopic checks the settings of topic name: a topic takes no
// attempts limit and no dead-letter topic.
func (s Settings) ValidateTopic() error {
	for _, f := range []Field{FieldMaxAttempts, FieldDeadLetterTopic} {
		if s.Has(f) {
			return fieldErr(f, "applies to channels only")
		}
	}
	return s.validateValues()
}

// ValidateChannel checks the settings of a channel of topic: its dead
// letters may not go to its own topic, which would deliver them back to
// it (and to every sibling channel) for ever.
func (s Settings) ValidateChannel(topic string) error {
	if err := s.validateValues(); err != nil {
		return err
	}
	if s.DeadLetterTopic != nil {
		switch dlt := *s.DeadLetterTopic; {
		case dlt == "":
		case !protocol.ValidName(dlt):
			return fieldErr(FieldDeadLetterTopic, "invalid topic name %q", dlt)
		case dlt == topic:
			return fieldErr(FieldDeadLetterTopic, "must not be the channel's own topic %q", topic)
		}
	}
	return nil
}

func (s Settings) validateValues() error {
	switch {
	case s.MsgTTL != nil && *s.MsgTTL < 0:
		return fieldErr(FieldMsgTTL, "must not be negative")
	case s.MsgTTL != nil && *s.MsgTTL%time.Millisecond != 0:
		return fieldErr(FieldMsgTTL, "must be a whole number of milliseconds")
	case s.MaxDepth != nil && *s.MaxDepth < 0:
		return fieldErr(FieldMaxDepth, "must not be negative")
	case s.MaxBytes != nil && *s.MaxBytes < 0:
		return fieldErr(FieldMaxBytes, "must not be negative")
	case s.Overflow != nil && *s.Overflow > OverflowDropOldest:
		return fieldErr(FieldOverflow, "unknown %s", *s.Overflow)
	}
	return nil
}

// ParseParams reads settings from HTTP query parameters: get returns a
// parameter's first value and whether it was given. A parameter given
// empty ("max_depth=") clears the object's own value, so it inherits
// again; it is reported in clear. Only the fields listed are read.
//
// Numbers are decimal; msg_ttl is milliseconds, or a Go duration ("90s",
// "1h"); overflow is reject-new or drop-oldest; dead_letter_topic is a
// topic name ("" after clearing means: use the channel's dead set).
func ParseParams(fields []Field, get func(name string) (string, bool)) (set Settings, clear []Field, err error) {
	for _, f := range fields {
		raw, ok := get(f.Name())
		if !ok {
			continue
		}
		if raw == "" {
			clear = append(clear, f)
			continue
		}
		if err := set.parseField(f, raw); err != nil {
			return Settings{}, nil, err
		}
	}
	return set, clear, nil
}

func (s *Settings) parseField(f Field, raw string) error {
	switch f {
	case FieldMaxAttempts:
		v, err := strconv.ParseUint(raw, 10, 16)
		if err != nil {
			return fieldErr(f, "must be an integer in [0,65535] (got %q)", raw)
		}
		attempts := uint16(v)
		s.MaxAttempts = &attempts
	case FieldMsgTTL:
		ttl, err := parseTTL(raw)
		if err != nil {
			return &FieldError{Field: f, Err: err}
		}
		s.MsgTTL = &ttl
	case FieldMaxDepth, FieldMaxBytes:
		v, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || v < 0 {
			return fieldErr(f, "must be a non-negative integer (got %q)", raw)
		}
		if f == FieldMaxDepth {
			s.MaxDepth = &v
		} else {
			s.MaxBytes = &v
		}
	case FieldOverflow:
		o, err := ParseOverflow(raw)
		if err != nil {
			return &FieldError{Field: f, Err: err}
		}
		s.Overflow = &o
	case FieldDeadLetterTopic:
		if !protocol.ValidName(raw) {
			return fieldErr(f, "invalid topic name %q", raw)
		}
		s.DeadLetterTopic = &raw
	default:
		return fieldErr(f, "unknown setting")
	}
	return nil
}

// maxTTLMillis keeps a TTL in milliseconds convertible to nanoseconds.
const maxTTLMillis = math.MaxInt64 / int64(time.Millisecond)

// parseTTL reads whole milliseconds (as upstream's defer= and
// msg_timeout are given) or a Go duration.
func parseTTL(raw string) (time.Duration, error) {
	if ms, err := strconv.ParseInt(raw, 10, 64); err == nil {
		if ms < 0 || ms > maxTTLMillis {
			return 0, fmt.Errorf("must be 0 or a positive number of milliseconds (got %q)", raw)
		}
		return time.Duration(ms) * time.Millisecond, nil
	}
	// Durations carry a unit; a bare number that did not parse above
	// (too long, a fraction) is refused rather than read as seconds.
	if !strings.ContainsAny(raw, "hmsuµn") {
		return 0, fmt.Errorf("must be milliseconds or a duration such as 90s (got %q)", raw)
	}
	// Whole milliseconds, as nsqd.dat keeps it: what is in force is what
	// comes back after a restart.
	d, err := time.ParseDuration(raw)
	if err != nil || d < 0 || d%time.Millisecond != 0 {
		return 0, fmt.Errorf("must be a non-negative duration in whole milliseconds (got %q)", raw)
	}
	return d, nil
}

// settingsJSON is Settings as nsqd.dat and the HTTP API write it: msg_ttl
// in milliseconds, as the msg_ttl parameter takes it, so what GET shows can
// be posted back.
type settingsJSON struct {
	MaxAttempts     *uint16   `json:"max_attempts,omitempty"`
	MsgTTL          *int64    `json:"msg_ttl,omitempty"`
	MaxDepth        *int64    `json:"max_depth,omitempty"`
	MaxBytes        *int64    `json:"max_bytes,omitempty"`
	Overflow        *Overflow `json:"overflow,omitempty"`
	DeadLetterTopic *string   `json:"dead_letter_topic,omitempty"`
}

// MarshalJSON writes only the fields that are set.
func (s Settings) MarshalJSON() ([]byte, error) {
	out := settingsJSON{
		MaxAttempts: s.MaxAttempts, MaxDepth: s.MaxDepth, MaxBytes: s.MaxBytes,
		Overflow: s.Overflow, DeadLetterTopic: s.DeadLetterTopic,
	}
	if s.MsgTTL != nil {
		ms := s.MsgTTL.Milliseconds()
		out.MsgTTL = &ms
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON writes; unknown keys are ignored,
// so a later version's settings do not stop an older one starting.
func (s *Settings) UnmarshalJSON(data []byte) error {
	var in settingsJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	*s = Settings{
		MaxAttempts: in.MaxAttempts, MaxDepth: in.MaxDepth, MaxBytes: in.MaxBytes,
		Overflow: in.Overflow, DeadLetterTopic: in.DeadLetterTopic,
	}
	if in.MsgTTL != nil {
		if *in.MsgTTL < 0 || *in.MsgTTL > maxTTLMillis {
			return errors.New("msg_ttl out of range")
		}
		ttl := time.Duration(*in.MsgTTL) * time.Millisecond
		s.MsgTTL = &ttl
	}
	return nil
}

// Source says where an effective value comes from.
type Source string

const (
	SourceDefault Source = "default" // the daemon's flag
	SourceTopic   Source = "topic"   // the topic's own setting
	SourceChannel Source = "channel" // the channel's own setting
)

// Sources has one Source per Policy field.
type Sources struct {
	MaxAttempts     Source
	MsgTTL          Source
	MaxDepth        Source
	MaxBytes        Source
	Overflow        Source
	DeadLetterTopic Source
	MaxDeadDepth    Source
}

// Effective is a resolved Policy with where each value came from.
type Effective struct {
	Policy
	Sources Sources
}

// ResolveTopic is the policy of a topic's own queue (the messages it holds
// while it has no channel or is paused): its settings over the defaults,
// with no bound unless the topic sets one.
func ResolveTopic(d Defaults, topic Settings) Effective {
	e := Effective{
		Policy: Policy{MsgTTL: d.MsgTTL, Overflow: d.Overflow, MaxDeadDepth: d.MaxDeadDepth},
		Sources: Sources{
			MaxAttempts: SourceDefault, MsgTTL: SourceDefault, MaxDepth: SourceDefault, MaxBytes: SourceDefault,
			Overflow: SourceDefault, DeadLetterTopic: SourceDefault, MaxDeadDepth: SourceDefault,
		},
	}
	e.apply(topic, SourceTopic, TopicFields())
	return e
}

// ResolveChannel is a channel's policy: the channel's own settings, then
// its topic's TTL (an age limit set on a topic is one on its messages, in
// every channel), then the defaults. A topic's bound is the topic's own,
// not its channels'.
func ResolveChannel(d Defaults, topic, channel Settings) Effective {
	e := Effective{
		Policy: Policy{
			MaxAttempts: d.MaxAttempts, MsgTTL: d.MsgTTL, MaxDepth: d.MaxChannelDepth,
			MaxBytes: d.MaxChannelBytes, Overflow: d.Overflow, MaxDeadDepth: d.MaxDeadDepth,
		},
		Sources: Sources{
			MaxAttempts: SourceDefault, MsgTTL: SourceDefault, MaxDepth: SourceDefault, MaxBytes: SourceDefault,
			Overflow: SourceDefault, DeadLetterTopic: SourceDefault, MaxDeadDepth: SourceDefault,
		},
	}
	e.apply(topic, SourceTopic, []Field{FieldMsgTTL})
	e.apply(channel, SourceChannel, Fields())
	return e
}

// apply overrides e with the fields of s that are set and listed.
func (e *Effective) apply(s Settings, from Source, fields []Field) {
	for _, f := range fields {
		if !s.Has(f) {
			continue
		}
		switch f {
		case FieldMaxAttempts:
			e.MaxAttempts, e.Sources.MaxAttempts = *s.MaxAttempts, from
		case FieldMsgTTL:
			e.MsgTTL, e.Sources.MsgTTL = *s.MsgTTL, from
		case FieldMaxDepth:
			e.MaxDepth, e.Sources.MaxDepth = *s.MaxDepth, from
		case FieldMaxBytes:
			e.MaxBytes, e.Sources.MaxBytes = *s.MaxBytes, from
		case FieldOverflow:
			e.Overflow, e.Sources.Overflow = *s.Overflow, from
		case FieldDeadLetterTopic:
			e.DeadLetterTopic, e.Sources.DeadLetterTopic = *s.DeadLetterTopic, from
		}
	}
}
