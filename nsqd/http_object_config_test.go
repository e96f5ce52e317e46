package nsqd

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/nsqd/httpserver"

	"github.com/nsqgo/nsq/nsqd/queue"
)

func getChannelConfig(t *testing.T, n *NSQD, topic, channel string) httpserver.ChannelConfig {
	t.Helper()
	status, body := httpGet(t, n, "/channel/config?topic="+topic+"&channel="+channel)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var cfg httpserver.ChannelConfig
	require.NoError(t, json.Unmarshal(body, &cfg))
	return cfg
}

func getTopicConfig(t *testing.T, n *NSQD, topic string) httpserver.TopicConfig {
	t.Helper()
	status, body := httpGet(t, n, "/topic/config?topic="+topic)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var cfg httpserver.TopicConfig
	require.NoError(t, json.Unmarshal(body, &cfg))
	return cfg
}

func postOK(t *testing.T, n *NSQD, path string) []byte {
	t.Helper()
	status, body := httpPost(t, n, path, "")
	require.Equal(t, http.StatusOK, status, "%s: %s", path, body)
	return body
}

func TestObjectConfigIsOffByDefault(t *testing.T) {
	n := startDaemon(t, nil)
	adminPost(t, n, "/topic/create?topic=orders")
	adminPost(t, n, "/channel/create?topic=orders&channel=work")

	status, body := httpGet(t, n, "/channel/config?topic=orders&channel=work")
	require.Equal(t, http.StatusOK, status)
	require.JSONEq(t, `{"topic":"orders","channel":"work","max_attempts":0,"msg_ttl":0,"max_depth":0,"max_bytes":0,
		"overflow":"reject-new","dead_letter_topic":"","max_dead_depth":100000,
		"source":{"max_attempts":"default","msg_ttl":"default","max_depth":"default","max_bytes":"default",
		"overflow":"default","dead_letter_topic":"default","max_dead_depth":"default"}}`, string(body))
	status, body = httpGet(t, n, "/topic/config?topic=orders")
	require.Equal(t, http.StatusOK, status)
	require.JSONEq(t, `{"topic":"orders","msg_ttl":0,"max_depth":0,"max_bytes":0,"overflow":"reject-new",
		"source":{"msg_ttl":"default","max_depth":"default","max_bytes":"default","overflow":"default"}}`, string(body))

	c := existingChannel(t, n, "orders", "work")
	require.Equal(t, queue.Policy{MaxDeadDepth: defaultMaxDeadDepth}, c.policy())
	tp, err := n.GetExistingTopic("orders")
	require.NoError(t, err)
	require.Equal(t, queue.Policy{MaxDeadDepth: defaultMaxDeadDepth}, tp.policy())

	// No settings: nsqd.dat has upstream's keys only.
	data, err := os.ReadFile(filepath.Join(n.opts.DataPath, metadataFile))
	require.NoError(t, err)
	require.Equal(t, `{"topics":[{"name":"orders","paused":false,"channels":[{"name":"work","paused":false}]}],"version":"1.3.0"}`, string(data))
}

// The flags are the defaults; a channel's own value wins, a topic's TTL
// reaches its channels, and an empty parameter returns to the default.
func TestChannelConfigResolvesChannelTopicAndFlags(t *testing.T) {
	n := startDaemon(t, func(o *Options) {
		o.MaxAttempts = 5
		o.MsgTTL = time.Hour
		o.MaxChannelDepth = 100
		o.Overflow = "drop-oldest"
	})
	adminPost(t, n, "/topic/create?topic=orders")
	adminPost(t, n, "/channel/create?topic=orders&channel=work")

	cfg := getChannelConfig(t, n, "orders", "work")
	require.Equal(t, uint16(5), cfg.MaxAttempts)
	require.Equal(t, int64(3600000), cfg.MsgTTL)
	require.Equal(t, int64(100), cfg.MaxDepth)
	require.Equal(t, queue.OverflowDropOldest, cfg.Overflow)
	require.Equal(t, queue.SourceDefault, cfg.Source.MaxAttempts)

	body := postOK(t, n, "/channel/config?topic=orders&channel=work&max_attempts=3&max_bytes=4096&overflow=reject-new&dead_letter_topic=orders-dead")
	var posted httpserver.ChannelConfig
	require.NoError(t, json.Unmarshal(body, &posted))
	require.Equal(t, uint16(3), posted.MaxAttempts, "POST answers the new effective values")
	require.Equal(t, queue.SourceChannel, posted.Source.MaxAttempts)
	require.Equal(t, "orders-dead", posted.DeadLetterTopic)
	require.Equal(t, posted, getChannelConfig(t, n, "orders", "work"))

	postOK(t, n, "/topic/config?topic=orders&msg_ttl=90s&max_depth=7")
	cfg = getChannelConfig(t, n, "orders", "work")
	require.Equal(t, int64(90000), cfg.MsgTTL)
	require.Equal(t, queue.SourceTopic, cfg.Source.MsgTTL)
	require.Equal(t, int64(100), cfg.MaxDepth, "a topic's bound is its own")
	topicCfg := getTopicConfig(t, n, "orders")
	require.Equal(t, int64(7), topicCfg.MaxDepth)
	require.Equal(t, queue.SourceTopic, topicCfg.Source.MaxDepth)
	require.Equal(t, queue.SourceDefault, topicCfg.Source.Overflow)

	// What behaviour code reads is the same.
	c := existingChannel(t, n, "orders", "work")
	require.Equal(t, queue.Policy{MaxAttempts: 3, MsgTTL: 90 * time.Second, MaxDepth: 100, MaxBytes: 4096,
		Overflow: queue.OverflowRejectNew, DeadLetterTopic: "orders-dead", MaxDeadDepth: defaultMaxDeadDepth}, c.policy())

	// The channel's own TTL beats the topic's; clearing it inherits again.
	postOK(t, n, "/channel/config?topic=orders&channel=work&msg_ttl=0")
	require.Zero(t, c.policy().MsgTTL)
	postOK(t, n, "/channel/config?topic=orders&channel=work&msg_ttl=&max_attempts=&dead_letter_topic=")
	cfg = getChannelConfig(t, n, "orders", "work")
	require.Equal(t, int64(90000), cfg.MsgTTL)
	require.Equal(t, uint16(5), cfg.MaxAttempts)
	require.Equal(t, queue.SourceDefault, cfg.Source.MaxAttempts)
	require.Equal(t, "", cfg.DeadLetterTopic)
	require.Equal(t, int64(4096), cfg.MaxBytes, "what was not cleared stays")
}

// A channel created after its topic's TTL was set (by a consumer's SUB
// here) starts with that TTL.
func TestNewChannelTakesItsTopicsTTL(t *testing.T) {
	n := startDaemon(t, nil)
	adminPost(t, n, "/topic/create?topic=orders")
	postOK(t, n, "/topic/config?topic=orders&msg_ttl=2500")
	conn := dialV2(t, n)
	conn.subscribe("orders", "late")
	c := existingChannel(t, n, "orders", "late")
	require.Equal(t, 2500*time.Millisecond, c.policy().MsgTTL)
	require.Equal(t, queue.SourceTopic, c.effectivePolicy().Sources.MsgTTL)
}

func TestObjectConfigErrors(t *testing.T) {
	n := startDaemon(t, nil)
	adminPost(t, n, "/topic/create?topic=orders")
	adminPost(t, n, "/channel/create?topic=orders&channel=work")

	cases := []struct {
		method, path string
		status       int
		message      string
	}{
		{"GET", "/topic/config", 400, "MISSING_ARG_TOPIC"},
		{"POST", "/topic/config?topic=a%20b", 400, "INVALID_TOPIC"},
		{"GET", "/topic/config?topic=missing", 404, "TOPIC_NOT_FOUND"},
		{"POST", "/topic/config?topic=orders&max_depth=-1", 400, "INVALID_ARG_MAX_DEPTH"},
		{"POST", "/topic/config?topic=orders&max_bytes=lots", 400, "INVALID_ARG_MAX_BYTES"},
		{"POST", "/topic/config?topic=orders&msg_ttl=soon", 400, "INVALID_ARG_MSG_TTL"},
		{"POST", "/topic/config?topic=orders&overflow=drop-newest", 400, "INVALID_ARG_OVERFLOW"},
		{"POST", "/topic/config?topic=orders&max_attempts=3", 400, "INVALID_ARG_MAX_ATTEMPTS"},
		{"POST", "/topic/config?topic=orders&dead_letter_topic=d", 400, "INVALID_ARG_DEAD_LETTER_TOPIC"},
		{"POST", "/topic/config?topic=orders&max_depth=%zz", 400, "INVALID_REQUEST"},
		{"GET", "/channel/config?topic=orders", 400, "MISSING_ARG_CHANNEL"},
		{"GET", "/channel/config?topic=orders&channel=a%20b", 400, "INVALID_ARG_CHANNEL"},
		{"POST", "/channel/config?topic=missing&channel=work", 404, "TOPIC_NOT_FOUND"},
		{"POST", "/channel/config?topic=orders&channel=missing&max_attempts=1", 404, "CHANNEL_NOT_FOUND"},
		{"POST", "/channel/config?topic=orders&channel=work&max_attempts=65536", 400, "INVALID_ARG_MAX_ATTEMPTS"},
		{"POST", "/channel/config?topic=orders&channel=work&msg_ttl=-1", 400, "INVALID_ARG_MSG_TTL"},
		{"POST", "/channel/config?topic=orders&channel=work&msg_ttl=1500us", 400, "INVALID_ARG_MSG_TTL"},
		{"POST", "/channel/config?topic=orders&channel=work&dead_letter_topic=orders", 400, "INVALID_ARG_DEAD_LETTER_TOPIC"},
		{"POST", "/channel/config?topic=orders&channel=work&dead_letter_topic=no%20spaces", 400, "INVALID_ARG_DEAD_LETTER_TOPIC"},
		{"PUT", "/channel/config?topic=orders&channel=work", 405, "METHOD_NOT_ALLOWED"},
	}
	for _, c := range cases {
		status, body, header := httpDo(t, c.method, httpURL(n, c.path), nil)
		requireAPIError(t, c.status, c.message, status, body)
		requireV1Header(t, header)
	}
	// The refused requests changed nothing.
	require.Equal(t, queue.Settings{}, existingChannel(t, n, "orders", "work").settings())
	tp, err := n.GetExistingTopic("orders")
	require.NoError(t, err)
	require.Equal(t, queue.Settings{}, tp.settings())
}

// Settings are written to nsqd.dat at once and come back after a restart,
// with their sources.
func TestObjectSettingsSurviveRestart(t *testing.T) {
	n := startDaemon(t, nil)
	adminPost(t, n, "/topic/create?topic=orders&msg_ttl=60000&max_bytes=1048576")
	adminPost(t, n, "/channel/create?topic=orders&channel=work&max_attempts=3&overflow=drop-oldest&dead_letter_topic=orders-dead")
	adminPost(t, n, "/channel/create?topic=orders&channel=plain")
	adminPost(t, n, "/channel/pause?topic=orders&channel=work")

	md := readMetadataFile(t, n)
	tm, ok := topicInMetadata(md, "orders")
	require.True(t, ok)
	require.JSONEq(t, `{"msg_ttl":60000,"max_bytes":1048576}`, string(tm.Config))
	cm, ok := channelInMetadata(md, "orders", "work")
	require.True(t, ok)
	require.JSONEq(t, `{"max_attempts":3,"overflow":"drop-oldest","dead_letter_topic":"orders-dead"}`, string(cm.Config))
	plain, ok := channelInMetadata(md, "orders", "plain")
	require.True(t, ok)
	require.Nil(t, plain.Config, "no settings, no key")

	before := getChannelConfig(t, n, "orders", "work")
	beforeTopic := getTopicConfig(t, n, "orders")
	n = restartDaemon(t, n, nil)
	require.Equal(t, before, getChannelConfig(t, n, "orders", "work"))
	require.Equal(t, beforeTopic, getTopicConfig(t, n, "orders"))
	require.Equal(t, queue.SourceTopic, getChannelConfig(t, n, "orders", "plain").Source.MsgTTL)
	require.True(t, existingChannel(t, n, "orders", "work").IsPaused())

	// Cleared settings are removed from the file.
	postOK(t, n, "/channel/config?topic=orders&channel=work&max_attempts=&overflow=&dead_letter_topic=")
	cm, ok = channelInMetadata(readMetadataFile(t, n), "orders", "work")
	require.True(t, ok)
	require.Nil(t, cm.Config)
}

// A bad settings entry in nsqd.dat (hand-edited, or from a later version)
// costs only those settings: the topic and channel are restored.
func TestBadSettingsInMetadataAreSkipped(t *testing.T) {
	dir := t.TempDir()
	file := `{"topics":[{"name":"orders","paused":false,"config":{"max_attempts":3},` +
		`"channels":[{"name":"work","paused":true,"config":{"overflow":"sideways"}},` +
		`{"name":"ok","paused":false,"config":{"max_depth":5,"future_key":1}}]}],"version":"1.3.0"}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, metadataFile), []byte(file), 0o600))
	logs := &strings.Builder{}
	var logsMu sync.Mutex
	n := startDaemon(t, func(o *Options) {
		o.DataPath = dir
		o.Logger = lockedWriter{&logsMu, logs}
	})
	tp, err := n.GetExistingTopic("orders")
	require.NoError(t, err)
	require.Equal(t, queue.Settings{}, tp.settings(), "max_attempts is not a topic's")
	work := existingChannel(t, n, "orders", "work")
	require.True(t, work.IsPaused())
	require.Equal(t, queue.Settings{}, work.settings())
	require.Equal(t, int64(5), existingChannel(t, n, "orders", "ok").policy().MaxDepth)
	logsMu.Lock()
	defer logsMu.Unlock()
	require.Contains(t, logs.String(), "TOPIC(orders): ignoring its settings")
	require.Contains(t, logs.String(), "ignoring channel(work)'s settings")
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Concurrent changes of different settings all land, and a channel's
// policy follows its topic's concurrent TTL changes to the last one.
func TestConcurrentSettingsChangesAllApply(t *testing.T) {
	n := startDaemon(t, nil)
	adminPost(t, n, "/topic/create?topic=orders")
	tp, err := n.GetExistingTopic("orders")
	require.NoError(t, err)
	var channels []*Channel
	for _, name := range []string{"a", "b", "c"} {
		c, err := tp.GetChannel(name)
		require.NoError(t, err)
		channels = append(channels, c)
	}
	var wg sync.WaitGroup
	for i, c := range channels {
		wg.Add(2)
		go func() {
			defer wg.Done()
			depth := int64(i + 1)
			require.NoError(t, c.updateSettings(tp, queue.Settings{MaxDepth: &depth}, nil))
		}()
		go func() {
			defer wg.Done()
			attempts := uint16(i + 10)
			require.NoError(t, c.updateSettings(tp, queue.Settings{MaxAttempts: &attempts}, nil))
		}()
	}
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ttl := time.Duration(i+1) * time.Second
			require.NoError(t, tp.updateSettings(queue.Settings{MsgTTL: &ttl}, nil))
		}()
	}
	wg.Wait()
	final := *tp.settings().MsgTTL
	for i, c := range channels {
		p := c.policy()
		require.Equal(t, int64(i+1), p.MaxDepth)
		require.Equal(t, uint16(i+10), p.MaxAttempts)
		require.Equal(t, final, p.MsgTTL, "channel %s", c.name)
	}
}

// Under --http-auth=all a dead_letter_topic also needs a publish grant on
// that topic: the channel will publish there.
func TestHTTPAuthDeadLetterTopicNeedsPublishGrant(t *testing.T) {
	a := newAuthServer(t, "")
	a.setResponder(func(secret string) (int, string) {
		switch secret {
		case "orders-admin": // admin of orders only
			return http.StatusOK, answer(3600, "^orders$", []string{".*"}, "admin")
		case "dead-publisher": // admin of orders, publish to orders-dead
			return http.StatusOK, `{"ttl":3600,"authorizations":[` +
				`{"permissions":["admin"],"topic":"^orders$","channels":[".*"]},` +
				`{"permissions":["publish"],"topic":"^orders-dead$","channels":[".*"]}]}`
		}
		return http.StatusForbidden, `{"message":"no"}`
	})
	n := startAuthDaemon(t, []string{a.addr()}, func(o *Options) { o.HTTPAuth = httpAuthAll })
	status, body, _ := httpAuthDo(t, n, "POST", "/channel/create?topic=orders&channel=work", "orders-admin", "")
	require.Equal(t, http.StatusNotFound, status, body) // no topic yet: authorized, then not found
	_, err := n.GetTopic("orders")
	require.NoError(t, err)
	status, body, _ = httpAuthDo(t, n, "POST", "/channel/create?topic=orders&channel=work&max_attempts=3", "orders-admin", "")
	require.Equal(t, http.StatusOK, status, body)

	for _, path := range []string{
		"/channel/config?topic=orders&channel=work&dead_letter_topic=orders-dead",
		"/channel/create?topic=orders&channel=work&dead_letter_topic=orders-dead",
	} {
		status, body, _ = httpAuthDo(t, n, "POST", path, "orders-admin", "")
		require.Equal(t, http.StatusForbidden, status, "%s: %s", path, body)
		require.JSONEq(t, `{"message":"FORBIDDEN"}`, body)
	}
	require.Empty(t, existingChannel(t, n, "orders", "work").policy().DeadLetterTopic)

	status, body, _ = httpAuthDo(t, n, "POST", "/channel/config?topic=orders&channel=work&dead_letter_topic=orders-dead", "dead-publisher", "")
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "orders-dead", existingChannel(t, n, "orders", "work").policy().DeadLetterTopic)
	// Clearing it needs no grant on any other topic.
	status, body, _ = httpAuthDo(t, n, "POST", "/channel/config?topic=orders&channel=work&dead_letter_topic=", "orders-admin", "")
	require.Equal(t, http.StatusOK, status, body)
	// Reading the settings is an admin request like the others.
	status, _, _ = httpAuthDo(t, n, "GET", "/channel/config?topic=orders&channel=work", "", "")
	require.Equal(t, http.StatusUnauthorized, status)
	status, body, _ = httpAuthDo(t, n, "GET", "/topic/config?topic=orders", "orders-admin", "")
	require.Equal(t, http.StatusOK, status, body)
}

func TestBadPolicyOptionsRefuseToStart(t *testing.T) {
	for want, configure := range map[string]func(*Options){
		"--max-attempts must be [0,65535]":  func(o *Options) { o.MaxAttempts = 70000 },
		"--overflow: overflow must be":      func(o *Options) { o.Overflow = "sideways" },
		"--msg-ttl must not be negative":    func(o *Options) { o.MsgTTL = -time.Second },
		"--max-channel-depth must not be":   func(o *Options) { o.MaxChannelDepth = -1 },
		"--max-channel-bytes must not be":   func(o *Options) { o.MaxChannelBytes = -1 },
		"--max-dead-depth must not be":      func(o *Options) { o.MaxDeadDepth = -1 },
		"--msg-ttl must be a whole number ": func(o *Options) { o.MsgTTL = time.Millisecond / 2 },
	} {
		opts := NewOptions()
		opts.TCPAddress, opts.HTTPAddress, opts.DataPath = "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
		configure(opts)
		_, err := New(opts)
		require.ErrorContains(t, err, want)
	}
}
