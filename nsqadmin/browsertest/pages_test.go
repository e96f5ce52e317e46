package browsertest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/nsqclient"
	"github.com/nsqgo/nsq/internal/tooltest/daemons"
	"github.com/nsqgo/nsq/nsqadmin"
)

// row is the CSS selector of a table row the pages mark with data-<kind>.
func row(table, kind, key string) string {
	return fmt.Sprintf("table.%s tr[data-%s=%s]", table, kind, jsString(key))
}

func TestTopicsPageShowsEachTopicsFiguresFromStats(t *testing.T) {
	t.Parallel()
	b := newBrowser(t) // first: it skips when there is no Chromium
	c := startCluster(t, nil)
	c.populate(t)
	b.open(c.url + "/")

	s := c.stats(t)
	require.Len(t, s.Topics, 2)
	for _, topic := range s.Topics {
		r := row("topics", "topic", topic.TopicName)
		b.waitText(r+" td.depth", num(topic.Depth))
		var channelDepth int64
		for _, ch := range topic.Channels {
			channelDepth += ch.Depth
		}
		b.waitText(r+" td.channel-depth", num(channelDepth))
		b.waitText(r+" td.channels", num(int64(len(topic.Channels))))
		b.waitText(r+" td.messages", num(topic.MessageCount))
		// The rate comes from nsqadmin's history: a number once a point exists.
		b.waitJS("a rate for "+topic.TopicName, fmt.Sprintf(`/^[0-9.,]+$/.test(document.querySelector(%s).textContent)`, jsString(r+" td.rate")))
	}

	// Live: a message published now shows up without a reload.
	c.nsqdPost(t, "/pub", url.Values{"topic": {"payments"}}, "late")
	b.waitText(row("topics", "topic", "payments")+" td.depth", num(paymentsMessages+1))
	b.waitJS("the live status", `document.getElementById('status').classList.contains('ok')`)
}

func TestTopicPageShowsNodesAndChannelsFromStats(t *testing.T) {
	t.Parallel()
	b := newBrowser(t) // first: it skips when there is no Chromium
	c := startCluster(t, nil)
	c.populate(t)
	b.open(c.url + "/topics/orders")

	s := c.stats(t)
	i, ok := s.topic("orders")
	require.True(t, ok)
	orders := s.Topics[i]
	b.waitText(".stat.messages dd", num(orders.MessageCount))
	b.waitText(".stat.depth dd", num(orders.Depth))
	b.waitText(".stat.channels dd", "2")
	b.waitJS("the node's row", fmt.Sprintf(`!!document.querySelector(%s)`, jsString(row("nodes", "node", c.nodeName()))))
	for _, ch := range orders.Channels {
		r := row("channels", "channel", ch.ChannelName)
		// Columns: channel, depth, memory, disk, in flight, deferred, requeued, timed out, messages, clients.
		b.waitText(r+" td:nth-child(2)", num(ch.Depth))
		b.waitText(r+" td:nth-child(5)", num(ch.InFlightCount))
		b.waitText(r+" td:nth-child(9)", num(ch.MessageCount))
		b.waitText(r+" td:nth-child(10)", num(int64(len(ch.Clients))))
	}
	// The channel link leads to the channel's page, in the app.
	b.click(row("channels", "channel", "archive") + " a")
	b.waitJS("the channel page", `location.pathname.endsWith('/topics/orders/archive') && !!document.querySelector('table.clients')`)
}

func TestTopicActionsAskFirstAndReachNSQD(t *testing.T) {
	t.Parallel()
	b := newBrowser(t) // first: it skips when there is no Chromium
	c := startCluster(t, nil)
	c.populate(t)
	b.open(c.url + "/topics/payments")
	b.waitText(".stat.depth dd", num(paymentsMessages))

	paused := func(want bool) func(nsqdStats) bool {
		return func(s nsqdStats) bool {
			i, ok := s.topic("payments")
			return ok && s.Topics[i].Paused == want
		}
	}

	// Cancelled: nothing is sent.
	b.confirm(`button[data-action="topic-pause"]`, `Pause topic "payments"`, false)
	b.open(c.url + "/topics/payments") // a full reload: whatever the page did has been answered
	assert.True(t, paused(false)(c.stats(t)), "a cancelled pause paused the topic")

	b.confirm(`button[data-action="topic-pause"]`, `Pause topic "payments"`, true)
	c.waitStats(t, "payments paused", paused(true))
	b.waitText(".actions .badge.paused", "Topic paused")

	b.click(`button[data-action="topic-unpause"]`) // undoing a pause needs no confirmation
	c.waitStats(t, "payments unpaused", paused(false))
	b.waitJS("the pause button back", `!!document.querySelector('button[data-action="topic-pause"]') && !document.querySelector('.actions .badge.paused')`)

	b.confirm(`button[data-action="topic-empty"]`, `Empty topic "payments"`, true)
	c.waitStats(t, "payments emptied", func(s nsqdStats) bool {
		i, ok := s.topic("payments")
		return ok && s.Topics[i].Depth == 0
	})
	b.waitText(".stat.depth dd", "0")

	b.confirm(`button[data-action="topic-delete"]`, `Delete topic "payments"`, true)
	c.waitStats(t, "payments deleted", func(s nsqdStats) bool {
		_, ok := s.topic("payments")
		return !ok
	})
	b.waitJS("the topics page", `location.pathname === '/' && !!document.querySelector('h1') && document.querySelector('h1').textContent === 'Topics'`)
	b.waitJS("payments gone from the list", `!document.querySelector('tr[data-topic="payments"]') && !!document.querySelector('tr[data-topic="orders"]')`)
}

func TestChannelPageShowsClientsFromStats(t *testing.T) {
	t.Parallel()
	b := newBrowser(t) // first: it skips when there is no Chromium
	c := startCluster(t, nil)
	c.populate(t)
	b.open(c.url + "/topics/orders/archive")

	ch, ok := c.stats(t).channel("orders", "archive")
	require.True(t, ok)
	require.Len(t, ch.Clients, 1)
	cl := ch.Clients[0]
	b.waitText(".stat.depth dd", num(ch.Depth))
	b.waitText(".stat.in-flight dd", num(ch.InFlightCount))
	b.waitText(".stat.messages dd", num(ch.MessageCount))
	b.waitText(".stat.clients dd", "1")

	r := row("clients", "client", cl.ClientID)
	// Columns: client, node, user agent, attributes, in flight, ready, finished, requeued, messages, connected.
	b.waitText(r+" td.ua", consumerUA)
	b.waitText(r+" td:nth-child(5)", num(cl.InFlightCount))
	b.waitText(r+" td:nth-child(6)", num(cl.ReadyCount))
	b.waitText(r+" td:nth-child(7)", num(cl.FinishCount))
	b.waitText(r+" td:nth-child(8)", num(cl.RequeueCount))
	b.waitText(r+" td:nth-child(9)", num(cl.MessageCount))
	require.True(t, cl.Snappy)
	assert.Contains(t, b.text(r+" td.attrs"), "snappy")
	assert.NotContains(t, b.text(r+" td.attrs"), "TLS", "the consumer did not negotiate TLS")
	assert.Regexp(t, `^\d+(s|m \d+s)$`, b.text(r+" td.connected"))
	assert.Equal(t, c.nodeName(), b.text(r+" td:nth-child(2)"))

	// What a client declares is shown as text, never as markup.
	const hostile = `<img src=x onerror="document.body.dataset.owned=1">`
	opts := nsqclient.NewOptions()
	opts.UserAgent = hostile
	opts.ClientID = "hostile"
	consumer, err := nsqclient.NewConsumer("orders", "archive", opts)
	require.NoError(t, err)
	consumer.AddHandler(nsqclient.HandlerFunc(func(m *nsqclient.Message) error { return nil }))
	require.NoError(t, consumer.ConnectToNSQD(c.nsqd.TCPAddr()))
	t.Cleanup(consumer.Stop)
	hr := row("clients", "client", "hostile")
	b.waitText(hr+" td.ua", hostile)
	assert.Equal(t, 0, eval[int](b, `document.querySelectorAll('table.clients img').length`))
	assert.Equal(t, "", eval[string](b, `document.body.dataset.owned || ''`))
}

func TestChannelActionsAskFirstAndReachNSQD(t *testing.T) {
	t.Parallel()
	b := newBrowser(t) // first: it skips when there is no Chromium
	c := startCluster(t, nil)
	c.populate(t)
	b.open(c.url + "/topics/orders/billing")
	b.waitText(".stat.depth dd", num(ordersMessages))

	billing := func(cond func(channelStats) bool) func(nsqdStats) bool {
		return func(s nsqdStats) bool {
			ch, ok := s.channel("orders", "billing")
			return ok && cond(ch)
		}
	}

	b.confirm(`button[data-action="channel-pause"]`, `Pause channel "billing"`, true)
	c.waitStats(t, "billing paused", billing(func(ch channelStats) bool { return ch.Paused }))
	b.waitText(".actions .badge.paused", "Channel paused")
	b.click(`button[data-action="channel-unpause"]`)
	c.waitStats(t, "billing unpaused", billing(func(ch channelStats) bool { return !ch.Paused }))

	b.confirm(`button[data-action="channel-empty"]`, `Empty channel "billing"`, true)
	c.waitStats(t, "billing emptied", billing(func(ch channelStats) bool { return ch.Depth == 0 }))
	b.waitText(".stat.depth dd", "0")

	// Cancelled: the channel stays.
	b.confirm(`button[data-action="channel-delete"]`, `Delete channel "billing"`, false)
	b.open(c.url + "/topics/orders/billing")
	_, ok := c.stats(t).channel("orders", "billing")
	require.True(t, ok, "a cancelled delete deleted the channel")

	b.confirm(`button[data-action="channel-delete"]`, `Delete channel "billing"`, true)
	c.waitStats(t, "billing deleted", func(s nsqdStats) bool {
		_, ok := s.channel("orders", "billing")
		return !ok
	})
	// Back on the topic's page, whose channel list no longer has it.
	b.waitJS("the topic page without billing", `location.pathname === '/topics/orders' && !!document.querySelector('table.channels tr[data-channel="archive"]') && !document.querySelector('tr[data-channel="billing"]')`)
	_, ok = c.stats(t).channel("orders", "archive")
	assert.True(t, ok, "deleting billing touched archive")
}

func TestNodesAndNodePagesShowTheNSQD(t *testing.T) {
	t.Parallel()
	b := newBrowser(t) // first: it skips when there is no Chromium
	c := startCluster(t, nil)
	c.populate(t)
	b.open(c.url + "/nodes")

	r := row("nodes", "node", c.nodeName())
	b.waitJS("the node's topics", fmt.Sprintf(`(function(){var r=document.querySelector(%s);return !!r&&r.textContent.indexOf('orders')>=0&&r.textContent.indexOf('payments')>=0;})()`, jsString(r)))
	assert.Equal(t, fmt.Sprint(c.nsqd.RealHTTPAddr().Port), b.text(r+" td:nth-child(4)"))
	assert.Equal(t, fmt.Sprint(c.nsqd.RealTCPAddr().Port), b.text(r+" td:nth-child(3)"))

	b.click(r + " td:first-child a")
	b.waitJS("the node page", fmt.Sprintf(`location.pathname === %s`, jsString("/nodes/"+c.nodeName())))
	s := c.stats(t)
	b.waitText(".stat.topics dd", "2")
	b.waitText(".stat.channels dd", "2")
	for _, topic := range s.Topics {
		b.waitText(row("node-topics", "topic", topic.TopicName)+" td:nth-child(2)", num(topic.Depth))
		for _, ch := range topic.Channels {
			cr := row("node-topics", "channel", topic.TopicName+"/"+ch.ChannelName)
			b.waitText(cr+" td:nth-child(2)", num(ch.Depth))
			b.waitText(cr+" td:nth-child(5)", num(ch.InFlightCount))
			b.waitText(cr+" td:nth-child(10)", num(int64(len(ch.Clients))))
		}
	}
}

func TestCounterPageSumsEveryChannel(t *testing.T) {
	t.Parallel()
	b := newBrowser(t) // first: it skips when there is no Chromium
	c := startCluster(t, nil)
	c.populate(t)
	b.open(c.url + "/counter")

	var total int64
	for _, topic := range c.stats(t).Topics {
		for _, ch := range topic.Channels {
			total += ch.MessageCount
		}
	}
	require.Equal(t, int64(2*ordersMessages), total)
	b.waitText("#counter-value", num(total))

	c.nsqdPost(t, "/pub", url.Values{"topic": {"orders"}}, "one more") // reaches both channels
	b.waitText("#counter-value", num(total+2))
}

func TestLookupPageCreatesTopicAndChannelInLookupd(t *testing.T) {
	t.Parallel()
	b := newBrowser(t) // first: it skips when there is no Chromium
	c := startCluster(t, nil)
	c.populate(t)
	b.open(c.url + "/lookup")
	b.waitJS("the known topics", `!!document.querySelector('li[data-topic="orders"]')`)

	// A bad name is refused in the page, before any request.
	b.run(setValue("#create-topic", "bad name!"))
	b.click("#create-submit")
	b.waitJS("the refusal", `document.querySelector('.flash.error') && document.querySelector('.flash.error').textContent.indexOf('invalid topic name') >= 0`)

	b.run(setValue("#create-topic", "signups"), setValue("#create-channel", "mailer"))
	b.click("#create-submit")
	b.waitJS("the confirmation", `!!document.querySelector('.flash.ok')`)
	require.True(t, slices.Contains(c.lookupdChannels(t, "signups"), "mailer"), "lookupd has no signups/mailer")
	b.waitJS("signups listed", `!!document.querySelector('li[data-topic="signups"]') || !!document.querySelector('li[data-inactive-topic="signups"]')`)

	// On the topics page it is marked as known to the lookupds only.
	b.open(c.url + "/")
	b.waitJS("signups marked lookupd-only", `/lookupd only/.test(document.querySelector('tr[data-topic="signups"]').textContent)`)
	assert.NotContains(t, b.text(row("topics", "topic", "orders")), "lookupd only")
}

func TestTwoNodesAreSummedAndListed(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	c := startCluster(t, nil)
	c.populate(t)
	second := daemons.StartNSQD(t, []string{c.lookupd.TCPAddr()}, nil)
	secondName := fmt.Sprintf("127.0.0.1:%d", second.RealHTTPAddr().Port)
	for i := 0; i < 4; i++ {
		resp, err := http.Post("http://"+second.HTTPAddr()+"/pub?topic=payments", "text/plain", strings.NewReader("on the second node"))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}

	b.open(c.url + "/")
	b.waitText(row("topics", "topic", "payments")+" td.depth", num(paymentsMessages+4))
	b.waitText(row("topics", "topic", "payments")+" td.messages", num(paymentsMessages+4))

	b.open(c.url + "/topics/payments")
	b.waitText(".stat.depth dd", num(paymentsMessages+4))
	b.waitText(row("nodes", "node", c.nodeName())+" td:nth-child(2)", num(paymentsMessages))
	b.waitText(row("nodes", "node", secondName)+" td:nth-child(2)", "4")

	// An action reaches both nodes.
	b.confirm(`button[data-action="topic-empty"]`, `Empty topic "payments"`, true)
	b.waitText(".stat.depth dd", "0")
	for _, n := range []*daemons.NSQD{c.nsqd, second} {
		stats := n.GetStats("payments", "", false)
		require.Len(t, stats.Topics, 1)
		require.Zero(t, stats.Topics[0].Depth, "payments not emptied on %s", n.HTTPAddr())
	}

	b.open(c.url + "/nodes")
	b.waitJS("both nodes", fmt.Sprintf(`!!document.querySelector(%s) && !!document.querySelector(%s)`,
		jsString(row("nodes", "node", c.nodeName())), jsString(row("nodes", "node", secondName))))
}

func TestPagesWorkUnderABasePathWithTheBackButton(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	c := startCluster(t, func(o *nsqadmin.Options) { o.BasePath = "/ops/nsq" })
	c.populate(t)
	require.True(t, strings.HasSuffix(c.url, "/ops/nsq"))

	b.open(c.url + "/")
	b.waitText(row("topics", "topic", "payments")+" td.depth", num(paymentsMessages))
	b.click(row("topics", "topic", "orders") + " a")
	b.waitJS("the topic page under the base path", `location.pathname === '/ops/nsq/topics/orders' && !!document.querySelector('table.channels tr[data-channel="archive"]')`)
	b.click(`#nav a[data-section="nodes"]`)
	b.waitJS("the nodes page", fmt.Sprintf(`location.pathname === '/ops/nsq/nodes' && !!document.querySelector(%s)`, jsString(row("nodes", "node", c.nodeName()))))

	// Back and forward go through the app's own history entries.
	b.run(chromedp.NavigateBack())
	b.waitJS("back on the topic page", `location.pathname === '/ops/nsq/topics/orders' && !!document.querySelector('table.channels tr[data-channel="billing"]')`)
	b.run(chromedp.NavigateBack())
	b.waitJS("back on the topics page", `location.pathname === '/ops/nsq/' && !!document.querySelector('tr[data-topic="orders"]')`)
	b.run(chromedp.NavigateForward())
	b.waitJS("forward to the topic page", `location.pathname === '/ops/nsq/topics/orders' && document.querySelector('h1 .name').textContent === 'orders'`)

	// A deep link loads directly, and an action works from it.
	b.open(c.url + "/topics/orders/billing")
	b.confirm(`button[data-action="channel-pause"]`, `Pause channel "billing"`, true)
	c.waitStats(t, "billing paused", func(s nsqdStats) bool {
		ch, ok := s.channel("orders", "billing")
		return ok && ch.Paused
	})
}
