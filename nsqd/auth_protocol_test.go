package nsqd

import (
	"encoding/binary"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// AUTH and the auth step of PUB, MPUB, DPUB and SUB against a test auth
// server: the errors AUTH answers and the E_AUTH_FIRST / E_UNAUTHORIZED
// checks of PUB, MPUB, DPUB and SUB.

func TestIdentifyReportsAuthRequiredWhenAuthServersAreConfigured(t *testing.T) {
	auth := newAuthServer(t, answerAlice)
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	reply := dialV2(t, n).identify(map[string]any{"feature_negotiation": true})
	require.Equal(t, true, reply["auth_required"])
}

func TestAuthReplyCarriesIdentityURLAndPermissionCount(t *testing.T) {
	auth := newAuthServer(t, `{"ttl":60,"identity":"alice","identity_url":"http://id/alice","authorizations":[`+
		`{"topic":"a","channels":[".*"],"permissions":["publish"]},`+
		`{"topic":"b","channels":[".*"],"permissions":["subscribe"]}]}`)
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	c := dialV2(t, n)
	require.Equal(t, `{"identity":"alice","identity_url":"http://id/alice","permission_count":2}`,
		c.authenticate("secret"))
}

func TestAuthTwiceIsAlreadySetAfterReadingTheBody(t *testing.T) {
	auth := newAuthServer(t, answerAlice)
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	c := authedConn(t, n, "secret")
	c.send("AUTH", []byte("another"))
	c.expectFatal("E_INVALID AUTH already set")
	require.Equal(t, int64(1), auth.hits.Load(), "the second AUTH asks no server")
}

func TestAuthWithoutAuthorizationsIsUnauthorized(t *testing.T) {
	auth := newAuthServer(t, answerNoGrants)
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	c := dialV2(t, n)
	c.send("AUTH", []byte("secret"))
	c.expectFatal("E_UNAUTHORIZED AUTH no authorizations found")
}

func TestCommandsBeforeAuthAreAuthFirst(t *testing.T) {
	auth := newAuthServer(t, answerAlice)
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	for _, tc := range []struct {
		cmd  []byte
		want string
	}{
		{command("PUB t", []byte("x")), "E_AUTH_FIRST AUTH required before PUB"},
		{command("MPUB t", mpubBody("x")), "E_AUTH_FIRST AUTH required before MPUB"},
		{command("DPUB t 0", []byte("x")), "E_AUTH_FIRST AUTH required before DPUB"},
		{command("SUB t c"), "E_AUTH_FIRST AUTH required before SUB"},
	} {
		c := dialV2(t, n)
		c.sendRaw(tc.cmd)
		c.expectFatal(tc.want)
	}
	require.Empty(t, n.Topics(), "nothing refused creates a topic")
	require.Zero(t, auth.hits.Load())
}

// Each command checks auth at its own place in its check order: PUB and
// DPUB after reading the body, MPUB before it, SUB after the names.
func TestAuthCheckComesAtTheReferencePositionOfEachCommand(t *testing.T) {
	auth := newAuthServer(t, answerAlice)
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	sized := func(line string, size uint32) []byte {
		return binary.BigEndian.AppendUint32([]byte(line+"\n"), size)
	}
	for _, tc := range []struct {
		cmd  []byte
		want string
	}{
		{command("PUB bad!"), `E_BAD_TOPIC PUB topic name "bad!" is not valid`},
		{sized("PUB t", 0), "E_BAD_MESSAGE PUB invalid message body size 0"},
		{command("MPUB bad!"), `E_BAD_TOPIC E_BAD_TOPIC MPUB topic name "bad!" is not valid`},
		{sized("MPUB t", 0), "E_AUTH_FIRST AUTH required before MPUB"},
		{command("DPUB t x"), "E_INVALID DPUB could not parse timeout x"},
		{sized("DPUB t 0", 0), "E_BAD_MESSAGE DPUB invalid message body size 0"},
		{command("SUB t bad!"), `E_BAD_CHANNEL SUB channel name "bad!" is not valid`},
	} {
		c := dialV2(t, n)
		c.sendRaw(tc.cmd)
		c.expectFatal(tc.want)
	}
}

func TestUnauthorizedErrorsNameCommandTopicAndChannel(t *testing.T) {
	auth := newAuthServer(t, answer(60, "^allowed$", []string{".*"}, "publish", "subscribe"))
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	for _, tc := range []struct {
		cmd  []byte
		want string
	}{
		{command("PUB denied", []byte("x")), `E_UNAUTHORIZED AUTH failed for PUB on "denied" ""`},
		{command("MPUB denied", mpubBody("x")), `E_UNAUTHORIZED AUTH failed for MPUB on "denied" ""`},
		{command("DPUB denied 10", []byte("x")), `E_UNAUTHORIZED AUTH failed for DPUB on "denied" ""`},
		{command("SUB denied c"), `E_UNAUTHORIZED AUTH failed for SUB on "denied" "c"`},
	} {
		c := authedConn(t, n, "secret")
		c.sendRaw(tc.cmd)
		c.expectFatal(tc.want)
	}
	require.Empty(t, n.Topics(), "a refused MPUB creates no topic (auth comes first)")
}

func TestSubAuthComesBeforeTheConsumerLimit(t *testing.T) {
	auth := newAuthServer(t, answer(60, "^t$", []string{"^ok$"}, "subscribe"))
	n := startAuthDaemon(t, []string{auth.addr()}, func(o *Options) { o.MaxChannelConsumers = 1 })
	authedConn(t, n, "secret").subscribe("t", "ok")
	// Both checks fail for this one; auth's error wins.
	c := authedConn(t, n, "secret")
	c.send("SUB t denied")
	c.expectFatal(`E_UNAUTHORIZED AUTH failed for SUB on "t" "denied"`)
}

func TestPublishTopicRegexpIsUnanchored(t *testing.T) {
	auth := newAuthServer(t, answer(60, "allowed", []string{".*"}, "publish"))
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	c := authedConn(t, n, "secret")
	c.pub("allowed", "x")
	c.pub("not_allowed_either_way", "x")
	c.mpub("allowed2", "x", "y")
	c.send("DPUB xallowedx 10", []byte("x"))
	c.expectResponse("OK")
	c.send("PUB other", []byte("x"))
	c.expectFatal(`E_UNAUTHORIZED AUTH failed for PUB on "other" ""`)
}

func TestPublishNeedsAChannelPatternMatchingTheEmptyString(t *testing.T) {
	// Publishing is checked with channel "": "^c$" cannot match it.
	auth := newAuthServer(t, answer(60, ".*", []string{"^c$"}, "publish", "subscribe"))
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	authedConn(t, n, "secret").subscribe("t", "c")
	c := authedConn(t, n, "secret")
	c.send("PUB t", []byte("x"))
	c.expectFatal(`E_UNAUTHORIZED AUTH failed for PUB on "t" ""`)
}

func TestPublishNeedsThePublishPermission(t *testing.T) {
	auth := newAuthServer(t, answer(60, ".*", []string{".*"}, "subscribe"))
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	authedConn(t, n, "secret").subscribe("t", "c")
	c := authedConn(t, n, "secret")
	c.send("PUB t", []byte("x"))
	c.expectFatal(`E_UNAUTHORIZED AUTH failed for PUB on "t" ""`)
}

func TestSubscribeNeedsTheSubscribePermission(t *testing.T) {
	auth := newAuthServer(t, answer(60, ".*", []string{".*"}, "publish"))
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	c := authedConn(t, n, "secret")
	c.pub("t", "x")
	c.send("SUB t c")
	c.expectFatal(`E_UNAUTHORIZED AUTH failed for SUB on "t" "c"`)
}

func TestSubscribeChannelRegexpIsUnanchored(t *testing.T) {
	auth := newAuthServer(t, answer(60, "^t$", []string{"ok"}, "subscribe"))
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	authedConn(t, n, "secret").subscribe("t", "ok")
	authedConn(t, n, "secret").subscribe("t", "not_ok_but_matches")
	c := authedConn(t, n, "secret")
	c.send("SUB t other")
	c.expectFatal(`E_UNAUTHORIZED AUTH failed for SUB on "t" "other"`)
}

func TestAnyOfSeveralAuthorizationsMayAllow(t *testing.T) {
	auth := newAuthServer(t, `{"ttl":60,"authorizations":[`+
		`{"topic":"^a$","channels":[".*"],"permissions":["publish"]},`+
		`{"topic":"^b$","channels":[".*"],"permissions":["publish"]}]}`)
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	c := authedConn(t, n, "secret")
	c.pub("a", "x")
	c.pub("b", "x")
	c.send("PUB c", []byte("x"))
	c.expectFatal(`E_UNAUTHORIZED AUTH failed for PUB on "c" ""`)
}

func TestExpiredAuthorizationIsQueriedAgainAtTheNextCheck(t *testing.T) {
	auth := newAuthServer(t, answer(60, ".*", []string{".*"}, "publish"))
	n := startAuthDaemon(t, []string{auth.addr()}, withFakeClock)
	c := authedConnQuiet(t, n, "secret")
	c.pub("t", "1")
	c.pub("t", "2")
	require.Equal(t, int64(1), auth.hits.Load(), "a fresh answer is not asked again")

	advanceAuthClock(n, 61*time.Second)
	c.pub("t", "3")
	require.Equal(t, int64(2), auth.hits.Load(), "the expired answer was renewed")
	require.Equal(t, "secret", auth.lastRequest(t).fields.Get("secret"), "with the AUTH secret")
	c.pub("t", "4")
	require.Equal(t, int64(2), auth.hits.Load(), "the renewed answer is fresh for another TTL")
}

func TestFailedRenewalIsAuthFailed(t *testing.T) {
	auth := newAuthServer(t, answer(60, ".*", []string{".*"}, "publish"))
	n := startAuthDaemon(t, []string{auth.addr()}, withFakeClock)
	c := authedConnQuiet(t, n, "secret")
	c.pub("t", "1")
	auth.setReply(http.StatusInternalServerError, "down for maintenance")
	advanceAuthClock(n, 61*time.Second)
	c.send("PUB t", []byte("2"))
	c.expectFatal("E_AUTH_FAILED AUTH failed")
}

// A topic allowed (and cached) under the old answer is checked again
// under the new one.
func TestRenewedAuthorizationReplacesCachedDecisions(t *testing.T) {
	auth := newAuthServer(t, answer(60, ".*", []string{".*"}, "publish"))
	n := startAuthDaemon(t, []string{auth.addr()}, withFakeClock)
	c := authedConnQuiet(t, n, "secret")
	c.pub("t", "1")
	auth.setReply(http.StatusOK, answer(60, "^other$", []string{".*"}, "publish"))
	advanceAuthClock(n, 61*time.Second)
	c.send("PUB t", []byte("2"))
	c.expectFatal(`E_UNAUTHORIZED AUTH failed for PUB on "t" ""`)
}

func TestRenewalAppliesToSubscribe(t *testing.T) {
	auth := newAuthServer(t, answer(60, ".*", []string{".*"}, "subscribe"))
	n := startAuthDaemon(t, []string{auth.addr()}, withFakeClock)
	c := authedConnQuiet(t, n, "secret")
	auth.setReply(http.StatusOK, `not json`)
	advanceAuthClock(n, 61*time.Second)
	c.send("SUB t c")
	c.expectFatal("E_AUTH_FAILED AUTH failed")
	require.Equal(t, int64(2), auth.hits.Load())
}

func TestHTTPPublishIsNotSubjectToAuth(t *testing.T) {
	auth := newAuthServer(t, answerNoGrants)
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	status, body := httpPost(t, n, "/pub?topic=t", "over http")
	requireOK(t, "OK", status, body)
	require.Zero(t, auth.hits.Load())
}

func TestStatsShowAuthIdentityOnlyForAuthenticatedClients(t *testing.T) {
	auth := newAuthServer(t, answerAlice)
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	authed := authedConn(t, n, "secret")
	authed.identify(map[string]any{"user_agent": "ua"})
	authed.pub("t", "x")
	status, body := httpGet(t, n, "/stats?format=json")
	require.Equal(t, http.StatusOK, status)
	// Only-if-set, after user_agent and before pub_counts, as upstream orders them.
	require.Contains(t, string(body), `"user_agent":"ua","authed":true,"auth_identity":"alice",`+
		`"auth_identity_url":"http://id/alice","pub_counts":[`)

	// A plain daemon's producer has none of the keys.
	plain := startDaemon(t, nil)
	dialV2(t, plain).pub("t", "x") // stays connected, so it is listed
	status, body = httpGet(t, plain, "/stats?format=json")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, string(body), `"pub_counts"`)
	require.False(t, strings.Contains(string(body), `"authed"`) || strings.Contains(string(body), `"auth_identity`))
}

func TestUnknownAuthRequestMethodFailsNew(t *testing.T) {
	opts := NewOptions()
	opts.TCPAddress, opts.HTTPAddress = "127.0.0.1:0", "127.0.0.1:0"
	opts.DataPath = t.TempDir()
	opts.AuthHTTPRequestMethod = "put"
	_, err := New(opts)
	require.EqualError(t, err, "--auth-http-request-method must be post or get")
}

func TestConfigShowsAuthOptions(t *testing.T) {
	n := startAuthDaemon(t, []string{"127.0.0.1:1", "http://a/b"}, func(o *Options) {
		o.AuthHTTPRequestMethod = "post"
	})
	status, body := httpGet(t, n, "/config/auth_http_addresses")
	requireOK(t, `["127.0.0.1:1","http://a/b"]`, status, body)
	status, body = httpGet(t, n, "/config/auth_http_request_method")
	requireOK(t, "post", status, body)

	plain := startDaemon(t, nil)
	status, body = httpGet(t, plain, "/config/auth_http_addresses")
	requireOK(t, "[]", status, body)
}
