package nsqd

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// PUB, MPUB and DPUB: replies, limits and every error each can answer.

// smallLimits keeps boundary tests cheap: 100-byte messages, 1 KiB bodies.
func smallLimits(o *Options) {
	o.MaxMsgSize = 100
	o.MaxBodySize = 1024
}

func TestPubCreatesTopicAndAnswersOK(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.pub("created", "hello")
	topic, err := n.GetExistingTopic("created")
	require.NoError(t, err)
	require.Equal(t, int64(1), topic.Depth(), "held until a channel appears")
}

func TestPubErrorsAreFatal(t *testing.T) {
	n := startDaemon(t, smallLimits)
	cases := []struct {
		raw  []byte
		want string
	}{
		{command("PUB"), "E_INVALID PUB insufficient number of parameters"},
		{command("PUB bad/topic", []byte("x")), `E_BAD_TOPIC PUB topic name "bad/topic" is not valid`},
		{command("PUB "+strings.Repeat("a", 65), []byte("x")), `E_BAD_TOPIC PUB topic name "` + strings.Repeat("a", 65) + `" is not valid`},
		{command("PUB a\tb", []byte("x")), `E_BAD_TOPIC PUB topic name "a\tb" is not valid`},
		{command("PUB t", []byte{}), "E_BAD_MESSAGE PUB invalid message body size 0"},
		{binary.BigEndian.AppendUint32([]byte("PUB t\n"), 0xFFFFFFFF), "E_BAD_MESSAGE PUB invalid message body size -1"},
		{binary.BigEndian.AppendUint32([]byte("PUB t\n"), 101), "E_BAD_MESSAGE PUB message too big 101 > 100"},
	}
	for _, tc := range cases {
		c := dialV2(t, n)
		c.sendRaw(tc.raw)
		c.expectFatal(tc.want)
	}
}

func TestPubTruncatedBodyIsFatal(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.sendRaw([]byte("PUB t\n\x00\x00\x00"))
	c.closeWrite()
	c.expectFatal("E_BAD_MESSAGE PUB failed to read message body size")

	c = dialV2(t, n)
	c.sendRaw(append(binary.BigEndian.AppendUint32([]byte("PUB t\n"), 10), "abc"...))
	c.closeWrite()
	c.expectFatal("E_BAD_MESSAGE PUB failed to read message body")
}

func TestPubAcceptsBodyOfExactlyMaxMsgSize(t *testing.T) {
	n := startDaemon(t, smallLimits)
	c := dialV2(t, n)
	body := strings.Repeat("m", 100)
	c.pub("t", body)
	c.subscribe("t", "c")
	c.send("RDY 1")
	require.Equal(t, body, string(c.readMessage().Body))
}

func TestPubOneByteOverMaxMsgSizeIsRejected(t *testing.T) {
	n := startDaemon(t, smallLimits)
	c := dialV2(t, n)
	c.send("PUB t", []byte(strings.Repeat("m", 101)))
	c.expectFatal("E_BAD_MESSAGE PUB message too big 101 > 100")
	_, err := n.GetExistingTopic("t")
	require.ErrorIs(t, err, errTopicNotFound, "PUB creates the topic only when it succeeds")
}

func TestPubAfterSubOnSameConnectionWorks(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.pub("t", "self")
	c.send("RDY 1")
	require.Equal(t, "self", string(c.readMessage().Body))
}

func TestMpubDeliversEveryMessageInOrder(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.mpub("t", "a", "b", "c")
	c.subscribe("t", "c")
	c.send("RDY 3")
	for _, want := range []string{"a", "b", "c"} {
		require.Equal(t, want, string(c.readMessage().Body))
	}
}

func TestMpubBadTopicDoublesTheErrorCode(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.send("MPUB bad/topic", mpubBody("x"))
	c.expectFatal(`E_BAD_TOPIC E_BAD_TOPIC MPUB topic name "bad/topic" is not valid`)
}

func TestMpubErrorsAreFatal(t *testing.T) {
	n := startDaemon(t, smallLimits)
	sized := func(sizes ...uint32) []byte {
		buf := []byte("MPUB t\n")
		for _, s := range sizes {
			buf = binary.BigEndian.AppendUint32(buf, s)
		}
		return buf
	}
	cases := []struct {
		raw  []byte
		want string
	}{
		{command("MPUB"), "E_INVALID MPUB insufficient number of parameters"},
		{sized(0), "E_BAD_BODY MPUB invalid body size 0"},
		{sized(0xFFFFFFFF), "E_BAD_BODY MPUB invalid body size -1"},
		{sized(1025), "E_BAD_BODY MPUB body too big 1025 > 1024"},
		{sized(100, 0), "E_BAD_BODY MPUB invalid message count 0"},
		{sized(100, 0xFFFFFFFF), "E_BAD_BODY MPUB invalid message count -1"},
		// (1024-4)/5 = 204 is the largest count the body size allows.
		{sized(100, 205), "E_BAD_BODY MPUB invalid message count 205"},
		{append(append(sized(100, 2, 1), 'a'), 0, 0, 0, 0), "E_BAD_MESSAGE MPUB invalid message(1) body size 0"},
		{sized(100, 2, 0xFFFFFFFF), "E_BAD_MESSAGE MPUB invalid message(0) body size -1"},
		{sized(200, 1, 101), "E_BAD_MESSAGE MPUB message too big 101 > 100"},
	}
	for _, tc := range cases {
		c := dialV2(t, n)
		c.sendRaw(tc.raw)
		c.expectFatal(tc.want)
	}
}

func TestMpubTruncatedBodyIsFatal(t *testing.T) {
	n := startDaemon(t, smallLimits)
	cases := []struct {
		raw  []byte
		want string
	}{
		{[]byte("MPUB t\n\x00"), "E_BAD_BODY MPUB failed to read body size"},
		{[]byte("MPUB t\n\x00\x00\x00\x10\x00"), "E_BAD_BODY MPUB failed to read message count"},
		{[]byte("MPUB t\n\x00\x00\x00\x10\x00\x00\x00\x02\x00\x00\x00\x01a\x00"), "E_BAD_MESSAGE MPUB failed to read message(1) body size"},
		{[]byte("MPUB t\n\x00\x00\x00\x10\x00\x00\x00\x01\x00\x00\x00\x05ab"), "E_BAD_MESSAGE MPUB failed to read message body"},
	}
	for _, tc := range cases {
		c := dialV2(t, n)
		c.sendRaw(tc.raw)
		c.closeWrite()
		c.expectFatal(tc.want)
	}
}

func TestMpubMaximumCountIsAccepted(t *testing.T) {
	n := startDaemon(t, smallLimits)
	c := dialV2(t, n)
	// 204 one-byte messages: 4 + 204*5 = 1024 bytes, exactly the max body.
	bodies := make([]string, 204)
	for i := range bodies {
		bodies[i] = "x"
	}
	require.Len(t, mpubBody(bodies...), 1024)
	c.mpub("t", bodies...)
	topic, err := n.GetExistingTopic("t")
	require.NoError(t, err)
	require.Equal(t, int64(204), topic.Depth())
}

func TestMpubCreatesTopicEvenWhenBodyIsRejected(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.sendRaw(binary.BigEndian.AppendUint32([]byte("MPUB left-behind\n"), 0))
	c.expectFatal("E_BAD_BODY MPUB invalid body size 0")
	_, err := n.GetExistingTopic("left-behind")
	require.NoError(t, err)
}

func TestMpubIsAllOrNothingWhenAMessageIsInvalid(t *testing.T) {
	n := startDaemon(t, smallLimits)
	c := dialV2(t, n)
	body := mpubBody("ok", strings.Repeat("x", 101))
	c.send("MPUB t", body)
	c.expectFatal("E_BAD_MESSAGE MPUB message too big 101 > 100")
	topic, err := n.GetExistingTopic("t")
	require.NoError(t, err)
	require.Zero(t, topic.Depth(), "the valid first message must not be queued")
}

func TestMpubBodySizeIsNotCheckedAgainstItsMessages(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	// Upstream parses exactly the declared count and never compares the
	// outer size with the messages' total: bytes after them are the next
	// command.
	inner := mpubBody("a", "b")
	raw := binary.BigEndian.AppendUint32([]byte("MPUB t\n"), uint32(len(inner)+50))
	raw = append(raw, inner...)
	raw = append(raw, command("PUB t", []byte("c"))...)
	c.sendRaw(raw)
	c.expectResponse("OK")
	c.expectResponse("OK")
	topic, err := n.GetExistingTopic("t")
	require.NoError(t, err)
	require.Equal(t, int64(3), topic.Depth())
}

func TestMpubMessageIDsAreUniqueAcrossALargeBatch(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	const count = 5000
	c.mpub("t", numbered("m", count)...)
	c.subscribe("t", "c")
	c.send("RDY 2500")
	seen := map[protocol.MessageID]bool{}
	for i := 0; i < count; i++ {
		msg := c.readMessage()
		require.False(t, seen[msg.ID], "duplicate ID %s", msg.ID[:])
		seen[msg.ID] = true
		for _, b := range msg.ID {
			require.True(t, b >= '0' && b <= '9' || b >= 'a' && b <= 'f', "ID %q is not lower-case hex", msg.ID[:])
		}
		c.fin(msg.ID)
	}
	require.Len(t, seen, count)
}

func TestDpubZeroDelayBehavesLikePub(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("DPUB t 0", []byte("now"))
	c.expectResponse("OK")
	c.send("RDY 1")
	require.Equal(t, "now", string(c.readMessage().Body))
}

func TestDpubErrorsAreFatal(t *testing.T) {
	n := startDaemon(t, smallLimits)
	cases := []struct {
		raw  []byte
		want string
	}{
		{command("DPUB t"), "E_INVALID DPUB insufficient number of parameters"},
		{command("DPUB bad/topic 10", []byte("x")), `E_BAD_TOPIC DPUB topic name "bad/topic" is not valid`},
		{command("DPUB t x", []byte("x")), "E_INVALID DPUB could not parse timeout x"},
		{command("DPUB t -1", []byte("x")), "E_INVALID DPUB could not parse timeout -1"},
		{command("DPUB t 3600001", []byte("x")), "E_INVALID DPUB timeout 3600001 out of range 0-3600000"},
		{command("DPUB t 10", []byte{}), "E_BAD_MESSAGE DPUB invalid message body size 0"},
		{binary.BigEndian.AppendUint32([]byte("DPUB t 10\n"), 101), "E_BAD_MESSAGE DPUB message too big 101 > 100"},
	}
	for _, tc := range cases {
		c := dialV2(t, n)
		c.sendRaw(tc.raw)
		c.expectFatal(tc.want)
	}
	c := dialV2(t, n)
	c.sendRaw([]byte("DPUB t 10\n\x00"))
	c.closeWrite()
	c.expectFatal("E_BAD_MESSAGE DPUB failed to read message body size")
}

func TestDpubRangeFollowsMaxReqTimeout(t *testing.T) {
	n := startDaemon(t, func(o *Options) { o.MaxReqTimeout = 5 * time.Second })
	c := dialV2(t, n)
	c.send("DPUB t 5000", []byte("edge"))
	c.expectResponse("OK")
	c.send("DPUB t 5001", []byte("over"))
	c.expectFatal("E_INVALID DPUB timeout 5001 out of range 0-5000")
}

func TestDpubEmptyTimeoutParsesAsZero(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.subscribe("t", "c")
	c.send("DPUB t ", []byte("empty"))
	c.expectResponse("OK")
	c.send("RDY 1")
	require.Equal(t, "empty", string(c.readMessage().Body))
}

// A connection remembers the topic it last published to; once that topic is
// deleted, its next PUB and MPUB go to a new topic of the same name.
func TestPublishAfterTopicDeletionRecreatesTheTopic(t *testing.T) {
	n := startDaemon(t, nil)
	p := dialV2(t, n)
	p.pub("t", "before")
	require.NoError(t, n.DeleteExistingTopic("t"))
	p.pub("t", "after")
	p.mpub("t", "batch")
	topic, err := n.GetExistingTopic("t")
	require.NoError(t, err)
	require.Equal(t, int64(2), topic.Depth(), "held on the recreated topic")
}

func TestMpubCountsEveryMessageInProducerPubCounts(t *testing.T) {
	n := startDaemon(t, nil)
	c := dialV2(t, n)
	c.mpub("t", "a", "b", "c")
	c.pub("t", "d")
	producers := getStats(t, n, "").Producers
	require.Len(t, producers, 1)
	require.Equal(t, []PubCount{{Topic: "t", Count: 4}}, producers[0].PubCounts)
}

func TestMpubAcceptsMessageOfExactlyMaxMsgSize(t *testing.T) {
	n := startDaemon(t, smallLimits)
	c := dialV2(t, n)
	body := strings.Repeat("m", 100)
	c.mpub("t", "small", body)
	c.subscribe("t", "c")
	c.send("RDY 2")
	require.Equal(t, []string{"small", body}, bodiesOf(c.readMessages(2)))
}
