package chaos

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func statsOf(t *testing.T, js string) nodeStats {
	t.Helper()
	var s nodeStats
	require.NoError(t, json.Unmarshal([]byte(js), &s))
	return s
}

// The drain waits for every channel of the run: one with messages left, or
// one missing from the stats, keeps it waiting.
func TestDrainedNeedsEveryChannelEmpty(t *testing.T) {
	chans := []string{"ch", "ch1", "ch2"}
	empty := `{"topics":[{"topic_name":"chaos","depth":0,"channels":[
		{"channel_name":"ch"},{"channel_name":"ch1"},{"channel_name":"ch2"}]}]}`
	ok, _ := drained(statsOf(t, empty), "chaos", chans)
	require.True(t, ok)

	for name, js := range map[string]string{
		"depth on one channel": `{"topics":[{"topic_name":"chaos","channels":[
			{"channel_name":"ch"},{"channel_name":"ch1","depth":3},{"channel_name":"ch2"}]}]}`,
		"in flight on one channel": `{"topics":[{"topic_name":"chaos","channels":[
			{"channel_name":"ch"},{"channel_name":"ch1"},{"channel_name":"ch2","in_flight_count":1}]}]}`,
		"deferred on one channel": `{"topics":[{"topic_name":"chaos","channels":[
			{"channel_name":"ch","deferred_count":2},{"channel_name":"ch1"},{"channel_name":"ch2"}]}]}`,
		"topic depth": `{"topics":[{"topic_name":"chaos","depth":1,"channels":[
			{"channel_name":"ch"},{"channel_name":"ch1"},{"channel_name":"ch2"}]}]}`,
		"a channel missing": `{"topics":[{"topic_name":"chaos","channels":[
			{"channel_name":"ch"},{"channel_name":"ch2"}]}]}`,
		"the topic missing": `{"topics":[]}`,
	} {
		ok, state := drained(statsOf(t, js), "chaos", chans)
		require.False(t, ok, "%s: %s", name, state)
	}
	_, state := drained(statsOf(t, `{"topics":[{"topic_name":"chaos","channels":[{"channel_name":"ch"}]}]}`), "chaos", chans)
	require.Contains(t, state, "channel ch1 missing")
}

func TestChannelNames(t *testing.T) {
	c := Config{}
	c.defaults()
	require.Equal(t, []string{"ch"}, c.channelNames(), "one channel is named as before")
	c = Config{Channels: 3, Consumers: 2}
	c.defaults()
	require.Equal(t, []string{"ch", "ch1", "ch2"}, c.channelNames())
	require.Equal(t, 3, c.Consumers, "at least one consumer per channel")
}
