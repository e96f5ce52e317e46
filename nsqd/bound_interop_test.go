package nsqd

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// go-nsq's producer reports a full reject-new channel's refusal from
// Publish and MultiPublish, and the same connection publishes again once
// there is room (the refusal is not fatal).
func TestGoNsqProducerReportsAFullChannel(t *testing.T) {
	n := startDaemon(t, nil)
	c := boundedChannel(t, n, "orders", "work", "max_depth=2&overflow=reject-new")
	producer := gonsqProducer(t, n, newGonsqLog(t))
	require.NoError(t, producer.Publish("orders", []byte("a")))
	require.NoError(t, producer.Publish("orders", []byte("b")))
	err := producer.Publish("orders", []byte("c"))
	require.ErrorContains(t, err, "E_PUB_FAILED PUB failed channel orders:work: queue is full")
	err = producer.MultiPublish("orders", [][]byte{[]byte("c"), []byte("d")})
	require.ErrorContains(t, err, "E_MPUB_FAILED MPUB failed channel orders:work: queue is full")
	require.EqualValues(t, 2, c.Depth())

	adminPost(t, n, "/channel/empty?topic=orders&channel=work")
	require.NoError(t, producer.Publish("orders", []byte("c")))
	require.EqualValues(t, 1, c.Depth())
}

// Under --http-auth=all the peek and the dead set's admin need the admin
// grant on the topic and channel, as the other /channel/* endpoints.
func TestHTTPAuthAllGuardsPeekAndDeadAdmin(t *testing.T) {
	a := newAuthServer(t, "")
	a.setResponder(httpAuthResponder)
	n := startAuthDaemon(t, []string{a.addr()}, func(o *Options) { o.HTTPAuth = httpAuthAll })
	status, _, _ := httpAuthDo(t, n, "POST", "/topic/create?topic=orders", "orders-admin", "")
	require.Equal(t, http.StatusOK, status)
	status, _, _ = httpAuthDo(t, n, "POST", "/channel/create?topic=orders&channel=work", "orders-admin", "")
	require.Equal(t, http.StatusOK, status)
	for _, c := range []httpAuthCase{
		{"GET", "/channel/peek?topic=orders&channel=work", "", "orders-admin", "publisher"},
		{"GET", "/topic/peek?topic=orders", "", "orders-admin", "subscriber"},
		{"POST", "/channel/dead/redrive?topic=orders&channel=work", "", "orders-admin", "publisher"},
		{"POST", "/channel/dead/empty?topic=orders&channel=work", "", "operator", "subscriber"},
	} {
		status, body, _ := httpAuthDo(t, n, c.method, c.path, "", c.body)
		require.Equal(t, http.StatusUnauthorized, status, "%s: %s", c.path, body)
		status, body, _ = httpAuthDo(t, n, c.method, c.path, c.denied, c.body)
		require.Equal(t, http.StatusForbidden, status, "%s: %s", c.path, body)
		status, body, _ = httpAuthDo(t, n, c.method, c.path, c.granted, c.body)
		require.Equal(t, http.StatusOK, status, "%s: %s", c.path, body)
	}
	status, _, _ = httpAuthDo(t, n, "GET", "/channel/peek?topic=orders&channel=audit", "orders-admin", "")
	require.Equal(t, http.StatusForbidden, status, "the grant is per channel")
}
