package nsqd

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// IDENTIFY's reply adds the attempts limit and TTL defaults only when they
// are set; off, it is upstream's (TestIdentifyDefaultsReplyMatchesUpstreamBytes).
func TestIdentifyReplyCarriesPolicyDefaultsWhenSet(t *testing.T) {
	n := startDaemon(t, func(o *Options) {
		o.MaxAttempts = 7
		o.MsgTTL = 90 * time.Second
	})
	reply := dialV2(t, n).identify(map[string]any{"feature_negotiation": true})
	require.EqualValues(t, 7, reply["max_attempts"])
	require.EqualValues(t, 90000, reply["msg_ttl"])

	off := startDaemon(t, nil)
	reply = dialV2(t, off).identify(map[string]any{"feature_negotiation": true})
	require.NotContains(t, reply, "max_attempts")
	require.NotContains(t, reply, "msg_ttl")
}
