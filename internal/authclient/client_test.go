package authclient

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/testnet"
	"github.com/stretchr/testify/require"
)

const grantAll = `{"ttl":60,"identity":"ann","identity_url":"http://id/ann","authorizations":[{"topic":".*","channels":[".*"],"permissions":["publish","subscribe"]}]}`

// request is what a test auth server saw of one query.
type request struct {
	method, path, accept, contentType string
	fields                            url.Values
}

// server answers every query with status and body and hands each request
// over on the returned channel.
func server(t *testing.T, status int, body string) (addr string, got chan request) {
	t.Helper()
	got = make(chan request, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := request{method: r.Method, path: r.URL.Path, accept: r.Header.Get("Accept"),
			contentType: r.Header.Get("Content-Type"), fields: r.URL.Query()}
		if r.Method == http.MethodPost {
			raw, _ := io.ReadAll(r.Body)
			req.fields = url.Values{}
			if err := json.Unmarshal(raw, &req.fields); err != nil {
				http.Error(w, "bad body", http.StatusBadRequest)
				return
			}
		}
		got <- req
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), got
}

func TestNewWithoutAddressesIsNil(t *testing.T) {
	require.Nil(t, New(Config{}), "nil is how a daemon knows auth is off")
	var c *Client
	c.Close() // nil-safe
}

func TestQueryGetSendsTheFactsInTheQueryString(t *testing.T) {
	addr, got := server(t, http.StatusOK, grantAll)
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	c := New(Config{Addresses: []string{addr}, Now: fake.Now})
	defer c.Close()
	state, err := c.Query(context.Background(), Query{RemoteIP: "10.0.0.7", TLS: true, CommonName: "cn", Secret: "s3"})
	require.NoError(t, err)
	require.Equal(t, "ann", state.Identity)
	require.Equal(t, fake.Now().Add(time.Minute), state.Expires, "the TTL counts from the auth clock")
	req := <-got
	require.Equal(t, http.MethodGet, req.method)
	require.Equal(t, "/auth", req.path)
	require.Equal(t, "application/vnd.nsq; version=1.0", req.accept)
	require.Equal(t, url.Values{"remote_ip": {"10.0.0.7"}, "tls": {"true"}, "common_name": {"cn"}, "secret": {"s3"}}, req.fields)
}

func TestQueryPostSendsTheFactsAsJSON(t *testing.T) {
	addr, got := server(t, http.StatusOK, grantAll)
	c := New(Config{Addresses: []string{addr}, Post: true})
	defer c.Close()
	_, err := c.Query(context.Background(), Query{RemoteIP: "10.0.0.7", Secret: "s3"})
	require.NoError(t, err)
	req := <-got
	require.Equal(t, http.MethodPost, req.method)
	require.Equal(t, "application/json", req.contentType)
	require.Equal(t, url.Values{"remote_ip": {"10.0.0.7"}, "tls": {"false"}, "common_name": {""}, "secret": {"s3"}}, req.fields)
}

func TestAFailingServerIsSkippedAndTheErrorNeverHoldsTheSecret(t *testing.T) {
	down := testnet.RefusedAddr(t)
	addr, _ := server(t, http.StatusForbidden, "no")
	c := New(Config{Addresses: []string{down, addr}, ConnectTimeout: 5 * time.Second})
	defer c.Close()
	_, err := c.Query(context.Background(), Query{Secret: "s3cret-value"})
	require.Error(t, err)
	require.Contains(t, err.Error(), "failed to auth against http://"+down+"/auth")
	require.Contains(t, err.Error(), `got response 403 Forbidden "no"`)
	require.NotContains(t, err.Error(), "s3cret-value")

	good, _ := server(t, http.StatusOK, grantAll)
	c2 := New(Config{Addresses: []string{down, good}, ConnectTimeout: 5 * time.Second})
	defer c2.Close()
	for range 4 { // whichever server a query starts at, the good one answers
		_, err := c2.Query(context.Background(), Query{Secret: "s"})
		require.NoError(t, err)
	}
}

func TestAReplyLargerThanTheBoundIsRefused(t *testing.T) {
	addr, _ := server(t, http.StatusOK, grantAll)
	c := New(Config{Addresses: []string{addr}, MaxReplySize: 16})
	defer c.Close()
	_, err := c.Query(context.Background(), Query{Secret: "s"})
	require.ErrorContains(t, err, "reply larger than 16 bytes")
}

// Close ends a query waiting on a slow auth server at once, so that a
// daemon's Exit does not wait out the request timeout.
func TestCloseAbortsAQueryInFlight(t *testing.T) {
	arrived := make(chan struct{})
	release := make(chan struct{})
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			close(arrived)
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := New(Config{Addresses: []string{strings.TrimPrefix(srv.URL, "http://")}, RequestTimeout: time.Hour})
	done := make(chan error, 1)
	go func() {
		_, err := c.Query(context.Background(), Query{Secret: "s"})
		done <- err
	}()
	<-arrived
	c.Close()
	select {
	case err := <-done:
		require.Error(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the query outlived Close")
	}
}
