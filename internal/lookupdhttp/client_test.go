package lookupdhttp_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/lookupdhttp"
	"github.com/nsqgo/nsq/internal/tooltest"
)

func newClient(t *testing.T) *lookupdhttp.Client {
	c := lookupdhttp.New(lookupdhttp.Options{ConnectTimeout: tooltest.WaitTimeout, RequestTimeout: tooltest.WaitTimeout})
	t.Cleanup(c.Close)
	return c
}

func post(t *testing.T, httpAddr, path string, query url.Values) {
	t.Helper()
	client := &http.Client{Timeout: tooltest.WaitTimeout}
	resp, err := client.Post("http://"+httpAddr+path+"?"+query.Encode(), "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, path)
}

// TestEveryQueryAgainstRealLookupdsWithOneDown asks two real nsqlookupds
// and one address nothing listens on: each answer comes back under its
// address, the one down fails alone, and the unions hold what either live
// lookupd knows.
func TestEveryQueryAgainstRealLookupdsWithOneDown(t *testing.T) {
	a, b := tooltest.StartLookupd(t), tooltest.StartLookupd(t)
	n := tooltest.StartNSQD(t, a.TCPAddr(), b.TCPAddr())
	post(t, n.HTTPAddr(), "/topic/create", url.Values{"topic": {"orders"}})
	post(t, n.HTTPAddr(), "/channel/create", url.Values{"topic": {"orders"}, "channel": {"archive"}})
	// Known to lookupd b only: the union must still have it.
	post(t, b.HTTPAddr(), "/channel/create", url.Values{"topic": {"orders"}, "channel": {"only-b"}})
	post(t, b.HTTPAddr(), "/topic/create", url.Values{"topic": {"b-topic"}})

	c := newClient(t)
	ctx := context.Background()
	tooltest.Eventually(t, "the nsqd registered with both lookupds", func() bool {
		for _, l := range []string{a.HTTPAddr(), b.HTTPAddr()} {
			if nodes, err := c.Producers(ctx, l, "orders"); err != nil || len(nodes) != 1 {
				return false
			}
			if names, err := c.Channels(ctx, l, "orders"); err != nil || !contains(names, "archive") {
				return false
			}
		}
		return true
	})

	down := tooltest.ClosedPort(t)
	addrs := []string{a.HTTPAddr(), down, "http://" + b.HTTPAddr() + "/"}

	lookups := lookupdhttp.AskEach(ctx, addrs, func(ctx context.Context, addr string) ([]lookupdhttp.Node, error) {
		return c.Lookup(ctx, addr, "orders")
	})
	require.Len(t, lookups, 3)
	for i, answer := range lookups {
		require.Equal(t, addrs[i], answer.Addr, "answers come back in the order asked")
	}
	require.NoError(t, lookups[0].Err)
	require.ErrorContains(t, lookups[1].Err, "connection refused")
	require.Nil(t, lookups[1].Value, "a failed answer holds nothing")
	require.NoError(t, lookups[2].Err)
	require.Len(t, lookupdhttp.Errors(lookups), 1)
	require.Equal(t, []string{n.TCPAddr()}, lookupdhttp.Union(lookups, lookupdhttp.Node.TCPAddress),
		"both lookupds list the one nsqd: it is there once")
	require.Equal(t, []string{n.HTTPAddr()}, lookupdhttp.Union(lookups, lookupdhttp.Node.HTTPAddress))

	topics := lookupdhttp.AskEach(ctx, addrs, c.Topics)
	require.Equal(t, []string{"b-topic", "orders"}, lookupdhttp.UnionNames(topics))
	require.Len(t, lookupdhttp.Errors(topics), 1)

	channels := lookupdhttp.AskEach(ctx, addrs, func(ctx context.Context, addr string) ([]string, error) {
		return c.Channels(ctx, addr, "orders")
	})
	require.Equal(t, []string{"archive", "only-b"}, lookupdhttp.UnionNames(channels))
	require.Equal(t, []string{"archive"}, channels[0].Value)

	nodes := lookupdhttp.AskEach(ctx, addrs, c.Nodes)
	for _, i := range []int{0, 2} {
		require.NoError(t, nodes[i].Err)
		require.Len(t, nodes[i].Value, 1)
		node := nodes[i].Value[0]
		require.Equal(t, n.TCPAddr(), node.TCPAddress())
		require.Equal(t, []string{"orders"}, node.Topics)
		require.Equal(t, []bool{false}, node.Tombstones)
		require.NotEmpty(t, node.Version)
	}

	// Every lookupd down: every answer fails and the union is empty.
	allDown := lookupdhttp.AskEach(ctx, []string{down, tooltest.ClosedPort(t)}, c.Topics)
	require.Len(t, lookupdhttp.Errors(allDown), 2)
	require.Equal(t, []string{}, lookupdhttp.UnionNames(allDown))
}

// TestUnknownTopic: /lookup's 404 is a failure for Lookup (nsqadmin) and
// "no producers" for Producers (consumers, nsq_stat).
func TestUnknownTopic(t *testing.T) {
	l := tooltest.StartLookupd(t)
	c := newClient(t)
	ctx := context.Background()

	_, err := c.Lookup(ctx, l.HTTPAddr(), "missing")
	var status *lookupdhttp.StatusError
	require.ErrorAs(t, err, &status)
	require.Equal(t, &lookupdhttp.StatusError{Code: http.StatusNotFound, Message: "TOPIC_NOT_FOUND"}, status)
	require.Contains(t, err.Error(), "GET http://"+l.HTTPAddr()+"/lookup?topic=missing: got response 404 TOPIC_NOT_FOUND")

	nodes, err := c.Producers(ctx, l.HTTPAddr(), "missing")
	require.NoError(t, err)
	require.Empty(t, nodes)
}

func TestAskEachHonoursACancelledContext(t *testing.T) {
	l := tooltest.StartLookupd(t)
	c := newClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	answers := lookupdhttp.AskEach(ctx, []string{l.HTTPAddr(), l.HTTPAddr()}, c.Topics)
	require.Len(t, lookupdhttp.Errors(answers), 2)
	for _, a := range answers {
		require.ErrorIs(t, a.Err, context.Canceled)
	}
	require.Empty(t, lookupdhttp.AskEach(ctx, nil, c.Topics))
}

func contains(names []string, want string) bool {
	for _, n := range names {
		if n == want {
			return true
		}
	}
	return false
}
