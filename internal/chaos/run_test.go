package chaos

import (
	"encoding/json"
	"strings"
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

// The dump of a failed run carries what the verdict depends on besides the
// events: the channels checked and the ids in damaged records.
func TestDumpCarriesChannelsAndDamage(t *testing.T) {
	h := &History{Channels: []string{"ch", "ch1"}}
	h.addPublishes([]Publish{pub("c0-0", 0)})
	h.addDelivery(deliverOn("ch1", "c0-0", 1, ActionFin))
	h.addDamaged([]string{"c0-7", "c0-3"})
	var b strings.Builder
	require.NoError(t, h.Dump(&b))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 3)
	require.Contains(t, lines[1], `"Channel":"ch1"`)
	var last struct {
		Record            string
		Channels, Damaged []string
	}
	require.NoError(t, json.Unmarshal([]byte(lines[2]), &last))
	require.Equal(t, "checked", last.Record)
	require.Equal(t, []string{"ch", "ch1"}, last.Channels)
	require.Equal(t, []string{"c0-3", "c0-7"}, last.Damaged)
}
