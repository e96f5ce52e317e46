package nsqd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// Session 26 review: MPUB takes size fields and small bodies from the read
// buffer in place (protocol_v2.go, mpub). These tests compare what the
// parser makes of an MPUB, fed by the socket in pieces of every size, with
// upstream's reading of the same bytes (readMPUB in upstream's
// protocol_v2.go as upstream nsqd 1.3 reads it, per the TCP protocol reference):
// the same error text, or the same bodies published, in order.

// reviewMPUBLimits are small limits so that fuzzed bytes reach every check,
// and still above slabMaxBody so that big bodies (read past the buffer) are
// among them.
const (
	reviewMaxMsgSize  = slabMaxBody + 100
	reviewMaxBodySize = 4 * reviewMaxMsgSize
)

// upstreamMPUB is upstream's reading of an MPUB's bytes after its command
// line: the error frame's text, or the bodies; and how many bytes it read
// (up to the field found bad, when there is one).
func upstreamMPUB(data []byte, maxMsg, maxBody int64) (bodies [][]byte, used int, errText string) {
	pos := 0
	read32 := func() (int32, bool) {
		if len(data)-pos < 4 {
			return 0, false
		}
		v := int32(binary.BigEndian.Uint32(data[pos:]))
		pos += 4
		return v, true
	}
	bodySize, ok := read32()
	if !ok {
		return nil, pos, "E_BAD_BODY MPUB failed to read body size"
	}
	if bodySize <= 0 {
		return nil, pos, fmt.Sprintf("E_BAD_BODY MPUB invalid body size %d", bodySize)
	}
	if int64(bodySize) > maxBody {
		return nil, pos, fmt.Sprintf("E_BAD_BODY MPUB body too big %d > %d", bodySize, maxBody)
	}
	count, ok := read32()
	if !ok {
		return nil, pos, "E_BAD_BODY MPUB failed to read message count"
	}
	if count <= 0 || int64(count) > (maxBody-4)/5 {
		return nil, pos, fmt.Sprintf("E_BAD_BODY MPUB invalid message count %d", count)
	}
	for i := int32(0); i < count; i++ {
		size, ok := read32()
		if !ok {
			return nil, pos, fmt.Sprintf("E_BAD_MESSAGE MPUB failed to read message(%d) body size", i)
		}
		if size <= 0 {
			return nil, pos, fmt.Sprintf("E_BAD_MESSAGE MPUB invalid message(%d) body size %d", i, size)
		}
		if int64(size) > maxMsg {
			return nil, pos, fmt.Sprintf("E_BAD_MESSAGE MPUB message too big %d > %d", size, maxMsg)
		}
		if len(data)-pos < int(size) {
			return nil, pos, "E_BAD_MESSAGE MPUB failed to read message body"
		}
		bodies = append(bodies, data[pos:pos+int(size)])
		pos += int(size)
	}
	return bodies, pos, ""
}

// reviewFrame builds an MPUB's bytes after the command line: the declared
// body size, the count, then each body with its size field (sizes[i] when
// given, else the body's length).
func reviewFrame(bodySize, count int32, bodies []string, sizes map[int]int32) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(bodySize))
	b = binary.BigEndian.AppendUint32(b, uint32(count))
	for i, body := range bodies {
		size := int32(len(body))
		if s, ok := sizes[i]; ok {
			size = s
		}
		b = binary.BigEndian.AppendUint32(b, uint32(size))
		b = append(b, body...)
	}
	return b
}

// reviewTopics names each case's topic apart on the shared daemon.
var reviewTopics atomic.Int64

// checkMPUBAsUpstream runs "MPUB topic" followed by data through a session
// whose socket hands over at most chunk bytes per read, and requires the
// outcome upstream's reading gives: its error text, or exactly its bodies
// published (nothing more: a sentinel published after them comes next).
func checkMPUBAsUpstream(t *testing.T, n *NSQD, data []byte, chunk int) {
	t.Helper()
	bodies, used, wantErr := upstreamMPUB(data, reviewMaxMsgSize, reviewMaxBodySize)
	if wantErr == "" {
		data = data[:used] // what follows would be read as more commands
	}
	// Ephemeral: no disk queue to create (its files and fsyncs were most of
	// a case's time), and the MPUB is read and put as for any topic; the
	// daemon's memory queue (reviewMPUBDaemon) holds every body an MPUB
	// within --max-body-size can carry.
	topicName := fmt.Sprintf("review%d#ephemeral", reviewTopics.Add(1))
	topic, err := n.GetTopic(topicName)
	require.NoError(t, err)
	channel, err := topic.GetChannel("c#ephemeral")
	require.NoError(t, err)

	stream := append([]byte("MPUB "+topicName+"\n"), data...)
	conn := &chunkConn{stream: bytes.NewReader(stream), chunk: chunk}
	s := &v2Session{c: newClient(1, conn, n), n: n}
	runErr := s.run()
	var perr *protocolError
	if wantErr != "" {
		require.True(t, errors.As(runErr, &perr), "want %q, got %v", wantErr, runErr)
		require.Equal(t, wantErr, perr.Error())
	} else {
		require.False(t, errors.As(runErr, &perr), "want %d bodies, got %v", len(bodies), runErr)
	}

	// The session ran on this goroutine and an MPUB is in its channels
	// before it is answered: the channel now holds exactly upstream's
	// bodies, in order, and nothing more. (Looked at in place, by peek,
	// rather than through two connections and a subscriber per case;
	// TestReviewMPUBOverSocketAsUpstream delivers over a socket. With the
	// disk queues, this took TestReviewMPUBEveryAlignmentAtTheBufferEdge
	// from 4.6 s to 0.09 s here.)
	got, err := channel.peekReady(len(bodies) + 1)
	require.NoError(t, err)
	require.Len(t, got, len(bodies), "messages published")
	for i := range bodies {
		require.Equal(t, bodies[i], got[i].Body, "message %d", i)
	}
}

func reviewMPUBDaemon(t testing.TB) *NSQD {
	return startDaemon(t, func(o *Options) {
		o.Logger = io.Discard // the fuzz engine forbids the F's Log inside the target
		o.MaxMsgSize = reviewMaxMsgSize
		o.MaxBodySize = reviewMaxBodySize
		o.MemQueueSize = reviewMaxBodySize / 5 // more than the most bodies an MPUB carries
	})
}

// Bad input at every position the read buffer's edge can fall: a size field
// split across reads, sizes 0, negative and over --max-msg-size, a count
// that lies either way, a body that ends exactly at the buffer's end, a
// body cut short; each is read as upstream reads it, with its error text.
func TestReviewMPUBBadInputAsUpstream(t *testing.T) {
	n := reviewMPUBDaemon(t)
	small := []string{"a", "bb", "ccc"}
	big := strings.Repeat("B", slabMaxBody+1)
	// a body that ends exactly at the read buffer's end: the command line
	// "MPUB reviewN\n" is at most 16 bytes, so this fills the buffer to its
	// last byte with one 4-byte-framed body for chunk sizes that read it in
	// one go.
	fill := strings.Repeat("F", defaultBufferSize-len("MPUB review0000\n")-12)
	cases := map[string][]byte{
		"honest":              reviewFrame(100, 3, small, nil),
		"size 0":              reviewFrame(100, 3, small, map[int]int32{1: 0}),
		"size negative":       reviewFrame(100, 3, small, map[int]int32{2: -5}),
		"size over max":       reviewFrame(100, 3, small, map[int]int32{1: reviewMaxMsgSize + 1}),
		"size at max":         reviewFrame(100, 1, []string{strings.Repeat("m", reviewMaxMsgSize)}, nil),
		"size int32 min":      reviewFrame(100, 1, small[:1], map[int]int32{0: -1 << 31}),
		"count over bodies":   reviewFrame(100, 4, small, nil),
		"count under bodies":  reviewFrame(100, 2, small, nil),
		"count 0":             reviewFrame(100, 0, small, nil),
		"count negative":      reviewFrame(100, -1, small, nil),
		"count over max":      reviewFrame(100, (reviewMaxBodySize-4)/5+1, small, nil),
		"body size 0":         reviewFrame(0, 3, small, nil),
		"body size too big":   reviewFrame(reviewMaxBodySize+1, 3, small, nil),
		"body size lies":      reviewFrame(5, 3, small, nil),
		"body cut short":      reviewFrame(100, 3, small, nil)[:len(reviewFrame(100, 3, small, nil))-1],
		"size field cut":      reviewFrame(100, 3, small, nil)[:8+4+1+4+2+2],
		"big among small":     reviewFrame(100, 4, []string{"a", big, "c", big}, nil),
		"big then bad size":   reviewFrame(100, 3, []string{big, "x", "y"}, map[int]int32{1: 0}),
		"big then size cut":   append(reviewFrame(100, 3, []string{big}, nil), 0, 0),
		"ends at buffer end":  reviewFrame(100, 2, []string{fill, "after"}, nil),
		"empty":               nil,
		"count cut":           reviewFrame(100, 3, nil, nil)[:6],
		"big size over max":   reviewFrame(100, 2, []string{"a", big}, map[int]int32{1: reviewMaxMsgSize + 1}),
		"many small honest":   reviewFrame(100, 200, strings.Split(strings.Repeat("xy,", 199)+"z", ","), nil),
		"many small then cut": reviewFrame(100, 200, strings.Split(strings.Repeat("xy,", 150)+"z", ","), nil),
	}
	for name, data := range cases {
		for _, chunk := range []int{1, 2, 3, 4, 5, 7, 13, 4096, defaultBufferSize, defaultBufferSize + 3} {
			t.Run(fmt.Sprintf("%s/chunk=%d", name, chunk), func(t *testing.T) {
				checkMPUBAsUpstream(t, n, data, chunk)
			})
		}
	}
}

// FuzzReviewMPUBParse feeds arbitrary bytes after "MPUB topic" in reads of
// arbitrary size and requires upstream's outcome; its seeds run as a test.
func FuzzReviewMPUBParse(f *testing.F) {
	small := []string{"a", "bb", "ccc"}
	big := strings.Repeat("B", slabMaxBody+1)
	for _, seed := range [][]byte{
		reviewFrame(100, 3, small, nil),
		reviewFrame(100, 3, small, map[int]int32{1: 0}),
		reviewFrame(100, 3, small, map[int]int32{1: -1}),
		reviewFrame(100, 4, small, nil),
		reviewFrame(100, 2, []string{big, "x"}, nil),
		reviewFrame(100, 3, []string{"x", big, "y"}, nil),
		append(reviewFrame(100, 2, []string{big}, nil), 0, 0, 0),
	} {
		for _, chunk := range []uint16{1, 3, 4, 6, 4096, 20000} {
			f.Add(seed, chunk)
		}
	}
	n := reviewMPUBDaemon(f)
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16) {
		checkMPUBAsUpstream(t, n, data, 1+int(chunk))
	})
}

// Over a real socket a big body that is not the last is read together with
// the size field after it (sizeAheadReader, readv), and the next size must
// then come from there and not from the read buffer: the same comparison
// with upstream, the MPUB written in pieces that cut it at many places.
func TestReviewMPUBOverSocketAsUpstream(t *testing.T) {
	n := reviewMPUBDaemon(t)
	big := strings.Repeat("B", slabMaxBody+1)
	bigger := strings.Repeat("G", reviewMaxMsgSize)
	cases := map[string][]byte{
		"big small big small": reviewFrame(100, 4, []string{big, "s", bigger, "t"}, nil),
		"bigs then smalls":    reviewFrame(100, 5, []string{big, bigger, "a", "bb", "ccc"}, nil),
		"big then size 0":     reviewFrame(100, 3, []string{big, "x", "y"}, map[int]int32{1: 0}),
		"big then too big":    reviewFrame(100, 3, []string{big, "x", "y"}, map[int]int32{1: reviewMaxMsgSize + 1}),
		"big then negative":   reviewFrame(100, 3, []string{bigger, "x", "y"}, map[int]int32{1: -7}),
		"count over bodies":   reviewFrame(100, 3, []string{big, "x"}, nil),
		"small then big last": reviewFrame(100, 3, []string{"x", "y", big}, nil),
	}
	for name, data := range cases {
		for _, piece := range []int{3, 1000, slabMaxBody - 2, slabMaxBody + 7, 1 << 20} {
			t.Run(fmt.Sprintf("%s/piece=%d", name, piece), func(t *testing.T) {
				bodies, used, wantErr := upstreamMPUB(data, reviewMaxMsgSize, reviewMaxBodySize)
				// Only what the daemon reads: bytes after a bad field would
				// reach a closed socket, whose reset can lose the error frame.
				send := data[:used]
				topicName := fmt.Sprintf("review%d", reviewTopics.Add(1))
				topic, err := n.GetTopic(topicName)
				require.NoError(t, err)
				_, err = topic.GetChannel("c")
				require.NoError(t, err)
				c := dialV2(t, n)
				c.sendRaw([]byte("MPUB " + topicName + "\n"))
				for len(send) > 0 {
					k := min(piece, len(send))
					c.sendRaw(send[:k])
					send = send[k:]
				}
				if wantErr != "" {
					if strings.Contains(wantErr, "failed to read") {
						c.closeWrite()
					}
					c.expectFatal(wantErr)
				} else {
					c.expectResponse("OK")
				}
				sub := dialV2(t, n)
				sub.subscribe(topicName, "c")
				sub.send(fmt.Sprintf("RDY %d", len(bodies)+1))
				got := sub.readMessages(len(bodies))
				for i := range bodies {
					require.Equal(t, bodies[i], got[i].Body, "message %d", i)
				}
				dialV2(t, n).pub(topicName, "sentinel")
				require.Equal(t, "sentinel", string(sub.readMessage().Body), "a message no MPUB body made was published")
			})
		}
	}
}

// The scratch slice an MPUB gathers its messages in goes back to the
// daemon's pool (NSQD.mpubBatches) holding no message: after a batch
// published, one cut short, and one refused at a bad size field, every
// element up to its capacity is zero, so the pool keeps no body alive and a
// later batch sees nothing of an earlier one.
func TestReviewMPUBPooledScratchIsClearedToItsCapacity(t *testing.T) {
	n := reviewMPUBDaemon(t)
	bodies := strings.Split(strings.Repeat("body,", 49)+"last", ",")
	published := reviewFrame(100, int32(len(bodies)), bodies, nil)
	cases := map[string][]byte{
		"published": published,
		"cut short": published[:len(published)-2],
		"bad size":  reviewFrame(100, int32(len(bodies)), bodies, map[int]int32{40: -1}),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			seen := 0
			for try := 0; try < 20 && seen < 3; try++ {
				topicName := fmt.Sprintf("review%d", reviewTopics.Add(1))
				stream := append([]byte("MPUB "+topicName+"\n"), data...)
				s := &v2Session{c: newClient(1, &chunkConn{stream: bytes.NewReader(stream), chunk: 4096}, n), n: n}
				s.run()
				// The session ran on this goroutine: the pool's slot for
				// its P most likely holds the slice it put back.
				p, _ := n.mpubBatches.Get().(*[]Message)
				if p == nil {
					continue
				}
				seen++
				require.Zero(t, len(*p), "a pooled slice holds messages")
				require.GreaterOrEqual(t, cap(*p), 40, "not the slice this MPUB used")
				for i, m := range (*p)[:cap(*p)] {
					require.True(t, reflect.DeepEqual(Message{}, m), "element %d of the pooled slice: %+v", i, m)
				}
				n.mpubBatches.Put(p)
			}
			require.NotZero(t, seen, "the pool never gave back a slice")
		})
	}
}

// Small bodies whose framing falls at every offset of the read buffer's
// edge: with a first body of each length from 1 to 210 and then bodies of
// 200 bytes (204 framed), some body ends exactly at the buffer's end, and
// some size field is split there at each of its bytes, whatever the
// command line's length.
func TestReviewMPUBEveryAlignmentAtTheBufferEdge(t *testing.T) {
	n := reviewMPUBDaemon(t)
	rest := make([]string, 85) // 85 framed bodies pass the 16 KB edge
	for i := range rest {
		rest[i] = fmt.Sprintf("%03d", i) + strings.Repeat(string(rune('a'+i%26)), 197)
	}
	for pre := 1; pre <= 210; pre++ {
		bodies := append([]string{strings.Repeat("p", pre)}, rest...)
		data := reviewFrame(100, int32(len(bodies)), bodies, nil)
		for _, chunk := range []int{defaultBufferSize} {
			checkMPUBAsUpstream(t, n, data, chunk)
		}
	}
}
