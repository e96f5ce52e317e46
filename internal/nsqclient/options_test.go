package nsqclient

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDefaultsAreGoNSQs(t *testing.T) {
	o := NewOptions()
	require.NoError(t, o.Validate())
	require.Equal(t, time.Second, o.DialTimeout)
	require.Equal(t, 60*time.Second, o.ReadTimeout)
	require.Equal(t, time.Second, o.WriteTimeout)
	require.Equal(t, 60*time.Second, o.LookupdPollInterval)
	require.Equal(t, 0.3, o.LookupdPollJitter)
	require.Equal(t, 90*time.Second, o.DefaultRequeueDelay)
	require.Equal(t, 15*time.Minute, o.MaxRequeueDelay)
	require.Equal(t, 2*time.Minute, o.MaxBackoffDuration)
	require.Equal(t, time.Second, o.BackoffMultiplier)
	require.Equal(t, uint16(5), o.MaxAttempts)
	require.Equal(t, 30*time.Second, o.HeartbeatInterval)
	require.Equal(t, int64(16384), o.OutputBufferSize)
	require.Equal(t, 250*time.Millisecond, o.OutputBufferTimeout)
	require.Equal(t, 1, o.MaxInFlight)
	require.NotEmpty(t, o.ClientID)
	require.Equal(t, "nsq_to_file/1.3.0 go-nsq/1.1.0", ToolUserAgent("nsq_to_file"))
}

func TestSetFlagTakesGoNSQNamesAndValues(t *testing.T) {
	o := NewOptions()
	for _, flag := range []string{
		"max_attempts,7", "max-in-flight,100", "snappy", "deflate,false", "deflate_level,9",
		"lookupd_poll_interval,250ms", "msg_timeout,5s", "backoff_strategy,full_jitter",
		"user_agent,x/1", "sample_rate,10", "output_buffer_size,-1", "tls_v1,true",
		"tls_insecure_skip_verify,true", "tls_min_version,tls1.2",
	} {
		require.NoError(t, o.SetFlag(flag), flag)
	}
	require.Equal(t, uint16(7), o.MaxAttempts)
	require.Equal(t, 100, o.MaxInFlight)
	require.True(t, o.Snappy)
	require.False(t, o.Deflate)
	require.Equal(t, 9, o.DeflateLevel)
	require.Equal(t, 250*time.Millisecond, o.LookupdPollInterval)
	require.Equal(t, 5*time.Second, o.MsgTimeout)
	require.Equal(t, BackoffFullJitter, o.BackoffStrategy)
	require.Equal(t, "x/1", o.UserAgent)
	require.Equal(t, int32(10), o.SampleRate)
	require.Equal(t, int64(-1), o.OutputBufferSize)
	require.True(t, o.TLSv1)
	require.True(t, o.TLSConfig.InsecureSkipVerify)
	require.NoError(t, o.Validate())
}

func TestSetRejectsUnknownAndOutOfRangeValues(t *testing.T) {
	o := NewOptions()
	for _, flag := range []string{
		"no_such_option,1", "max_attempts,70000", "max_attempts,x", "lookupd_poll_interval,1ms",
		"read_timeout,10m", "sample_rate,100", "deflate_level,0", "snappy,maybe", "msg_timeout,5",
		"backoff_strategy,linear", "tls_min_version,tls9", "tls_root_ca_file,/nonexistent",
		"lookupd_poll_jitter,2",
	} {
		require.Error(t, o.SetFlag(flag), flag)
	}
	require.Equal(t, NewOptions().MaxAttempts, o.MaxAttempts, "a rejected value leaves the option alone")

	o = NewOptions()
	o.Deflate, o.Snappy = true, true
	require.ErrorContains(t, o.Validate(), "both deflate and snappy")
	o = NewOptions()
	o.HeartbeatInterval = 2 * time.Minute
	require.ErrorContains(t, o.Validate(), "heartbeat_interval")
}

func TestRequeueDelayDefaultsToAttemptsTimesDefault(t *testing.T) {
	o := NewOptions()
	require.Equal(t, 3*90*time.Second, requeueDelay(o, -1, 3))
	require.Equal(t, 15*time.Minute, requeueDelay(o, -1, 100), "capped at max_requeue_delay")
	require.Equal(t, 2*time.Second, requeueDelay(o, 2*time.Second, 100), "explicit delays are kept")
}

func TestBackoffDurationDoublesPerLevel(t *testing.T) {
	c := &Consumer{opts: *NewOptions()}
	require.Equal(t, 2*time.Second, c.backoffDuration(1))
	require.Equal(t, 8*time.Second, c.backoffDuration(3))
	c.opts.BackoffStrategy = BackoffFullJitter
	for range 100 {
		d := c.backoffDuration(3)
		require.GreaterOrEqual(t, d, time.Duration(0))
		require.Less(t, d, 8*time.Second)
	}
	require.Less(t, c.backoffDuration(10000), time.Duration(1)<<62, "no overflow at absurd levels")
}

func TestReconnectDelayGrowsToTheLimit(t *testing.T) {
	require.LessOrEqual(t, reconnectDelay(1, time.Minute), minReconnectDelay)
	require.GreaterOrEqual(t, reconnectDelay(1, time.Minute), minReconnectDelay/2)
	require.LessOrEqual(t, reconnectDelay(50, 3*time.Second), 3*time.Second)
	require.GreaterOrEqual(t, reconnectDelay(50, 3*time.Second), 1500*time.Millisecond)
}
