package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/authclient"
	"github.com/nsqgo/nsq/internal/clock"
	"github.com/stretchr/testify/require"
)

// The per-connection session, in isolation from the daemon: a fake
// connection and, where the auth server is asked, an httptest one.

// fakeConn is a connection over TCP from 127.0.0.1 without TLS.
type fakeConn struct {
	shown atomic.Pointer[authclient.State]
}

func (*fakeConn) RemoteIP() string                       { return "127.0.0.1" }
func (*fakeConn) TLSPeer() (bool, string)                { return false, "" }
func (c *fakeConn) SetAuthorization(s *authclient.State) { c.shown.Store(s) }

const publishT = `{"ttl":60,"identity":"alice","authorizations":[{"topic":"^t","channels":[".*"],"permissions":["publish"]}]}`

func mustParse(t testing.TB, body string) *authclient.State {
	t.Helper()
	state, err := authclient.Parse([]byte(body), time.Now(), authclient.Rules{})
	require.NoError(t, err)
	return state
}

// authServer answers every query with body and counts the queries.
func authServer(t testing.TB, body *atomic.Pointer[string], hits *atomic.Int64) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(*body.Load()))
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// A producer's PUBs are decided once per topic: after the first check the
// grants are not consulted again until the answer is renewed.
func TestPublishDecisionIsCachedPerTopicUntilRenewal(t *testing.T) {
	state := mustParse(t, publishT)
	client := authclient.New(authclient.Config{Addresses: []string{"127.0.0.1:1"}})
	defer client.Close()
	conn := &fakeConn{}
	s := &Session{state: state}
	require.NoError(t, s.Check(client, conn, "PUB", "t1", ""))
	require.NoError(t, s.Check(client, conn, "PUB", "t3", ""))

	state.Grants = nil // cached decisions must not look here again
	require.NoError(t, s.Check(client, conn, "PUB", "t3", ""), "the latest topic")
	require.NoError(t, s.Check(client, conn, "PUB", "t1", ""), "an earlier topic")
	require.NoError(t, s.Check(client, conn, "MPUB", "t3", ""), "one cache for the whole PUB family")
	require.NoError(t, s.Check(client, conn, "DPUB", "t1", ""))
	require.EqualError(t, s.Check(client, conn, "PUB", "t2", ""), `E_UNAUTHORIZED AUTH failed for PUB on "t2" ""`,
		"an uncached topic is checked")
	require.EqualError(t, s.Check(client, conn, "SUB", "t1", "c"), `E_UNAUTHORIZED AUTH failed for SUB on "t1" "c"`,
		"subscribing is not served from the publish cache")
}

func TestPublishCacheIsBounded(t *testing.T) {
	client := authclient.New(authclient.Config{Addresses: []string{"127.0.0.1:1"}})
	defer client.Close()
	s := &Session{state: mustParse(t, `{"ttl":60,"authorizations":[{"topic":".*","channels":[".*"],"permissions":["publish"]}]}`)}
	for i := 0; i < maxPublishGrants+10; i++ {
		require.NoError(t, s.Check(client, &fakeConn{}, "PUB", fmt.Sprintf("t%d", i), ""))
	}
	require.LessOrEqual(t, len(s.published), maxPublishGrants)
}

func TestWithoutAuthServersEverythingIsAllowedAndAuthIsDisabled(t *testing.T) {
	var s Session
	require.NoError(t, s.Check(nil, &fakeConn{}, "PUB", "t", ""))
	_, err := s.Authenticate(nil, &fakeConn{}, []byte("secret"))
	require.EqualError(t, err, "E_AUTH_DISABLED AUTH disabled")
}

// AUTH installs the answer (shown to stats) and replies with its identity;
// once the auth clock passes the TTL the next check asks again, and the
// renewed answer replaces the cached decisions.
func TestAuthenticateThenRenewAfterTheTTL(t *testing.T) {
	var body atomic.Pointer[string]
	var hits atomic.Int64
	first := publishT
	body.Store(&first)
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	client := authclient.New(authclient.Config{Addresses: []string{authServer(t, &body, &hits)}, Now: fake.Now})
	defer client.Close()
	conn := &fakeConn{}
	var s Session

	require.EqualError(t, s.Check(client, conn, "PUB", "t", ""), "E_AUTH_FIRST AUTH required before PUB")
	reply, err := s.Authenticate(client, conn, []byte("secret"))
	require.NoError(t, err)
	require.JSONEq(t, `{"identity":"alice","identity_url":"","permission_count":1}`, string(reply))
	require.Same(t, s.State(), conn.shown.Load())
	_, err = s.Authenticate(client, conn, []byte("secret"))
	require.EqualError(t, err, "E_INVALID AUTH already set")

	require.NoError(t, s.Check(client, conn, "PUB", "t", ""))
	require.EqualValues(t, 1, hits.Load())
	second := `{"ttl":60,"identity":"bob","authorizations":[{"topic":"^other$","channels":[".*"],"permissions":["publish"]}]}`
	body.Store(&second)
	fake.Advance(61 * time.Second)
	require.EqualError(t, s.Check(client, conn, "PUB", "t", ""), `E_UNAUTHORIZED AUTH failed for PUB on "t" ""`,
		"the renewed answer replaced the cached decision")
	require.EqualValues(t, 2, hits.Load())
	require.Equal(t, "bob", conn.shown.Load().Identity)
}

func TestAuthServerFailureIsAuthFailedWithTheCauseForTheLog(t *testing.T) {
	client := authclient.New(authclient.Config{Addresses: []string{"127.0.0.1:1"}, ConnectTimeout: time.Second})
	defer client.Close()
	var s Session
	_, err := s.Authenticate(client, &fakeConn{}, []byte("s3cret"))
	var refusal *Refusal
	require.True(t, errors.As(err, &refusal))
	require.Equal(t, "E_AUTH_FAILED AUTH failed", refusal.Error())
	require.Error(t, refusal.Cause)
	require.NotContains(t, refusal.Cause.Error(), "s3cret")
}

func TestNoAuthorizationsIsUnauthorized(t *testing.T) {
	var body atomic.Pointer[string]
	var hits atomic.Int64
	none := `{"ttl":60,"identity":"nobody","authorizations":[]}`
	body.Store(&none)
	client := authclient.New(authclient.Config{Addresses: []string{authServer(t, &body, &hits)}})
	defer client.Close()
	var s Session
	_, err := s.Authenticate(client, &fakeConn{}, []byte("secret"))
	require.EqualError(t, err, "E_UNAUTHORIZED AUTH no authorizations found")
	require.Nil(t, s.State())
}
