package nsqadmin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/tooltest"
	"github.com/nsqgo/nsq/internal/tooltest/daemons"
)

// testCluster is a lookupd with nsqds registered to it.
type testCluster struct {
	lookupd tooltest.Lookupd
	nsqds   []tooltest.NSQD
}

// startCluster starts a lookupd and n nsqds registered with it, and waits
// until the lookupd lists every nsqd.
func startCluster(t *testing.T, n int) *testCluster {
	t.Helper()
	c := &testCluster{lookupd: tooltest.StartLookupd(t)}
	for range n {
		c.nsqds = append(c.nsqds, tooltest.StartNSQD(t, c.lookupd.TCPAddr()))
	}
	tooltest.Eventually(t, "lookupd lists every nsqd", func() bool {
		var nodes struct {
			Producers []any `json:"producers"`
		}
		return getInto(t, "http://"+c.lookupd.HTTPAddr()+"/nodes", &nodes) == http.StatusOK && len(nodes.Producers) == n
	})
	return c
}

// nsqdHTTPAddrs is every nsqd's HTTP address, as nsqadmin names nodes.
func (c *testCluster) nsqdHTTPAddrs() []string {
	out := make([]string, len(c.nsqds))
	for i, n := range c.nsqds {
		out[i] = n.HTTPAddr()
	}
	return out
}

// publish publishes bodies to topic on nsqd i.
func (c *testCluster) publish(t *testing.T, i int, topic string, bodies ...string) {
	t.Helper()
	tooltest.Publish(t, c.nsqds[i].TCPAddr(), topic, bodies...)
}

// createChannel creates topic and topic/channel on nsqd i through its
// HTTP API.
func (c *testCluster) createChannel(t *testing.T, i int, topic, channel string) {
	t.Helper()
	q := url.Values{"topic": {topic}}
	status, body := do(t, http.MethodPost, "http://"+c.nsqds[i].HTTPAddr()+"/topic/create?"+q.Encode(), "", nil)
	require.Equal(t, http.StatusOK, status, string(body))
	q.Set("channel", channel)
	status, body = do(t, http.MethodPost, "http://"+c.nsqds[i].HTTPAddr()+"/channel/create?"+q.Encode(), "", nil)
	require.Equal(t, http.StatusOK, status, string(body))
}

// awaitLookup waits until the lookupd lists exactly want (nsqd indexes)
// as producers of topic.
func (c *testCluster) awaitLookup(t *testing.T, topic string, want ...int) {
	t.Helper()
	var wantAddrs []string
	for _, i := range want {
		wantAddrs = append(wantAddrs, c.nsqds[i].TCPAddr())
	}
	slices.Sort(wantAddrs)
	tooltest.Eventually(t, "lookupd producers of "+topic, func() bool {
		var answer struct {
			Producers []struct {
				BroadcastAddress string `json:"broadcast_address"`
				TCPPort          int    `json:"tcp_port"`
			} `json:"producers"`
		}
		if getInto(t, "http://"+c.lookupd.HTTPAddr()+"/lookup?topic="+url.QueryEscape(topic), &answer) != http.StatusOK {
			return len(wantAddrs) == 0
		}
		var got []string
		for _, p := range answer.Producers {
			got = append(got, p.BroadcastAddress+":"+itoa(p.TCPPort))
		}
		slices.Sort(got)
		return slices.Equal(got, wantAddrs)
	})
}

func itoa(i int) string { return strconv.Itoa(i) }

// testAdmin is an nsqadmin serving in-process.
type testAdmin struct {
	*NSQAdmin
	base string // http://host:port plus the base path, without a trailing slash
}

// startAdmin runs nsqadmin on 127.0.0.1:0 with configure applied, stopped
// when the test ends.
func startAdmin(t *testing.T, configure func(*Options)) *testAdmin {
	t.Helper()
	opts := NewOptions()
	opts.HTTPAddress = "127.0.0.1:0"
	opts.Logger = daemons.LogWriter(t)
	opts.LogLevel = logging.Warn
	opts.HTTPClientRequestTimeout = 5 * time.Second
	configure(opts)
	n, err := New(opts)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- n.Main() }()
	t.Cleanup(func() {
		n.Exit()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(tooltest.WaitTimeout):
			t.Error("nsqadmin did not stop in time")
		}
	})
	base := "http://" + n.RealHTTPAddr().String() + strings.TrimSuffix(n.getOpts().BasePath, "/")
	return &testAdmin{NSQAdmin: n, base: base}
}

func lookupdMode(c *testCluster) func(*Options) {
	return func(o *Options) { o.NSQLookupdHTTPAddresses = []string{c.lookupd.HTTPAddr()} }
}

func nsqdMode(c *testCluster) func(*Options) {
	return func(o *Options) { o.NSQDHTTPAddresses = c.nsqdHTTPAddrs() }
}

// get fetches path under the admin's base path and decodes the answer.
func (a *testAdmin) get(t *testing.T, path string, into any) int {
	t.Helper()
	return getInto(t, a.base+path, into)
}

// object fetches path and returns its status and JSON object.
func (a *testAdmin) object(t *testing.T, path string) (int, map[string]any) {
	t.Helper()
	var m map[string]any
	status := a.get(t, path, &m)
	return status, m
}

// send performs an action with a JSON body (may be "") and returns the
// status and decoded answer.
func (a *testAdmin) send(t *testing.T, method, path, body string, headers map[string]string) (int, map[string]any) {
	t.Helper()
	status, data := do(t, method, a.base+path, body, headers)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m), "%s %s answered %d %q", method, path, status, data)
	return status, m
}

func getInto(t *testing.T, u string, into any) int {
	t.Helper()
	status, data := do(t, http.MethodGet, u, "", nil)
	if status == http.StatusOK || strings.HasPrefix(strings.TrimSpace(string(data)), "{") {
		require.NoError(t, json.Unmarshal(data, into), "GET %s: %q", u, data)
	}
	return status
}

func do(t *testing.T, method, u, body string, headers map[string]string) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, r)
	require.NoError(t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: tooltest.WaitTimeout}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, data
}

// keys is the sorted field names of a JSON object.
func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// sorted returns names sorted, for comparing with keys.
func sorted(names ...string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return out
}

// obj and list are type assertions for decoded JSON, failing the test.
func obj(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	require.True(t, ok, "want an object, got %T %v", v, v)
	return m
}

func list(t *testing.T, v any) []any {
	t.Helper()
	l, ok := v.([]any)
	require.True(t, ok, "want a list, got %T %v", v, v)
	return l
}

// awaitChannelDepth waits until nsqd i's topic/channel holds depth
// messages: a PUB is acknowledged before the topic hands the message to
// its channels.
func (c *testCluster) awaitChannelDepth(t *testing.T, i int, topic, channel string, depth int64) {
	t.Helper()
	tooltest.Eventually(t, topic+"/"+channel+" depth on nsqd "+strconv.Itoa(i), func() bool {
		cs, ok := c.nsqds[i].Channel(topic, channel)
		return ok && cs.Depth == depth
	})
}
