package browsertest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/nsqadmin"
)

func TestEveryPageFitsAPhoneScreen(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	b.phone = &[2]int64{375, 740}
	c := startCluster(t, nil)
	c.populate(t)

	for _, page := range []string{"/", "/topics/orders", "/topics/orders/archive", "/nodes", "/nodes/" + c.nodeName(), "/counter", "/lookup"} {
		b.open(c.url + page)
		b.waitJS(page+" rendered", `!!document.querySelector('#live') && document.querySelector('#live').children.length > 0`)
		// Nothing wider than the screen: wide tables scroll inside their box.
		require.Equal(t, true, eval[bool](b, `document.documentElement.scrollWidth <= document.documentElement.clientWidth`),
			"%s is wider than a phone: %d > %d", page, eval[int](b, `document.documentElement.scrollWidth`), eval[int](b, `document.documentElement.clientWidth`))
		// Every button and link of the navigation is on screen.
		require.Equal(t, true, eval[bool](b, `Array.prototype.every.call(document.querySelectorAll('.actions button, #nav a'), function (e) { var r = e.getBoundingClientRect(); return r.left >= 0 && r.right <= window.innerWidth; })`),
			"%s has buttons off screen", page)
	}
	// The confirmation fits too, and works by touch-sized buttons.
	b.open(c.url + "/topics/orders/billing")
	b.click(`button[data-action="channel-empty"]`)
	b.waitJS("the dialog on screen", `(function(){var r=document.querySelector('.modal').getBoundingClientRect();return r.left>=0&&r.right<=window.innerWidth&&r.height>0;})()`)
	b.click("#confirm-ok")
	c.waitStats(t, "billing emptied", func(s nsqdStats) bool {
		ch, ok := s.channel("orders", "billing")
		return ok && ch.Depth == 0
	})
}

func TestPagesWorkWithNSQDAddressesOnly(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	var started atomic.Pointer[cluster]
	c := startCluster(t, func(o *nsqadmin.Options) {
		o.NSQLookupdHTTPAddresses = nil
		o.NSQDHTTPAddresses = []string{lateNSQDAddress(t, &started)}
	})
	started.Store(c)
	c.populate(t)
	b.open(c.url + "/")
	s := c.stats(t)
	for _, topic := range s.Topics {
		b.waitText(row("topics", "topic", topic.TopicName)+" td.depth", num(topic.Depth))
	}
	b.open(c.url + "/topics/orders")
	b.waitJS("the node row", fmt.Sprintf(`!!document.querySelector(%s)`, jsString(row("nodes", "node", c.nodeName()))))
	// Tombstoning is a lookupd matter: not offered without one.
	assert.Equal(t, 0, eval[int](b, `document.querySelectorAll('button[data-action="tombstone"]').length`))
}

// lateNSQDAddress is the nsqd's HTTP address for nsqadmin's options, which
// are set before startCluster has started the nsqd: it reserves nothing,
// so it answers through a proxy that forwards to the nsqd once the test
// has stored the started cluster (atomically: the proxy's handler runs on
// the server's goroutines).
func lateNSQDAddress(t *testing.T, started *atomic.Pointer[cluster]) string {
	t.Helper()
	proxy := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := started.Load()
		if c == nil {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Scheme, r2.URL.Host, r2.RequestURI = "http", c.nsqd.HTTPAddr(), ""
		resp, err := http.DefaultTransport.RoundTrip(r2)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		var buf [32 << 10]byte
		for {
			n, err := resp.Body.Read(buf[:])
			w.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	proxy.Listener = l
	proxy.Start()
	t.Cleanup(proxy.Close)
	return l.Addr().String()
}

func TestFailuresAreShown(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	var started atomic.Pointer[cluster]
	c := startCluster(t, func(o *nsqadmin.Options) {
		o.NSQLookupdHTTPAddresses = nil
		o.NSQDHTTPAddresses = []string{lateNSQDAddress(t, &started)}
	})
	started.Store(c)
	c.populate(t)
	b.open(c.url + "/topics/orders")
	b.waitJS("live", `document.getElementById('status').classList.contains('ok')`)

	// nsqd gone: the page says its figures are no longer live, and keeps
	// the last ones.
	c.nsqd.Stop()
	b.waitJS("the stale status", `document.getElementById('status').classList.contains('stale') && /update failed/.test(document.getElementById('status').textContent)`)
	require.Equal(t, num(2), b.text(".stat.channels dd"))

	// An action that fails says so, with the server's answer.
	b.confirm(`button[data-action="topic-pause"]`, `Pause topic "orders"`, true)
	b.waitJS("the error", `!!document.querySelector('.flash.error[role=alert]')`)
	assert.NotEmpty(t, b.text(".flash.error .flash-text"))
	assert.Equal(t, 0, eval[int](b, `document.querySelectorAll('.flash.ok').length`), "a failed action reported success")
}

func TestAdminUserOnlyMayAct(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	c := startCluster(t, func(o *nsqadmin.Options) {
		o.ACLHTTPHeader = "X-Forwarded-User"
		o.AdminUsers = []string{"alice"}
	})
	c.populate(t)
	b.open(c.url + "/topics/orders/billing")
	b.waitText(".stat.depth dd", num(ordersMessages))
	// The browser sends no user header: every action is disabled.
	for _, action := range []string{"channel-pause", "channel-empty", "channel-delete"} {
		assert.Equal(t, true, eval[bool](b, fmt.Sprintf(`document.querySelector('button[data-action="%s"]').disabled`, action)), action)
	}
}

// authServer answers nsqd's auth protocol: the secret "orders-admin" may
// act on the topic orders and its channels only; any other is refused.
func authServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("secret") != "orders-admin" {
			http.Error(w, `{"message":"no"}`, http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"ttl": 3600, "identity": "ops-team", "identity_url": "",
			"authorizations": []map[string]any{
				{"topic": "^orders$", "channels": []string{".*"}, "permissions": []string{"subscribe", "publish"}},
			},
		})
	}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return l.Addr().String()
}

func TestSignInWithTheAuthServerGatesActions(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	auth := authServer(t)
	c := startCluster(t, func(o *nsqadmin.Options) { o.AuthHTTPAddresses = []string{auth} })
	c.populate(t)

	b.open(c.url + "/topics/orders")
	b.waitJS("the sign-in field", `!!document.getElementById('auth-secret')`)
	require.Equal(t, true, eval[bool](b, `document.querySelector('button[data-action="topic-pause"]').disabled`), "pause offered before signing in")

	b.run(setValue("#auth-secret", "wrong"))
	b.click("#auth-form button")
	b.waitJS("the refusal", `!!document.querySelector('.flash.error') && /AUTH_FAILED/.test(document.querySelector('.flash.error').textContent)`)

	b.run(setValue("#auth-secret", "orders-admin"))
	b.click("#auth-form button")
	b.waitJS("signed in", `/ops-team/.test(document.getElementById('auth').textContent)`)
	b.waitJS("pause allowed", `document.querySelector('button[data-action="topic-pause"]') && !document.querySelector('button[data-action="topic-pause"]').disabled`)
	b.confirm(`button[data-action="topic-pause"]`, `Pause topic "orders"`, true)
	c.waitStats(t, "orders paused", func(s nsqdStats) bool {
		i, ok := s.topic("orders")
		return ok && s.Topics[i].Paused
	})

	// The grants cover orders' channels too ...
	b.open(c.url + "/topics/orders/billing")
	b.waitText(".stat.depth dd", num(ordersMessages))
	assert.Equal(t, false, eval[bool](b, `document.querySelector('button[data-action="channel-empty"]').disabled`))
	// ... but not payments: its actions are disabled.
	b.open(c.url + "/topics/payments")
	b.waitText(".stat.depth dd", num(paymentsMessages))
	for _, action := range []string{"topic-pause", "topic-empty", "topic-delete", "tombstone"} {
		assert.Equal(t, true, eval[bool](b, fmt.Sprintf(`document.querySelector('button[data-action="%s"]').disabled`, action)), action)
	}

	// Signing out takes the rights away again; the cookie was the page's
	// only credential (HttpOnly: the page's script cannot read it).
	assert.Equal(t, "", eval[string](b, `document.cookie`))
	b.click("#sign-out")
	b.waitJS("the sign-in field again", `!!document.getElementById('auth-secret')`)
	b.waitJS("pause refused again", `document.querySelector('button[data-action="topic-pause"]').disabled`)

	// Signed out behind the page's back (another tab): the next action is
	// refused, and the page then shows the sign-in field and disables what
	// is no longer allowed.
	b.open(c.url + "/topics/orders")
	b.run(setValue("#auth-secret", "orders-admin"))
	b.click("#auth-form button")
	b.waitJS("signed in", `!!document.getElementById('sign-out') && !document.querySelector('button[data-action="topic-unpause"]').disabled`)
	b.run(chromedp.Evaluate[chromedp.Void](`window.signedOut = false; fetch(document.body.dataset.basePath + '/api/auth', {method: 'DELETE'}).then(function () { window.signedOut = true; })`))
	b.waitJS("the sign-out elsewhere", `window.signedOut === true`)
	b.click(`button[data-action="topic-unpause"]`)
	b.waitJS("the refusal", `!!document.querySelector('.flash.error') && /AUTH_REQUIRED/.test(document.querySelector('.flash.error').textContent)`)
	b.waitJS("the sign-in field", `!!document.getElementById('auth-secret') && document.querySelector('button[data-action="topic-unpause"]').disabled`)
	i, ok := c.stats(t).topic("orders")
	require.True(t, ok)
	require.True(t, c.stats(t).Topics[i].Paused, "unpaused without a signed-in user")
}
