package nsqd

import (
	"net/http"
	"testing"

	"github.com/nsqio/go-nsq"
	"github.com/stretchr/testify/require"
)

// Interop with the real go-nsq v1.1.0 client using config.AuthSecret: it
// sends AUTH after IDENTIFY says auth_required, and must then be governed
// by the auth server's answer.

// secretAuthServer grants "s3cret" publishing and subscribing on topics
// "^t" (any channel) and refuses every other secret with 403.
func secretAuthServer(t *testing.T) *authServer {
	t.Helper()
	auth := newAuthServer(t, "")
	granted := answer(3600, "^t", []string{".*"}, "publish", "subscribe")
	auth.setResponder(func(secret string) (int, string) {
		if secret == "s3cret" {
			return http.StatusOK, granted
		}
		return http.StatusForbidden, `{"message":"FORBIDDEN"}`
	})
	return auth
}

// gonsqAuthProducer is a go-nsq producer sending secret.
func gonsqAuthProducer(t *testing.T, n *NSQD, log *gonsqLog, secret string) *nsq.Producer {
	t.Helper()
	cfg := nsq.NewConfig()
	cfg.AuthSecret = secret
	producer, err := nsq.NewProducer(n.RealTCPAddr().String(), cfg)
	require.NoError(t, err)
	producer.SetLogger(log, nsq.LogLevelInfo)
	t.Cleanup(producer.Stop)
	return producer
}

func TestGoNsqProducerAndConsumerAuthenticateWithTheirSecret(t *testing.T) {
	auth := secretAuthServer(t)
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	log := newGonsqLog(t)
	got := newCollector()
	gonsqConsumer(t, n, log, "t", "c", func(cfg *nsq.Config) { cfg.AuthSecret = "s3cret" }, got.handle)
	awaitSubscribers(t, n, "t", "c", 1)

	producer := gonsqAuthProducer(t, n, log, "s3cret")
	bodies := numbered("m", 10)
	for _, body := range bodies[:5] {
		require.NoError(t, producer.Publish("t", []byte(body)))
	}
	batch := make([][]byte, 0, 5)
	for _, body := range bodies[5:] {
		batch = append(batch, []byte(body))
	}
	require.NoError(t, producer.MultiPublish("t", batch))
	require.ElementsMatch(t, bodies, got.await(t, len(bodies)))

	stats := n.GetStats("", "", true)
	require.Len(t, stats.Producers, 1)
	require.True(t, stats.Producers[0].Authed)
	require.Equal(t, "alice", stats.Producers[0].AuthIdentity)
	require.Equal(t, "http://id/alice", stats.Producers[0].AuthIdentityURL)
	require.Equal(t, "alice", stats.Topics[0].Channels[0].Clients[0].AuthIdentity)
	require.Equal(t, int64(2), auth.hits.Load(), "one query per connection")
}

func TestGoNsqProducerToADeniedTopicIsUnauthorized(t *testing.T) {
	auth := secretAuthServer(t)
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	producer := gonsqAuthProducer(t, n, newGonsqLog(t), "s3cret")
	err := producer.Publish("other", []byte("x"))
	require.ErrorContains(t, err, `E_UNAUTHORIZED AUTH failed for PUB on "other" ""`)
	_, err = n.GetExistingTopic("other")
	require.ErrorIs(t, err, errTopicNotFound)
}

func TestGoNsqWithAWrongSecretIsAuthFailed(t *testing.T) {
	auth := secretAuthServer(t)
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	producer := gonsqAuthProducer(t, n, newGonsqLog(t), "wrong")
	err := producer.Publish("t", []byte("x"))
	require.ErrorContains(t, err, "Error authenticating E_AUTH_FAILED AUTH failed")
}

func TestGoNsqWithoutASecretRefusesAnAuthRequiredDaemon(t *testing.T) {
	auth := secretAuthServer(t)
	n := startAuthDaemon(t, []string{auth.addr()}, nil)
	cfg := nsq.NewConfig()
	consumer, err := nsq.NewConsumer("t", "c", cfg)
	require.NoError(t, err)
	consumer.SetLogger(newGonsqLog(t), nsq.LogLevelInfo)
	consumer.AddHandler(nsq.HandlerFunc(func(*nsq.Message) error { return nil }))
	t.Cleanup(consumer.Stop)
	// go-nsq reads auth_required from the IDENTIFY reply and gives up.
	require.ErrorContains(t, consumer.ConnectToNSQD(n.RealTCPAddr().String()), "Auth Required")
	require.Zero(t, auth.hits.Load())
}
