package browsertest

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/nsqclient"
	"github.com/nsqgo/nsq/internal/tooltest"
)

// The fixture every page test starts from:
//
//	orders   channels archive (one consumer holding archiveInFlight
//	         messages unfinished) and billing (no consumer); ordersMessages published
//	payments no channels; paymentsMessages published, so its depth is the topic's
const (
	consumerUA       = "browsertest-consumer/1.0"
	archiveInFlight  = 2
	ordersMessages   = 7
	paymentsMessages = 3
)

// nsqdPost calls one of nsqd's POST endpoints and requires 200.
func (c *cluster) nsqdPost(t *testing.T, path string, query url.Values, body string) {
	t.Helper()
	resp, err := http.Post("http://"+c.nsqd.HTTPAddr()+path+"?"+query.Encode(), "application/octet-stream", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", path, b)
}

// populate builds the fixture and waits until nsqd's /stats shows it.
func (c *cluster) populate(t *testing.T) {
	t.Helper()
	c.nsqdPost(t, "/topic/create", url.Values{"topic": {"orders"}}, "")
	for _, ch := range []string{"archive", "billing"} {
		c.nsqdPost(t, "/channel/create", url.Values{"topic": {"orders"}, "channel": {ch}}, "")
	}
	c.nsqdPost(t, "/topic/create", url.Values{"topic": {"payments"}}, "")
	for i := 0; i < ordersMessages; i++ {
		c.nsqdPost(t, "/pub", url.Values{"topic": {"orders"}}, fmt.Sprintf("order %d", i))
	}
	for i := 0; i < paymentsMessages; i++ {
		c.nsqdPost(t, "/pub", url.Values{"topic": {"payments"}}, fmt.Sprintf("payment %d", i))
	}

	// The consumer takes archiveInFlight messages and never answers them,
	// so in-flight, ready and depth all have known values.
	opts := nsqclient.NewOptions()
	opts.MaxInFlight = archiveInFlight
	opts.UserAgent = consumerUA
	opts.Snappy = true
	opts.StopTimeout = time.Second
	consumer, err := nsqclient.NewConsumer("orders", "archive", opts)
	require.NoError(t, err)
	consumer.AddHandler(nsqclient.HandlerFunc(func(m *nsqclient.Message) error {
		m.DisableAutoResponse()
		return nil
	}))
	require.NoError(t, consumer.ConnectToNSQD(c.nsqd.TCPAddr()))
	t.Cleanup(func() {
		consumer.Stop()
		select {
		case <-consumer.Done():
		case <-time.After(tooltest.WaitTimeout):
			t.Error("consumer did not stop in time")
		}
	})
	c.waitStats(t, "archive to hold its messages in flight", func(s nsqdStats) bool {
		ch, ok := s.channel("orders", "archive")
		return ok && ch.InFlightCount == archiveInFlight && len(ch.Clients) == 1
	})
}

// waitStats polls nsqd's /stats until cond holds.
func (c *cluster) waitStats(t *testing.T, what string, cond func(nsqdStats) bool) nsqdStats {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		s := c.stats(t)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("nsqd /stats never showed %s", what)
		}
		time.Sleep(50 * time.Millisecond) // polling a remote state with no event to await
	}
}

func (s nsqdStats) topic(name string) (int, bool) {
	for i, t := range s.Topics {
		if t.TopicName == name {
			return i, true
		}
	}
	return -1, false
}

func (s nsqdStats) channel(topic, channel string) (channelStats, bool) {
	i, ok := s.topic(topic)
	if !ok {
		return channelStats{}, false
	}
	for _, c := range s.Topics[i].Channels {
		if c.ChannelName == channel {
			return c, true
		}
	}
	return channelStats{}, false
}

// lookupdChannels is what the lookupd answers for /channels?topic=.
func (c *cluster) lookupdChannels(t *testing.T, topic string) []string {
	t.Helper()
	resp, err := http.Get("http://" + c.lookupd.HTTPAddr() + "/channels?topic=" + url.QueryEscape(topic))
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Channels []string `json:"channels"`
	}
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	require.NoError(t, decodeJSON(resp.Body, &body))
	return body.Channels
}

// num formats as the pages do (en-US thousands separators).
func num(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
