package nsqadmin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest"
)

// notificationSink is an HTTP endpoint that records each POSTed body.
func notificationSink(t *testing.T) (string, <-chan map[string]any) {
	t.Helper()
	got := make(chan map[string]any, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &m) != nil {
			t.Errorf("bad notification %s %s %q", r.Method, r.Header.Get("Content-Type"), body)
		}
		got <- m
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/events", got
}

func next(t *testing.T, ch <-chan map[string]any) map[string]any {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(tooltest.WaitTimeout):
		t.Fatal("no notification")
		return nil
	}
}

func TestActionsAreNotifiedWithUpstreamFields(t *testing.T) {
	c := startCluster(t, 1)
	c.createChannel(t, 0, "news", "readers")
	c.awaitLookup(t, "news", 0)
	endpoint, got := notificationSink(t)
	admin := startAdmin(t, func(o *Options) {
		lookupdMode(c)(o)
		o.NotificationHTTPEndpoint = endpoint
	})
	hostname, _ := os.Hostname()

	status, _ := admin.send(t, http.MethodPost, "/api/topics/news", `{"action":"pause"}`, map[string]string{
		"Authorization": "Basic YW5uOnNlY3JldA==", // ann:secret
		"User-Agent":    "ops-script/1.0",
	})
	require.Equal(t, http.StatusOK, status)
	m := next(t, got)
	require.Equal(t, sorted("action", "topic", "timestamp", "user", "remote_ip", "user_agent", "url", "via"), keys(m))
	require.Equal(t, "pause_topic", m["action"])
	require.Equal(t, "news", m["topic"])
	require.Equal(t, "ann", m["user"])
	require.Equal(t, "ops-script/1.0", m["user_agent"])
	require.Equal(t, admin.base+"/api/topics/news", m["url"])
	require.Equal(t, hostname, m["via"])
	require.Contains(t, m["remote_ip"], "127.0.0.1:")
	require.InDelta(t, float64(time.Now().Unix()), m["timestamp"], 60)

	status, _ = admin.send(t, http.MethodPost, "/api/topics", `{"topic":"news","channel":"extra"}`, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "create_topic", next(t, got)["action"])
	m = next(t, got)
	require.Equal(t, "create_channel", m["action"])
	require.Equal(t, "extra", m["channel"])

	for _, tc := range []struct{ method, path, body, action string }{
		{http.MethodPost, "/api/topics/news", `{"action":"unpause"}`, "unpause_topic"},
		{http.MethodPost, "/api/topics/news", `{"action":"empty"}`, "empty_topic"},
		{http.MethodPost, "/api/topics/news/readers", `{"action":"pause"}`, "pause_channel"},
		{http.MethodPost, "/api/topics/news/readers", `{"action":"unpause"}`, "unpause_channel"},
		{http.MethodPost, "/api/topics/news/readers", `{"action":"empty"}`, "empty_channel"},
		{http.MethodDelete, "/api/topics/news/readers", ``, "delete_channel"},
		{http.MethodDelete, "/api/nodes/" + c.nsqds[0].HTTPAddr(), `{"topic":"news"}`, "tombstone_topic_producer"},
		{http.MethodDelete, "/api/topics/news", ``, "delete_topic"},
	} {
		status, m := admin.send(t, tc.method, tc.path, tc.body, nil)
		require.Equal(t, http.StatusOK, status, "%s %s: %v", tc.method, tc.path, m)
		got := next(t, got)
		require.Equal(t, tc.action, got["action"])
		require.NotContains(t, got, "user", "no user is known")
		if tc.action == "tombstone_topic_producer" {
			require.Equal(t, c.nsqds[0].HTTPAddr(), got["node"])
		}
	}
}

func TestRefusedActionIsNotNotified(t *testing.T) {
	c := startCluster(t, 1)
	endpoint, got := notificationSink(t)
	admin := startAdmin(t, func(o *Options) {
		nsqdMode(c)(o)
		o.NotificationHTTPEndpoint = endpoint
		o.AdminUsers = []string{"ann"}
	})
	status, _ := admin.send(t, http.MethodPost, "/api/topics", `{"topic":"x"}`, map[string]string{"X-Forwarded-User": "bob"})
	require.Equal(t, http.StatusForbidden, status)
	status, _ = admin.send(t, http.MethodPost, "/api/topics", `{"topic":"y"}`, map[string]string{"X-Forwarded-User": "ann"})
	require.Equal(t, http.StatusOK, status)
	m := next(t, got)
	require.Equal(t, "y", m["topic"], "the refused action sent nothing")
	require.Equal(t, "ann", m["user"], "the ACL header names the user when basic auth does not")
}
