package nsqadmin

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest"
)

func TestTopicsListsTopicsOfEveryNodeInBothModes(t *testing.T) {
	c := startCluster(t, 2)
	c.publish(t, 0, "alpha", "a")
	c.publish(t, 1, "beta", "b")
	c.awaitLookup(t, "alpha", 0)
	c.awaitLookup(t, "beta", 1)
	for name, mode := range map[string]func(*Options){"lookupd": lookupdMode(c), "nsqd": nsqdMode(c)} {
		admin := startAdmin(t, mode)
		status, m := admin.object(t, "/api/topics")
		require.Equal(t, http.StatusOK, status, name)
		require.Equal(t, sorted("topics", "message"), keys(m), name)
		require.Equal(t, []any{"alpha", "beta"}, m["topics"], name)
		require.Equal(t, "", m["message"], name)
	}
}

func TestTopicSumsEveryNodeWithUpstreamFields(t *testing.T) {
	c := startCluster(t, 2)
	c.createChannel(t, 0, "orders", "billing")
	c.createChannel(t, 1, "orders", "billing")
	c.publish(t, 0, "orders", "1", "2", "3")
	c.publish(t, 1, "orders", "4", "5")
	c.awaitLookup(t, "orders", 0, 1)
	c.awaitChannelDepth(t, 0, "orders", "billing", 3)
	c.awaitChannelDepth(t, 1, "orders", "billing", 2)
	for name, mode := range map[string]func(*Options){"lookupd": lookupdMode(c), "nsqd": nsqdMode(c)} {
		admin := startAdmin(t, mode)
		status, m := admin.object(t, "/api/topics/orders")
		require.Equal(t, http.StatusOK, status, name)
		require.Equal(t, withMessage(upstreamTopicFields), keys(m), name)
		require.Equal(t, "*", m["node"])
		require.Equal(t, "orders", m["topic_name"])
		require.EqualValues(t, 5, m["message_count"], name)
		require.EqualValues(t, 0, m["depth"], "the channel took every message")
		require.Equal(t, upstreamLatencyFields, keys(obj(t, m["e2e_processing_latency"])))

		nodes := list(t, m["nodes"])
		require.Len(t, nodes, 2, name)
		var counts []float64
		for _, n := range nodes {
			node := obj(t, n)
			require.Equal(t, upstreamTopicFields, keys(node))
			require.Contains(t, c.nsqdHTTPAddrs(), node["node"])
			counts = append(counts, node["message_count"].(float64))
		}
		require.ElementsMatch(t, []float64{3, 2}, counts)

		channels := list(t, m["channels"])
		require.Len(t, channels, 1)
		ch := obj(t, channels[0])
		require.Equal(t, upstreamChannelFields, keys(ch))
		require.Equal(t, "billing", ch["channel_name"])
		require.EqualValues(t, 5, ch["depth"], name)
		require.EqualValues(t, 5, ch["memory_depth"])
		require.Len(t, list(t, ch["nodes"]), 2)
	}
}

func TestChannelListsClientsOfEveryNode(t *testing.T) {
	c := startCluster(t, 2)
	c.publish(t, 0, "events", "1", "2")
	c.publish(t, 1, "events", "3")
	c.awaitLookup(t, "events", 0, 1)
	col0 := tooltest.Consume(t, c.nsqds[0].TCPAddr(), "events", "audit")
	col1 := tooltest.Consume(t, c.nsqds[1].TCPAddr(), "events", "audit")
	col0.WaitFor(t, 2)
	col1.WaitFor(t, 1)
	for name, mode := range map[string]func(*Options){"lookupd": lookupdMode(c), "nsqd": nsqdMode(c)} {
		admin := startAdmin(t, mode)
		var m map[string]any
		// FIN reaches the stats a moment after the handler returns.
		tooltest.Eventually(t, "finish counts in channel stats", func() bool {
			status, got := admin.object(t, "/api/topics/events/audit")
			m = got
			if status != http.StatusOK || len(list(t, got["clients"])) != 2 {
				return false
			}
			var finished float64
			for _, cl := range list(t, got["clients"]) {
				finished += obj(t, cl)["finish_count"].(float64)
			}
			return finished == 3
		})
		require.Equal(t, withMessage(upstreamChannelFields), keys(m), name)
		require.Equal(t, "*", m["node"])
		require.EqualValues(t, 3, m["message_count"], name)
		require.EqualValues(t, 2, m["client_count"], name)
		for _, cl := range list(t, m["clients"]) {
			client := obj(t, cl)
			require.Equal(t, upstreamClientFields, keys(client))
			require.Contains(t, c.nsqdHTTPAddrs(), client["node"])
			require.NotEmpty(t, client["user_agent"])
			require.Greater(t, client["connect_ts"].(float64), float64(0))
		}
	}
}

func TestUnknownChannelAnswersOnlyMessage(t *testing.T) {
	c := startCluster(t, 1)
	c.publish(t, 0, "events", "1")
	c.awaitLookup(t, "events", 0)
	admin := startAdmin(t, lookupdMode(c))
	status, m := admin.object(t, "/api/topics/events/nope")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{"message": ""}, m)
}

func TestUnknownTopicIsUpstreamError(t *testing.T) {
	c := startCluster(t, 1)
	for name, mode := range map[string]func(*Options){"lookupd": lookupdMode(c), "nsqd": nsqdMode(c)} {
		admin := startAdmin(t, mode)
		status, m := admin.object(t, "/api/topics/missing")
		require.Equal(t, http.StatusBadGateway, status, name)
		require.Contains(t, m["message"], "UPSTREAM_ERROR: ", name)
	}
}

func TestNodesAndNodeDetail(t *testing.T) {
	c := startCluster(t, 2)
	c.createChannel(t, 1, "jobs", "workers")
	c.publish(t, 1, "jobs", "1", "2")
	c.awaitLookup(t, "jobs", 1)
	tooltest.Consume(t, c.nsqds[1].TCPAddr(), "jobs", "workers").WaitFor(t, 2)
	for name, mode := range map[string]func(*Options){"lookupd": lookupdMode(c), "nsqd": nsqdMode(c)} {
		admin := startAdmin(t, mode)
		status, m := admin.object(t, "/api/nodes")
		require.Equal(t, http.StatusOK, status, name)
		require.Equal(t, sorted("nodes", "message"), keys(m))
		nodes := list(t, m["nodes"])
		require.Len(t, nodes, 2)
		for _, n := range nodes {
			node := obj(t, n)
			require.Equal(t, upstreamProducerFields, keys(node))
			require.Equal(t, "1.3.0", node["version"])
			require.Equal(t, false, node["out_of_date"])
		}

		addr := c.nsqds[1].HTTPAddr()
		status, m = admin.object(t, "/api/nodes/"+addr)
		require.Equal(t, http.StatusOK, status, name)
		require.Equal(t, sorted("node", "topics", "total_messages", "total_clients", "message"), keys(m))
		require.Equal(t, addr, m["node"])
		require.EqualValues(t, 2, m["total_messages"])
		require.EqualValues(t, 1, m["total_clients"])
		topics := list(t, m["topics"])
		require.Len(t, topics, 1)
		require.Equal(t, "jobs", obj(t, topics[0])["topic_name"])

		status, m = admin.object(t, "/api/nodes/127.0.0.1:1")
		require.Equal(t, http.StatusNotFound, status)
		require.Equal(t, "NODE_NOT_FOUND", m["message"])
	}
}

func TestLookupdNodesNameTheLookupdsThatSeeThem(t *testing.T) {
	c := startCluster(t, 1)
	admin := startAdmin(t, lookupdMode(c))
	var answer struct {
		Nodes []Producer `json:"nodes"`
	}
	require.Equal(t, http.StatusOK, admin.get(t, "/api/nodes", &answer))
	require.Len(t, answer.Nodes, 1)
	require.Len(t, answer.Nodes[0].RemoteAddresses, 1)
	require.Contains(t, answer.Nodes[0].RemoteAddresses[0], c.lookupd.HTTPAddr()+"/127.0.0.1:")
}

func TestCounterKeysEveryChannelOnEveryNode(t *testing.T) {
	c := startCluster(t, 2)
	c.createChannel(t, 0, "clicks", "a")
	c.createChannel(t, 1, "clicks", "a")
	c.publish(t, 0, "clicks", "1", "2")
	c.publish(t, 1, "clicks", "3")
	c.awaitLookup(t, "clicks", 0, 1)
	c.awaitChannelDepth(t, 0, "clicks", "a", 2)
	c.awaitChannelDepth(t, 1, "clicks", "a", 1)
	for name, mode := range map[string]func(*Options){"lookupd": lookupdMode(c), "nsqd": nsqdMode(c)} {
		admin := startAdmin(t, mode)
		status, m := admin.object(t, "/api/counter")
		require.Equal(t, http.StatusOK, status, name)
		require.Equal(t, sorted("stats", "message"), keys(m))
		stats := obj(t, m["stats"])
		require.Len(t, stats, 2)
		for i, addr := range c.nsqdHTTPAddrs() {
			entry := obj(t, stats["clicks:a:"+addr])
			require.Equal(t, sorted("node", "topic_name", "channel_name", "message_count"), keys(entry))
			require.EqualValues(t, []int{2, 1}[i], entry["message_count"])
		}
	}
}

func TestInactiveTopicsAreThoseWithoutProducers(t *testing.T) {
	c := startCluster(t, 1)
	c.publish(t, 0, "live", "1")
	c.awaitLookup(t, "live", 0)
	admin := startAdmin(t, lookupdMode(c))
	status, m := admin.send(t, http.MethodPost, "/api/topics", `{"topic":"planned","channel":"later"}`, nil)
	require.Equal(t, http.StatusOK, status, m)
	status, m = admin.object(t, "/api/topics?inactive=true")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{"planned": []any{"later"}}, m["topics"])
}

func TestPingAndUnknownAPIPath(t *testing.T) {
	c := startCluster(t, 1)
	admin := startAdmin(t, nsqdMode(c))
	status, body := do(t, http.MethodGet, admin.base+"/ping", "", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "OK", string(body))
	status, m := admin.object(t, "/api/nope")
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, "NOT_FOUND", m["message"])
}
