package nsqd

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// Unix domain sockets: an address that is not host:port is a socket path,
// as upstream decides for --tcp-address and --http-address.

// socketPath is a socket path in the test's temp dir, or in a shorter one
// when that would not fit sun_path (108 bytes on Linux).
func socketPath(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	if len(dir)+len(name) > 100 {
		var err error
		dir, err = os.MkdirTemp("", "nsqd")
		require.NoError(t, err)
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	return filepath.Join(dir, name)
}

// dialUnixV2 connects to a unix socket and sends the magic.
func dialUnixV2(t *testing.T, path string) *testConn {
	t.Helper()
	conn, err := net.DialTimeout("unix", path, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = conn.Write([]byte(protocol.MagicV2))
	require.NoError(t, err)
	return &testConn{t: t, conn: conn, reader: bufio.NewReader(conn)}
}

// unixHTTPClient sends every request to the socket at path.
func unixHTTPClient(path string) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}},
	}
}

func unixGet(t *testing.T, path, url string) (int, []byte) {
	t.Helper()
	resp, err := unixHTTPClient(path).Get("http://nsqd" + url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}

func TestListenAddrChoosesUnixForAnythingButHostPort(t *testing.T) {
	sock := socketPath(t, "relative.sock")
	for addr, network := range map[string]string{
		"127.0.0.1:0": "tcp", "[::1]:0": "tcp", sock: "unix",
	} {
		l, err := listenAddr(addr)
		if err != nil && strings.Contains(addr, "::1") {
			continue // no IPv6 loopback here
		}
		require.NoError(t, err, addr)
		require.Equal(t, network, l.Addr().Network(), addr)
		l.Close()
	}
}

func TestUnixSocketTCPListenerServesTheProtocol(t *testing.T) {
	sock := socketPath(t, "nsqd.sock")
	n := startDaemon(t, func(o *Options) { o.TCPAddress = sock })
	require.Nil(t, n.RealTCPAddr(), "no TCP address on a unix socket")
	consumer := dialUnixV2(t, sock)
	consumer.subscribe("t", "c")
	consumer.send("RDY 1")
	producer := dialUnixV2(t, sock)
	producer.pub("t", "over a unix socket")
	require.Equal(t, "over a unix socket", string(consumer.readMessage().Body))
}

func TestUnixSocketCarriesSnappy(t *testing.T) {
	sock := socketPath(t, "nsqd.sock")
	startDaemon(t, func(o *Options) { o.TCPAddress = sock })
	c := dialUnixV2(t, sock)
	c.identifySnappy(map[string]any{})
	c.pub("t", "compressed over a unix socket")
}

func TestUnixSocketHTTPListenerServesTheAPI(t *testing.T) {
	sock := socketPath(t, "http.sock")
	n := startDaemon(t, func(o *Options) { o.HTTPAddress = sock })
	resp, err := unixHTTPClient(sock).Post("http://nsqd/pub?topic=t", "text/plain", strings.NewReader("via http"))
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	requireOK(t, "OK", resp.StatusCode, body)
	require.EqualValues(t, 1, n.GetStats("t", "", false).Topics[0].MessageCount)
}

func TestUnixSocketPortsAreMinusOneInInfo(t *testing.T) {
	tcpSock, httpSock := socketPath(t, "tcp.sock"), socketPath(t, "http.sock")
	startDaemon(t, func(o *Options) { o.TCPAddress, o.HTTPAddress = tcpSock, httpSock })
	status, body := unixGet(t, httpSock, "/info")
	require.Equal(t, http.StatusOK, status, string(body))
	var info struct {
		TCPPort  int `json:"tcp_port"`
		HTTPPort int `json:"http_port"`
	}
	require.NoError(t, json.Unmarshal(body, &info))
	require.Equal(t, -1, info.TCPPort)
	require.Equal(t, -1, info.HTTPPort)
}

func TestUnixSocketFilesAreRemovedAtExit(t *testing.T) {
	tcpSock, httpSock := socketPath(t, "tcp.sock"), socketPath(t, "http.sock")
	opts := NewOptions()
	opts.TCPAddress, opts.HTTPAddress = tcpSock, httpSock
	opts.DataPath = t.TempDir()
	opts.Logger = testLogWriter{t}
	n, err := New(opts)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- n.Main() }()
	dialUnixV2(t, tcpSock).pub("t", "x")
	n.Exit()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Main did not return after Exit")
	}
	for _, path := range []string{tcpSock, httpSock} {
		_, err := os.Stat(path)
		require.ErrorIs(t, err, os.ErrNotExist, path)
	}
}

// New can fail after binding; the sockets it bound must not stay behind.
func TestUnixSocketFilesAreRemovedWhenNewFails(t *testing.T) {
	tcpSock := socketPath(t, "tcp.sock")
	busy := startDaemon(t, nil)
	opts := NewOptions()
	opts.TCPAddress, opts.HTTPAddress = tcpSock, busy.RealHTTPAddr().String()
	opts.DataPath = t.TempDir()
	opts.Logger = testLogWriter{t}
	_, err := New(opts)
	require.ErrorContains(t, err, "listen ("+busy.RealHTTPAddr().String()+") failed - ")
	_, err = os.Stat(tcpSock)
	require.ErrorIs(t, err, os.ErrNotExist)
}

// A path already taken (a stale socket from a killed daemon, or any file)
// is a listen failure, as upstream.
func TestUnixSocketPathInUseFailsNew(t *testing.T) {
	sock := socketPath(t, "taken.sock")
	require.NoError(t, os.WriteFile(sock, nil, 0o600))
	opts := NewOptions()
	opts.TCPAddress, opts.HTTPAddress = sock, "127.0.0.1:0"
	opts.DataPath = t.TempDir()
	opts.Logger = testLogWriter{t}
	_, err := New(opts)
	require.ErrorContains(t, err, "listen ("+sock+") failed - ")
	require.ErrorContains(t, err, "address already in use")
}
