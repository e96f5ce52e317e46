package nsqadmin

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest"
	"github.com/nsqgo/nsq/nsqd"
)

// topicOn is nsqd's own view of topic, or false when it has none.
func topicOn(n tooltest.NSQD, topic string) (nsqd.TopicStats, bool) {
	stats := n.GetStats(topic, "", false)
	if len(stats.Topics) == 0 {
		return nsqd.TopicStats{}, false
	}
	return stats.Topics[0], true
}

func channelOn(n tooltest.NSQD, topic, channel string) (nsqd.ChannelStats, bool) {
	return n.Channel(topic, channel)
}

// lookupdHas reports whether the lookupd lists topic (and, when channel is
// set, the channel of topic).
func (c *testCluster) lookupdHas(t *testing.T, topic, channel string) bool {
	t.Helper()
	var answer struct {
		Topics   []string `json:"topics"`
		Channels []string `json:"channels"`
	}
	if channel == "" {
		require.Equal(t, http.StatusOK, getInto(t, "http://"+c.lookupd.HTTPAddr()+"/topics", &answer))
		return contains(answer.Topics, topic)
	}
	status := getInto(t, "http://"+c.lookupd.HTTPAddr()+"/channels?topic="+url.QueryEscape(topic), &answer)
	return status == http.StatusOK && contains(answer.Channels, channel)
}

// channelProducers counts the producers the lookupd's /debug dump lists
// under topic's channel.
func (c *testCluster) channelProducers(t *testing.T, topic, channel string) int {
	t.Helper()
	var dump map[string][]json.RawMessage
	require.Equal(t, http.StatusOK, getInto(t, "http://"+c.lookupd.HTTPAddr()+"/debug", &dump))
	return len(dump["channel:"+topic+":"+channel])
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestPauseUnpauseAndEmptyReachEveryNodeInBothModes(t *testing.T) {
	for name, modeOf := range map[string]func(*testCluster) func(*Options){"lookupd": lookupdMode, "nsqd": nsqdMode} {
		t.Run(name, func(t *testing.T) {
			c := startCluster(t, 2)
			for i := range c.nsqds {
				c.createChannel(t, i, "work", "ch")
				c.publish(t, i, "work", "1", "2")
			}
			c.awaitLookup(t, "work", 0, 1)
			c.awaitChannelDepth(t, 0, "work", "ch", 2)
			c.awaitChannelDepth(t, 1, "work", "ch", 2)
			admin := startAdmin(t, modeOf(c))

			status, m := admin.send(t, http.MethodPost, "/api/topics/work", `{"action":"pause"}`, nil)
			require.Equal(t, http.StatusOK, status, m)
			require.Equal(t, map[string]any{"message": ""}, m)
			for _, n := range c.nsqds {
				ts, _ := topicOn(n, "work")
				require.True(t, ts.Paused)
			}
			_, m = admin.object(t, "/api/topics/work")
			require.Equal(t, true, m["paused"])

			status, _ = admin.send(t, http.MethodPost, "/api/topics/work", `{"action":"unpause"}`, nil)
			require.Equal(t, http.StatusOK, status)
			for _, n := range c.nsqds {
				ts, _ := topicOn(n, "work")
				require.False(t, ts.Paused)
			}

			status, _ = admin.send(t, http.MethodPost, "/api/topics/work/ch", `{"action":"pause"}`, nil)
			require.Equal(t, http.StatusOK, status)
			for _, n := range c.nsqds {
				cs, _ := channelOn(n, "work", "ch")
				require.True(t, cs.Paused)
				require.EqualValues(t, 2, cs.Depth)
			}
			status, _ = admin.send(t, http.MethodPost, "/api/topics/work/ch", `{"action":"empty"}`, nil)
			require.Equal(t, http.StatusOK, status)
			for _, n := range c.nsqds {
				cs, _ := channelOn(n, "work", "ch")
				require.EqualValues(t, 0, cs.Depth)
			}
			status, _ = admin.send(t, http.MethodPost, "/api/topics/work/ch", `{"action":"unpause"}`, nil)
			require.Equal(t, http.StatusOK, status)
			for _, n := range c.nsqds {
				cs, _ := channelOn(n, "work", "ch")
				require.False(t, cs.Paused)
			}
		})
	}
}

func TestEmptyTopicDropsItsBacklogEverywhere(t *testing.T) {
	c := startCluster(t, 2)
	for i := range c.nsqds {
		c.publish(t, i, "backlog", "1", "2", "3")
	}
	c.awaitLookup(t, "backlog", 0, 1)
	admin := startAdmin(t, lookupdMode(c))
	status, _ := admin.send(t, http.MethodPost, "/api/topics/backlog", `{"action":"empty"}`, nil)
	require.Equal(t, http.StatusOK, status)
	for _, n := range c.nsqds {
		ts, _ := topicOn(n, "backlog")
		require.EqualValues(t, 0, ts.Depth)
	}
}

func TestDeleteChannelAndTopicEverywhere(t *testing.T) {
	c := startCluster(t, 2)
	for i := range c.nsqds {
		c.createChannel(t, i, "doomed", "ch")
	}
	c.awaitLookup(t, "doomed", 0, 1)
	// Both nodes' channel registrations must be in before the delete: one
	// arriving after it would list the channel again, for good (a
	// non-ephemeral channel stays listed when its producers unregister).
	tooltest.Eventually(t, "both nodes registered the channel", func() bool {
		return c.channelProducers(t, "doomed", "ch") == 2
	})
	admin := startAdmin(t, lookupdMode(c))

	status, m := admin.send(t, http.MethodDelete, "/api/topics/doomed/ch", "", nil)
	require.Equal(t, http.StatusOK, status, m)
	for _, n := range c.nsqds {
		_, ok := channelOn(n, "doomed", "ch")
		require.False(t, ok)
	}
	require.False(t, c.lookupdHas(t, "doomed", "ch"))

	status, m = admin.send(t, http.MethodDelete, "/api/topics/doomed", "", nil)
	require.Equal(t, http.StatusOK, status, m)
	for _, n := range c.nsqds {
		_, ok := topicOn(n, "doomed")
		require.False(t, ok)
	}
	require.False(t, c.lookupdHas(t, "doomed", ""))
}

func TestCreateTopicAndChannelInLookupdAndOnProducers(t *testing.T) {
	c := startCluster(t, 1)
	c.publish(t, 0, "existing", "1")
	c.awaitLookup(t, "existing", 0)
	admin := startAdmin(t, lookupdMode(c))

	status, m := admin.send(t, http.MethodPost, "/api/topics", `{"topic":"fresh","channel":"first"}`, nil)
	require.Equal(t, http.StatusOK, status, m)
	require.True(t, c.lookupdHas(t, "fresh", ""))
	require.True(t, c.lookupdHas(t, "fresh", "first"))

	status, _ = admin.send(t, http.MethodPost, "/api/topics", `{"topic":"existing","channel":"added"}`, nil)
	require.Equal(t, http.StatusOK, status)
	_, ok := channelOn(c.nsqds[0], "existing", "added")
	require.True(t, ok, "the channel is created on the nsqd that has the topic")
}

func TestCreateWithoutLookupdsCreatesOnEveryNSQD(t *testing.T) {
	c := startCluster(t, 2)
	admin := startAdmin(t, nsqdMode(c))
	status, m := admin.send(t, http.MethodPost, "/api/topics", `{"topic":"made","channel":"here"}`, nil)
	require.Equal(t, http.StatusOK, status, m)
	for _, n := range c.nsqds {
		_, ok := channelOn(n, "made", "here")
		require.True(t, ok)
	}
}

func TestActionsRejectBadInputWithUpstreamErrors(t *testing.T) {
	c := startCluster(t, 1)
	admin := startAdmin(t, lookupdMode(c))
	for _, tc := range []struct {
		method, path, body, message string
	}{
		{http.MethodPost, "/api/topics", `{"topic":"bad topic"}`, "INVALID_TOPIC"},
		{http.MethodPost, "/api/topics", `{"topic":"ok","channel":"bad/ch"}`, "INVALID_CHANNEL"},
		{http.MethodPost, "/api/topics/t", `{"action":"explode"}`, "INVALID_ACTION"},
		{http.MethodPost, "/api/topics/t/c", `{"action":""}`, "INVALID_ACTION"},
		{http.MethodDelete, "/api/nodes/127.0.0.1:1", `not json`, "INVALID_BODY"},
		{http.MethodDelete, "/api/nodes/127.0.0.1:1", `{"topic":"no good"}`, "INVALID_TOPIC"},
	} {
		status, m := admin.send(t, tc.method, tc.path, tc.body, nil)
		require.Equal(t, http.StatusBadRequest, status, "%s %s %s", tc.method, tc.path, tc.body)
		require.Equal(t, tc.message, m["message"], "%s %s %s", tc.method, tc.path, tc.body)
	}
	status, _ := admin.send(t, http.MethodPost, "/api/topics/t", `{`, nil)
	require.Equal(t, http.StatusBadRequest, status, "a body that is not JSON")
}

func TestTombstoneHidesNodeInLookupdAndDeletesTopicThere(t *testing.T) {
	c := startCluster(t, 2)
	c.publish(t, 0, "shared", "1")
	c.publish(t, 1, "shared", "2")
	c.awaitLookup(t, "shared", 0, 1)
	admin := startAdmin(t, lookupdMode(c))

	node := c.nsqds[1].HTTPAddr()
	status, m := admin.send(t, http.MethodDelete, "/api/nodes/"+node, `{"topic":"shared"}`, nil)
	require.Equal(t, http.StatusOK, status, m)
	_, ok := topicOn(c.nsqds[1], "shared")
	require.False(t, ok, "the tombstoned node deletes the topic")
	_, ok = topicOn(c.nsqds[0], "shared")
	require.True(t, ok, "the other node keeps it")
	c.awaitLookup(t, "shared", 0)
}

// brokenNSQD is an HTTP server that answers /info and /stats like an nsqd
// that has topic, and fails every administrative POST: a node that is up
// but refuses, to check that the failure is reported by name.
func brokenNSQD(t *testing.T, topic string) string {
	t.Helper()
	var addr string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/info":
			json.NewEncoder(w).Encode(map[string]any{"version": "1.3.0", "broadcast_address": host, "hostname": "broken", "http_port": p, "tcp_port": 1})
		case r.Method == http.MethodGet && r.URL.Path == "/stats":
			json.NewEncoder(w).Encode(map[string]any{"topics": []any{map[string]any{"topic_name": topic, "channels": []any{}}}})
		default:
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"message":"INTERNAL_ERROR"}`))
		}
	}))
	t.Cleanup(srv.Close)
	addr = strings.TrimPrefix(srv.URL, "http://")
	return addr
}

func TestActionPartialFailureNamesTheNodeAndStillActsOnTheOthers(t *testing.T) {
	c := startCluster(t, 1)
	c.publish(t, 0, "mixed", "1")
	broken := brokenNSQD(t, "mixed")
	admin := startAdmin(t, func(o *Options) { o.NSQDHTTPAddresses = []string{c.nsqds[0].HTTPAddr(), broken} })

	status, m := admin.send(t, http.MethodPost, "/api/topics/mixed", `{"action":"pause"}`, nil)
	require.Equal(t, http.StatusOK, status, "upstream reports failed nodes as a warning")
	require.Contains(t, m["message"], "WARNING: ")
	require.Contains(t, m["message"], broken+"/topic/pause")
	require.NotContains(t, m["message"], c.nsqds[0].HTTPAddr())
	ts, _ := topicOn(c.nsqds[0], "mixed")
	require.True(t, ts.Paused, "the healthy node acted")
}

func TestReadPartialFailureWarnsAndTotalFailureIs502(t *testing.T) {
	c := startCluster(t, 2)
	c.publish(t, 0, "one", "1")
	c.publish(t, 1, "two", "2")
	admin := startAdmin(t, nsqdMode(c))
	down := c.nsqds[1].HTTPAddr()
	c.nsqds[1].Stop()

	status, m := admin.object(t, "/api/topics")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, []any{"one"}, m["topics"])
	require.Contains(t, m["message"], "WARNING: ")
	require.Contains(t, m["message"], down)

	status, m = admin.object(t, "/api/nodes")
	require.Equal(t, http.StatusOK, status)
	require.Len(t, list(t, m["nodes"]), 1)
	require.Contains(t, m["message"], down)

	status, m = admin.object(t, "/api/counter")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, m["message"], down)

	c.nsqds[0].Stop()
	status, m = admin.object(t, "/api/topics")
	require.Equal(t, http.StatusBadGateway, status)
	require.Contains(t, m["message"], "UPSTREAM_ERROR: failed to query any nsqd: ")
	require.Contains(t, m["message"], down)
}

func TestLookupdDownIsNamedToo(t *testing.T) {
	c := startCluster(t, 1)
	c.publish(t, 0, "t", "1")
	c.awaitLookup(t, "t", 0)
	dead := tooltest.ClosedPort(t)
	admin := startAdmin(t, func(o *Options) { o.NSQLookupdHTTPAddresses = []string{c.lookupd.HTTPAddr(), dead} })
	status, m := admin.object(t, "/api/topics")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, []any{"t"}, m["topics"])
	require.Contains(t, m["message"], dead)

	status, m = admin.object(t, "/api/topics/t")
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 1, m["message_count"])
	require.Contains(t, m["message"], dead)
}
