package queue

import (
	"encoding/json"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func ptr[T any](v T) *T { return &v }

// params adapts a query string to ParseParams' getter, first value wins
// as in nsqd's HTTP API.
func params(t *testing.T, query string) func(string) (string, bool) {
	q, err := url.ParseQuery(query)
	require.NoError(t, err)
	return func(name string) (string, bool) {
		v, ok := q[name]
		if !ok {
			return "", false
		}
		return v[0], true
	}
}

func TestZeroPolicyIsUpstreamBehaviour(t *testing.T) {
	var p Policy
	require.Zero(t, p.MaxAttempts)
	require.Zero(t, p.MsgTTL)
	require.False(t, p.Bounded())
	require.False(t, p.Enforces())
	require.False(t, Policy{MaxDeadDepth: 100000, DeadLetterTopic: "dead", Overflow: OverflowDropOldest}.Enforces())
	for _, on := range []Policy{{MaxAttempts: 1}, {MsgTTL: time.Millisecond}, {MaxDepth: 1}, {MaxBytes: 1}} {
		require.True(t, on.Enforces(), "%+v", on)
	}
	require.True(t, Policy{MaxBytes: 1}.Bounded())
	require.Equal(t, OverflowRejectNew, p.Overflow, "a bound never drops by default")
	require.Equal(t, Policy{}, ResolveChannel(Defaults{}, Settings{}, Settings{}).Policy)
	require.Equal(t, Policy{}, ResolveTopic(Defaults{}, Settings{}).Policy)
}

func TestOverflowNames(t *testing.T) {
	for _, o := range []Overflow{OverflowRejectNew, OverflowDropOldest} {
		parsed, err := ParseOverflow(o.String())
		require.NoError(t, err)
		require.Equal(t, o, parsed)
	}
	_, err := ParseOverflow("drop-newest")
	require.ErrorContains(t, err, "reject-new or drop-oldest")
	_, err = Overflow(7).MarshalText()
	require.Error(t, err)
	data, err := json.Marshal(OverflowDropOldest)
	require.NoError(t, err)
	require.Equal(t, `"drop-oldest"`, string(data))
}

func TestDefaultsValidateNamesTheFlag(t *testing.T) {
	require.NoError(t, Defaults{}.Validate())
	require.NoError(t, Defaults{MaxAttempts: 65535, MsgTTL: time.Hour, MaxChannelDepth: 1, MaxChannelBytes: 1, MaxDeadDepth: 1, Overflow: OverflowDropOldest}.Validate())
	for want, d := range map[string]Defaults{
		"--msg-ttl must not be negative":   {MsgTTL: -time.Second},
		"--msg-ttl must be a whole number": {MsgTTL: time.Millisecond + time.Microsecond},
		"--max-channel-depth must not be":  {MaxChannelDepth: -1},
		"--max-channel-bytes must not be":  {MaxChannelBytes: -1},
		"--max-dead-depth must not be":     {MaxDeadDepth: -1},
		"--overflow: unknown overflow(2)":  {Overflow: 2},
	} {
		require.ErrorContains(t, d.Validate(), want)
	}
}

func TestResolveChannelTakesChannelThenTopicTTLThenDefaults(t *testing.T) {
	d := Defaults{MaxAttempts: 5, MsgTTL: time.Hour, MaxChannelDepth: 100, MaxChannelBytes: 1 << 20, Overflow: OverflowRejectNew, MaxDeadDepth: 1000}

	e := ResolveChannel(d, Settings{}, Settings{})
	require.Equal(t, Policy{MaxAttempts: 5, MsgTTL: time.Hour, MaxDepth: 100, MaxBytes: 1 << 20, MaxDeadDepth: 1000}, e.Policy)
	require.Equal(t, Sources{SourceDefault, SourceDefault, SourceDefault, SourceDefault, SourceDefault, SourceDefault, SourceDefault}, e.Sources)

	// The topic's TTL reaches its channels; its bound and overflow do not.
	topic := Settings{MsgTTL: ptr(time.Minute), MaxDepth: ptr(int64(7)), Overflow: ptr(OverflowDropOldest)}
	e = ResolveChannel(d, topic, Settings{})
	require.Equal(t, time.Minute, e.MsgTTL)
	require.Equal(t, SourceTopic, e.Sources.MsgTTL)
	require.Equal(t, int64(100), e.MaxDepth)
	require.Equal(t, SourceDefault, e.Sources.MaxDepth)
	require.Equal(t, OverflowRejectNew, e.Overflow)

	// The channel's own values win, a set zero included.
	channel := Settings{MaxAttempts: ptr(uint16(0)), MsgTTL: ptr(time.Duration(0)), MaxDepth: ptr(int64(3)),
		MaxBytes: ptr(int64(0)), Overflow: ptr(OverflowDropOldest), DeadLetterTopic: ptr("dead")}
	e = ResolveChannel(d, topic, channel)
	require.Equal(t, Policy{MaxAttempts: 0, MsgTTL: 0, MaxDepth: 3, MaxBytes: 0, Overflow: OverflowDropOldest, DeadLetterTopic: "dead", MaxDeadDepth: 1000}, e.Policy)
	require.Equal(t, Sources{SourceChannel, SourceChannel, SourceChannel, SourceChannel, SourceChannel, SourceChannel, SourceDefault}, e.Sources)
}

func TestResolveTopicIsUnboundedUnlessTheTopicSaysSo(t *testing.T) {
	d := Defaults{MaxAttempts: 5, MsgTTL: time.Hour, MaxChannelDepth: 100, MaxChannelBytes: 100, Overflow: OverflowDropOldest}
	e := ResolveTopic(d, Settings{})
	require.Equal(t, Policy{MsgTTL: time.Hour, Overflow: OverflowDropOldest}, e.Policy, "channel bounds and attempts are not a topic's")

	e = ResolveTopic(d, Settings{MaxDepth: ptr(int64(10)), MaxBytes: ptr(int64(20)), Overflow: ptr(OverflowRejectNew), MsgTTL: ptr(time.Second)})
	require.Equal(t, Policy{MsgTTL: time.Second, MaxDepth: 10, MaxBytes: 20, Overflow: OverflowRejectNew}, e.Policy)
	require.Equal(t, SourceTopic, e.Sources.MaxDepth)
	require.Equal(t, SourceTopic, e.Sources.Overflow)
	require.Equal(t, SourceDefault, e.Sources.MaxAttempts)
}

func TestParseParams(t *testing.T) {
	set, clear, err := ParseParams(Fields(), params(t, "max_attempts=5&msg_ttl=1500&max_depth=10&max_bytes=2048&overflow=drop-oldest&dead_letter_topic=dead&other=x"))
	require.NoError(t, err)
	require.Empty(t, clear)
	require.Equal(t, Settings{MaxAttempts: ptr(uint16(5)), MsgTTL: ptr(1500 * time.Millisecond), MaxDepth: ptr(int64(10)),
		MaxBytes: ptr(int64(2048)), Overflow: ptr(OverflowDropOldest), DeadLetterTopic: ptr("dead")}, set)

	set, _, err = ParseParams(Fields(), params(t, "msg_ttl=1h30m&max_attempts=0&max_attempts=9"))
	require.NoError(t, err)
	require.Equal(t, 90*time.Minute, *set.MsgTTL)
	require.Equal(t, uint16(0), *set.MaxAttempts, "a set zero is kept, and the first value wins")

	set, clear, err = ParseParams(Fields(), params(t, "max_depth=&overflow="))
	require.NoError(t, err)
	require.True(t, set.IsZero())
	require.Equal(t, []Field{FieldMaxDepth, FieldOverflow}, clear)

	// Only the listed fields are read.
	set, _, err = ParseParams(TopicFields(), params(t, "max_attempts=nonsense&max_depth=4"))
	require.NoError(t, err)
	require.Nil(t, set.MaxAttempts)
	require.Equal(t, int64(4), *set.MaxDepth)
}

func TestParseParamsRefusesBadValuesNamingTheField(t *testing.T) {
	for query, field := range map[string]Field{
		"max_attempts=65536":           FieldMaxAttempts,
		"max_attempts=-1":              FieldMaxAttempts,
		"max_attempts=1.5":             FieldMaxAttempts,
		"msg_ttl=-5":                   FieldMsgTTL,
		"msg_ttl=1.5":                  FieldMsgTTL,
		"msg_ttl=10us":                 FieldMsgTTL,
		"msg_ttl=1500us":               FieldMsgTTL,
		"msg_ttl=-1s":                  FieldMsgTTL,
		"msg_ttl=99999999999999999999": FieldMsgTTL,
		"msg_ttl=9223372036855":        FieldMsgTTL,
		"max_depth=-1":                 FieldMaxDepth,
		"max_depth=ten":                FieldMaxDepth,
		"max_bytes=1e6":                FieldMaxBytes,
		"overflow=drop":                FieldOverflow,
		"dead_letter_topic=a%20b":      FieldDeadLetterTopic,
	} {
		_, _, err := ParseParams(Fields(), params(t, query))
		var fe *FieldError
		require.True(t, errors.As(err, &fe), "%s: %v", query, err)
		require.Equal(t, field, fe.Field, query)
	}
}

func TestValidateTopicRefusesChannelOnlySettings(t *testing.T) {
	require.NoError(t, Settings{MsgTTL: ptr(time.Second), MaxDepth: ptr(int64(1))}.ValidateTopic())
	var fe *FieldError
	require.ErrorAs(t, Settings{MaxAttempts: ptr(uint16(3))}.ValidateTopic(), &fe)
	require.Equal(t, FieldMaxAttempts, fe.Field)
	require.ErrorAs(t, Settings{DeadLetterTopic: ptr("d")}.ValidateTopic(), &fe)
	require.Equal(t, FieldDeadLetterTopic, fe.Field)
	require.ErrorAs(t, Settings{MaxBytes: ptr(int64(-1))}.ValidateTopic(), &fe)
	require.Equal(t, FieldMaxBytes, fe.Field)
}

func TestValidateChannelRefusesDeadLettersToItsOwnTopic(t *testing.T) {
	require.NoError(t, Settings{DeadLetterTopic: ptr("orders-dead")}.ValidateChannel("orders"))
	require.NoError(t, Settings{DeadLetterTopic: ptr("")}.ValidateChannel("orders"), "empty: the channel's dead set")
	require.ErrorContains(t, Settings{DeadLetterTopic: ptr("orders")}.ValidateChannel("orders"), "own topic")
	require.ErrorContains(t, Settings{DeadLetterTopic: ptr("bad name")}.ValidateChannel("orders"), "invalid topic name")
	require.ErrorContains(t, Settings{MsgTTL: ptr(time.Duration(-1))}.ValidateChannel("orders"), "msg_ttl")
	require.ErrorContains(t, Settings{MaxDepth: ptr(int64(-1))}.ValidateChannel("orders"), "max_depth")
	require.ErrorContains(t, Settings{Overflow: ptr(Overflow(9))}.ValidateChannel("orders"), "overflow")
}

func TestWithAndWithout(t *testing.T) {
	s := Settings{MaxDepth: ptr(int64(1)), Overflow: ptr(OverflowDropOldest)}
	s = s.With(Settings{MaxDepth: ptr(int64(2)), MsgTTL: ptr(time.Second)})
	require.Equal(t, Settings{MaxDepth: ptr(int64(2)), Overflow: ptr(OverflowDropOldest), MsgTTL: ptr(time.Second)}, s)
	s = s.Without(FieldOverflow, FieldMaxDepth)
	require.Equal(t, Settings{MsgTTL: ptr(time.Second)}, s)
	for _, f := range Fields() {
		require.Equal(t, f == FieldMsgTTL, s.Has(f), f.Name())
	}
}

func TestSettingsJSONWritesOnlyWhatIsSetWithTTLInMilliseconds(t *testing.T) {
	data, err := json.Marshal(Settings{})
	require.NoError(t, err)
	require.Equal(t, `{}`, string(data))

	s := Settings{MaxAttempts: ptr(uint16(0)), MsgTTL: ptr(90 * time.Second), Overflow: ptr(OverflowDropOldest), DeadLetterTopic: ptr("dead")}
	data, err = json.Marshal(s)
	require.NoError(t, err)
	require.JSONEq(t, `{"max_attempts":0,"msg_ttl":90000,"overflow":"drop-oldest","dead_letter_topic":"dead"}`, string(data))

	var back Settings
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, s, back)

	require.NoError(t, json.Unmarshal([]byte(`{"max_depth":4,"from_the_future":true}`), &back), "unknown keys are ignored")
	require.Equal(t, Settings{MaxDepth: ptr(int64(4))}, back)
	require.Error(t, json.Unmarshal([]byte(`{"overflow":"sideways"}`), &back))
	require.Error(t, json.Unmarshal([]byte(`{"msg_ttl":-1}`), &back))
	require.Error(t, json.Unmarshal([]byte(`{"max_attempts":70000}`), &back))
}

// FuzzParseParams: whatever the query, parsing returns settings that
// validate, or a FieldError, and never panics; what it accepts survives a
// JSON round trip.
func FuzzParseParams(f *testing.F) {
	for _, seed := range []string{
		"max_attempts=5&msg_ttl=1500&max_depth=10&max_bytes=2048&overflow=drop-oldest&dead_letter_topic=dead",
		"msg_ttl=1h", "msg_ttl=0", "msg_ttl=", "max_attempts=65535", "max_attempts=65536", "overflow=reject-new",
		"msg_ttl=1e3", "max_depth=9223372036854775807", "max_depth=9223372036854775808", "dead_letter_topic=x%23ephemeral",
		"msg_ttl=9223372036854ms", "msg_ttl=%00", "max_bytes=+5",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		get := func(name string) (string, bool) {
			v, ok := q[name]
			if !ok {
				return "", false
			}
			return v[0], true
		}
		set, _, err := ParseParams(Fields(), get)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("%q: error %v is not a FieldError", query, err)
			}
			return
		}
		if err := set.ValidateChannel("some-topic-name-that-is-long-enough"); err != nil && (set.DeadLetterTopic == nil || *set.DeadLetterTopic != "some-topic-name-that-is-long-enough") {
			t.Fatalf("%q parsed to settings that do not validate: %v", query, err)
		}
		data, err := json.Marshal(set)
		if err != nil {
			t.Fatalf("%q: marshal: %v", query, err)
		}
		var back Settings
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatalf("%q: unmarshal %s: %v", query, data, err)
		}
		if set.MsgTTL != nil && *set.MsgTTL != *back.MsgTTL {
			t.Fatalf("%q: msg_ttl %s came back as %s", query, *set.MsgTTL, *back.MsgTTL)
		}
		if !equalSettings(back, set) {
			t.Fatalf("%q: %s did not round-trip", query, data)
		}
	})
}

// equalSettings compares values, not pointers.
func equalSettings(a, b Settings) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
