package nsqd

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPublishThenConsumeOverTCP(t *testing.T) {
	n := startDaemon(t, nil)
	producer := dialV2(t, n)
	producer.send("PUB demo", []byte("hello"))
	producer.expectResponse("OK")

	consumer := dialV2(t, n)
	consumer.subscribe("demo", "ch")
	consumer.send("RDY 1")
	msg := consumer.readMessage()
	require.Equal(t, "hello", string(msg.Body))
	require.Equal(t, uint16(1), msg.Attempts)
	consumer.send("FIN " + string(msg.ID[:]))
	consumer.send("CLS")
	consumer.expectResponse("CLOSE_WAIT")
}
