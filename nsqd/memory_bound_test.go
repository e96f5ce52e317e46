package nsqd

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Memory an outside party controls (README, "Memory a client controls"):
// each test sends N hostile requests and bounds what the daemon holds or
// allocates for them, measured in-process with runtime.ReadMemStats after
// a GC. The bounds sit far below what the requests declare, so allocating
// by a declared size, or keeping non-message bytes alive, fails them.

// heapAfterGC is the live heap once garbage is collected.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// totalAllocated is everything allocated since the process started.
func totalAllocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// heldBound is the most N held 1-byte messages may keep alive: message
// values, ring slots and slabs of their own bytes, plus a fixed 4 MiB for
// buffers the daemon and the test's clients keep.
func heldBound(messages int) uint64 { return uint64(messages)*1024 + 4<<20 }

// TestMPUBHoldsOnlyMessageBytes publishes, N times, one 1-byte message in a
// 512 KiB batch (TCP with a body size that lies, HTTP /mpub text padded with
// empty lines, binary with trailing bytes). The messages stay queued on a
// channel; the heap they hold must be proportional to them, not to the
// batches (before the fix: N/2 MiB, 16 MiB against a bound of about 4 MiB).
// More or bigger batches would only cost time: under -race, scanning 64 MiB
// of empty lines took 27 s.
func TestMPUBHoldsOnlyMessageBytes(t *testing.T) {
	const requests = 32
	const padding = 512 << 10
	cases := []struct {
		name    string
		publish func(t *testing.T, n *NSQD, topic string)
	}{
		{"tcp lying body size", func(t *testing.T, n *NSQD, topic string) {
			c := dialV2(t, n)
			inner := mpubBody("x")
			for i := 0; i < requests; i++ {
				cmd := []byte("MPUB " + topic + "\n")
				cmd = binary.BigEndian.AppendUint32(cmd, uint32(len(inner)+padding))
				c.sendRaw(append(cmd, inner...))
				c.expectResponse("OK")
			}
		}},
		{"http text empty lines", func(t *testing.T, n *NSQD, topic string) {
			body := append([]byte("x\n"), bytes.Repeat([]byte("\n"), padding)...)
			for i := 0; i < requests; i++ {
				status, data := httpPostBytes(t, n, "/mpub?topic="+topic, body)
				requireOK(t, "OK", status, data)
			}
		}},
		{"http binary trailing bytes", func(t *testing.T, n *NSQD, topic string) {
			body := append(mpubBody("x"), make([]byte, padding)...)
			for i := 0; i < requests; i++ {
				status, data := httpPostBytes(t, n, "/mpub?topic="+topic+"&binary=true", body)
				requireOK(t, "OK", status, data)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := startDaemon(t, nil)
			topic, err := n.GetTopic("held")
			require.NoError(t, err)
			ch, err := topic.GetChannel("ch")
			require.NoError(t, err)
			before := heapAfterGC()
			tc.publish(t, n, "held")
			require.EqualValues(t, requests, ch.Depth(), "every message is still held")
			after := heapAfterGC()
			grown := after - min(before, after)
			t.Logf("%d held 1-byte messages from %d-byte batches: heap grew %d bytes", requests, padding, grown)
			require.Less(t, grown, heldBound(requests), "held messages pin their batches")
		})
	}
}

// httpPostBytes posts body and returns status and response.
func httpPostBytes(t testing.TB, n *NSQD, path string, body []byte) (int, []byte) {
	t.Helper()
	status, data, _ := httpDo(t, http.MethodPost, httpURL(n, path), bytes.NewReader(body))
	return status, data
}

// declaredBound is the most N requests that each declare a large body and
// send one byte may make the daemon allocate: two body chunks each, plus a
// fixed 4 MiB for connections and responses.
func declaredBound(requests int) uint64 { return uint64(requests)*2*bodyChunk + 4<<20 }

// TestDeclaredSizeIsNotAllocated sends N requests that each declare a big
// body (HTTP Content-Length, TCP size fields), send one byte and half-close.
// Everything the daemon allocates meanwhile is bounded by what arrived
// (before the fix: the declared size per request).
func TestDeclaredSizeIsNotAllocated(t *testing.T) {
	const requests = 32
	n := startDaemon(t, nil)
	maxMsg, maxBody := int(n.opts.MaxMsgSize), int(n.opts.MaxBodySize)
	httpRequest := func(path string, declared int) []byte {
		return []byte(fmt.Sprintf("POST %s HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\nx", path, declared))
	}
	tcpCommand := func(line string, sizes ...int) []byte {
		cmd := []byte(line + "\n")
		for _, size := range sizes {
			cmd = binary.BigEndian.AppendUint32(cmd, uint32(size))
		}
		return append(cmd, 'x')
	}
	cases := []struct {
		name    string
		addr    string
		request []byte
	}{
		{"http pub", n.RealHTTPAddr().String(), httpRequest("/pub?topic=declared", maxMsg)},
		{"http mpub", n.RealHTTPAddr().String(), httpRequest("/mpub?topic=declared", maxBody)},
		{"http mpub binary", n.RealHTTPAddr().String(), httpRequest("/mpub?topic=declared&binary=true", maxBody)},
		{"tcp pub", n.RealTCPAddr().String(), append([]byte("  V2"), tcpCommand("PUB declared", maxMsg)...)},
		{"tcp dpub", n.RealTCPAddr().String(), append([]byte("  V2"), tcpCommand("DPUB declared 10", maxMsg)...)},
		// MPUB: the body size, a count of 1, one message of max-msg-size.
		{"tcp mpub", n.RealTCPAddr().String(), append([]byte("  V2"), tcpCommand("MPUB declared", maxBody, 1, maxMsg)...)},
		{"tcp mpub small message", n.RealTCPAddr().String(), append([]byte("  V2"), tcpCommand("MPUB declared", maxBody, 2, 100)...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := totalAllocated()
			for i := 0; i < requests; i++ {
				conn, err := net.DialTimeout("tcp", tc.addr, 5*time.Second)
				require.NoError(t, err)
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				_, err = conn.Write(tc.request)
				require.NoError(t, err)
				require.NoError(t, conn.(*net.TCPConn).CloseWrite())
				// The daemon answers (an error) and closes once it has
				// read the end of the stream, so the read has happened.
				_, err = io.Copy(io.Discard, conn)
				require.NoError(t, err)
				conn.Close()
			}
			allocated := totalAllocated() - before
			t.Logf("%d requests, each declaring up to %d bytes and sending 1: %d bytes allocated", requests, maxBody, allocated)
			require.Less(t, allocated, declaredBound(requests))
		})
	}
}

// TestMPUBTextNewlineFloodIsLinear posts /mpub bodies of 1 MiB that are
// empty lines but for one message: what the daemon allocates is a small
// multiple of the bytes received (before the fix: 72 bytes per newline,
// 40x the body).
func TestMPUBTextNewlineFloodIsLinear(t *testing.T) {
	const requests = 4
	n := startDaemon(t, nil)
	// A million empty lines a body, a fifth of max-body-size: the bound
	// below grows with the body, so a cost per line fails it as surely,
	// and under -race on a loaded machine scanning 5 MiB bodies outlasted
	// the HTTP client's 10 s.
	const flood = 1 << 20
	require.Less(t, int64(flood), n.opts.MaxBodySize)
	body := append(bytes.Repeat([]byte("\n"), flood-2), 'x', '\n')
	before := totalAllocated()
	for i := 0; i < requests; i++ {
		status, data := httpPostBytes(t, n, "/mpub?topic=flood", body)
		requireOK(t, "OK", status, data)
	}
	allocated := totalAllocated() - before
	// Reading grows the buffer by doubling (at most 3x the body in all),
	// the client side of the test holds its own copy: 5x plus 4 MiB.
	bound := uint64(requests*len(body))*5 + 4<<20
	t.Logf("%d newline floods of %d bytes: %d bytes allocated (bound %d)", requests, len(body), allocated, bound)
	require.Less(t, allocated, bound)
	topic, err := n.GetExistingTopic("flood")
	require.NoError(t, err)
	require.EqualValues(t, requests, topic.Depth())
}

// TestTouchCostsNoLastingMemory TOUCHes one held message many times: the
// deadline bookkeeping stays bounded by the messages held and the heap does
// not grow with the TOUCH count (before the fix: an entry per TOUCH until
// the message's timeout, about 24-70 bytes each: 2.4-7 MB for these
// 100,000 against a 1 MiB bound, and 100 times the 1027 deadline entries
// allowed).
func TestTouchCostsNoLastingMemory(t *testing.T) {
	const touches = 100_000
	n := startDaemon(t, nil)
	publish(t, n, "touch", "held")
	consumer := dialV2(t, n)
	consumer.subscribe("touch", "c")
	consumer.send("RDY 1")
	msg := consumer.readMessage()

	before := heapAfterGC()
	line := "TOUCH " + string(msg.ID[:]) + "\n"
	burst := []byte(strings.Repeat(line, 10_000))
	w := bufio.NewWriterSize(consumer.conn, 1<<20)
	consumer.conn.SetWriteDeadline(time.Now().Add(time.Minute))
	for sent := 0; sent < touches; sent += 10_000 {
		_, err := w.Write(burst)
		require.NoError(t, err)
	}
	// A FIN of an unknown ID answers an error once every TOUCH before it
	// has been processed.
	_, err := w.WriteString("FIN 0000000000000000\n")
	require.NoError(t, err)
	require.NoError(t, w.Flush())
	frameType, data, err := consumer.readFrameErr(time.Minute)
	require.NoError(t, err)
	require.EqualValues(t, 1, frameType, "%q", data)
	require.Contains(t, string(data), "E_FIN_FAILED")
	after := heapAfterGC()

	var client *client
	for _, c := range existingChannel(t, n, "touch", "c").clientListLocked() {
		client = c
	}
	require.NotNil(t, client)
	client.inFlight.mu.Lock()
	queued := client.inFlight.deadlines.Len() + len(client.inFlight.capped)
	client.inFlight.mu.Unlock()
	require.LessOrEqual(t, queued, 2*1+1024+1, "deadline entries for one held message")

	grown := after - min(before, after)
	t.Logf("%d TOUCHes of one message: heap grew %d bytes, %d deadline entries", touches, grown, queued)
	require.Less(t, grown, uint64(1<<20), "TOUCHes left memory behind")
}
