package nsqd

import (
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A silent or slow peer holds a descriptor and a goroutine only for a
// bounded time (README, "Slow peers"). The TCP listener's bound on the
// magic is on the daemon's clock (timeouts.go), which the test advances;
// the HTTP server's are net/http's socket deadlines on the wall clock, so
// --client-timeout is made short for it instead.

// awaitServerClose reads until the daemon closes conn, and fails if it
// has not within within.
func awaitServerClose(t *testing.T, conn net.Conn, within time.Duration) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, conn)
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		t.Fatalf("the daemon kept the connection open for %s", within)
	}
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		require.NoError(t, err)
	}
}

func dialAddr(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestSilentTCPPeerIsClosedAfterClientTimeout(t *testing.T) {
	n, clk := startClockedDaemon(t, func(o *Options) { o.ClientTimeout = idleClientTimeout })
	armed := clk.Pending()
	silent := dialAddr(t, n.RealTCPAddr().String())
	half := dialAddr(t, n.RealTCPAddr().String())
	_, err := half.Write([]byte("  V"))
	require.NoError(t, err)
	// Each connection's bound on the magic is a timer, armed at accept.
	waitFor(t, "both connections' bounds on the magic", func() bool { return clk.Pending() == armed+2 })
	clk.Advance(idleClientTimeout)
	awaitServerClose(t, silent, 10*time.Second)
	awaitServerClose(t, half, 10*time.Second)
	// A client that sends the magic in time is served as before.
	dialV2(t, n).pub("t", "served")
}

func TestSlowHTTPPeersAreClosed(t *testing.T) {
	// 40 ms: a peer is closed after a header or body read of 40 ms, or 80 ms
	// idle, so the test waits on no real timeout longer than 100 ms.
	n := startDaemon(t, func(o *Options) { o.ClientTimeout = 40 * time.Millisecond })
	addr := n.RealHTTPAddr().String()

	halfHeaders := dialAddr(t, addr)
	_, err := halfHeaders.Write([]byte("POST /pub?topic=t HTTP/1.1\r\nHost: x\r\n"))
	require.NoError(t, err)

	halfBody := dialAddr(t, addr)
	_, err = halfBody.Write([]byte("POST /pub?topic=t HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf"))
	require.NoError(t, err)

	idle := dialAddr(t, addr)
	_, err = idle.Write([]byte("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"))
	require.NoError(t, err)

	awaitServerClose(t, halfHeaders, 10*time.Second)
	awaitServerClose(t, halfBody, 10*time.Second)
	awaitServerClose(t, idle, 10*time.Second) // answers OK, then closes when idle

	// A peer that is not slow is still served. Its request, too, has 40 ms
	// from the accept to arrive: a machine loaded enough to hold the test
	// back for longer gets that connection closed like the slow ones (an
	// EOF: 1 of 100 -race runs beside two busy loops), and the daemon is
	// asked again on a new one.
	for attempt := 0; ; attempt++ {
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addr + "/ping")
		if err == nil {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			requireOK(t, "OK", resp.StatusCode, body)
			break
		}
		require.True(t, errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET), "/ping: %v", err)
		require.Less(t, attempt, 5, "every /ping closed unanswered (%v)", err)
		t.Logf("attempt %d: /ping closed unanswered (%v)", attempt, err)
	}
}
