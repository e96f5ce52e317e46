package nsqlookupd

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/textwatch"
)

// testTimeout bounds every wait in these tests.
const testTimeout = 5 * time.Second

// testLog sends the daemon's log to the test's log, shown only on failure.
type testLog struct{ t testing.TB }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startLookupd runs a daemon on 127.0.0.1 port 0 until the test ends.
func startLookupd(t testing.TB, mutate func(*Options)) *NSQLookupd {
	t.Helper()
	l, _ := startWatchedLookupd(t, mutate)
	return l
}

// startWatchedLookupd is startLookupd that also returns the daemon's log,
// for a test to await what the daemon does in its own goroutines.
func startWatchedLookupd(t testing.TB, mutate func(*Options)) (*NSQLookupd, *logWatch) {
	t.Helper()
	logs := &logWatch{t: t, Text: textwatch.Echo(t)}
	opts := NewOptions()
	opts.TCPAddress = "127.0.0.1:0"
	opts.HTTPAddress = "127.0.0.1:0"
	opts.BroadcastAddress = "127.0.0.1"
	opts.Logger = logs
	opts.LogLevel = logging.Debug
	if mutate != nil {
		mutate(opts)
	}
	l, err := New(opts)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- l.Main() }()
	t.Cleanup(func() {
		l.Exit()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(testTimeout):
			t.Error("Main did not return after Exit")
		}
	})
	return l, logs
}

// logWatch passes the daemon's log to the test's log and keeps it, so a
// test can await a line the daemon logs after a change of its state.
type logWatch struct {
	t testing.TB
	*textwatch.Text
}

// awaitLines waits until the log holds a line containing each of parts.
func (w *logWatch) awaitLines(what string, parts ...string) {
	w.t.Helper()
	missing := func(text string) string {
		for _, part := range parts {
			if !strings.Contains(text, part) {
				return part
			}
		}
		return ""
	}
	text, ok := w.Await(testTimeout, func(s string) bool { return missing(s) == "" })
	if !ok {
		w.t.Fatalf("timed out waiting for %s: no log line with %q", what, missing(text))
	}
}

// closedLine is what the daemon logs once it has removed the registrations
// of the connection whose remote end is c.
func closedLine(c *v1Client) string {
	return "CLIENT(" + c.conn.LocalAddr().String() + "): closed, removed"
}

// startClockedLookupd runs a daemon whose registry reads a fake clock
// (internal/clock) that starts at the wall clock's now and moves only when
// the test advances it, so a test of the inactivity or tombstone window
// moves time past the boundary instead of waiting for it.
func startClockedLookupd(t testing.TB, mutate func(*Options)) (*NSQLookupd, *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(time.Now())
	l := startLookupd(t, func(o *Options) {
		o.Clock = fake
		if mutate != nil {
			mutate(o)
		}
	})
	return l, fake
}

// v1Client is a raw V1 registrant. Each send and read has its own
// deadline, testTimeout away, not the connection's whole life: a test
// keeps a registrant open across many HTTP requests and fake-clock steps,
// which under -race on a loaded machine can together take longer than
// one bound.
type v1Client struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func dialV1(t testing.TB, l *NSQLookupd) *v1Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", l.RealTCPAddr().String(), testTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(testTimeout)))
	_, err = conn.Write([]byte("  V1"))
	require.NoError(t, err)
	return &v1Client{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// renewDeadline bounds the next exchange on the connection.
func (c *v1Client) renewDeadline() {
	c.t.Helper()
	require.NoError(c.t, c.conn.SetDeadline(time.Now().Add(testTimeout)))
}

func (c *v1Client) send(raw string) {
	c.t.Helper()
	c.renewDeadline()
	_, err := c.conn.Write([]byte(raw))
	require.NoError(c.t, err)
}

func (c *v1Client) read() string {
	c.t.Helper()
	c.renewDeadline()
	resp, err := readV1Response(c.r)
	require.NoError(c.t, err)
	return resp
}

// cmd sends one command line and returns the reply.
func (c *v1Client) cmd(line string) string {
	c.t.Helper()
	c.send(line + "\n")
	return c.read()
}

// expectClosed asserts the server closed the connection: EOF, or a reset
// when the server closed with our bytes still unread.
func (c *v1Client) expectClosed() {
	c.t.Helper()
	c.renewDeadline()
	_, err := c.r.ReadByte()
	if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		c.t.Fatalf("want the connection closed, got %v", err)
	}
}

func identifyCommand(body string) string {
	var size [4]byte
	binary.BigEndian.PutUint32(size[:], uint32(len(body)))
	return "IDENTIFY\n" + string(size[:]) + body
}

func nsqdIdentity(host string, tcpPort, httpPort int) string {
	return fmt.Sprintf(`{"broadcast_address":%q,"hostname":"host-%s","http_port":%d,"tcp_port":%d,"version":"1.3.0"}`,
		host, host, httpPort, tcpPort)
}

// identify registers the client as an nsqd with the given ports.
func (c *v1Client) identify(host string, tcpPort, httpPort int) map[string]any {
	c.t.Helper()
	c.send(identifyCommand(nsqdIdentity(host, tcpPort, httpPort)))
	var reply map[string]any
	require.NoError(c.t, json.Unmarshal([]byte(c.read()), &reply))
	return reply
}

func readV1Response(r io.Reader) (string, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return "", err
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(r, body); err != nil {
		return "", err
	}
	return string(body), nil
}

type httpResult struct {
	status int
	header http.Header
	body   string
}

func httpDo(t testing.TB, method, url string) httpResult {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	client := &http.Client{
		Timeout: testTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return httpResult{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (l *NSQLookupd) url(pathAndQuery string) string {
	return "http://" + l.RealHTTPAddr().String() + pathAndQuery
}

func httpGet(t testing.TB, l *NSQLookupd, pathAndQuery string) httpResult {
	t.Helper()
	return httpDo(t, http.MethodGet, l.url(pathAndQuery))
}

func httpPost(t testing.TB, l *NSQLookupd, pathAndQuery string) httpResult {
	t.Helper()
	return httpDo(t, http.MethodPost, l.url(pathAndQuery))
}

// lookupProducers returns the broadcast_address:tcp_port of every producer
// /lookup lists for topic, or nil on a non-200 answer.
func lookupProducers(t testing.TB, l *NSQLookupd, topic string) []string {
	t.Helper()
	res := httpGet(t, l, "/lookup?topic="+topic)
	if res.status != http.StatusOK {
		return nil
	}
	var body struct {
		Producers []PeerInfo `json:"producers"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.body), &body))
	out := []string{}
	for _, p := range body.Producers {
		out = append(out, fmt.Sprintf("%s:%d", p.BroadcastAddress, p.TCPPort))
	}
	return out
}

// debugEntry is the part of a GET /debug entry the tests read.
type debugEntry struct {
	BroadcastAddress string `json:"broadcast_address"`
	LastUpdate       int64  `json:"last_update"`
	TombstonedAt     int64  `json:"tombstoned_at"`
}

func debugDump(t testing.TB, l *NSQLookupd) map[string][]debugEntry {
	t.Helper()
	res := httpGet(t, l, "/debug")
	require.Equal(t, http.StatusOK, res.status)
	var dump map[string][]debugEntry
	require.NoError(t, json.Unmarshal([]byte(res.body), &dump))
	return dump
}

// debugLastUpdates returns the last_update of host's client entries.
func debugLastUpdates(t testing.TB, l *NSQLookupd, host string) []int64 {
	t.Helper()
	var out []int64
	for _, e := range debugDump(t, l)["client::"] {
		if e.BroadcastAddress == host {
			out = append(out, e.LastUpdate)
		}
	}
	return out
}

// debugTombstonedAt returns the tombstoned_at of host's entries under key.
func debugTombstonedAt(t testing.TB, l *NSQLookupd, key, host string) []int64 {
	t.Helper()
	var out []int64
	for _, e := range debugDump(t, l)[key] {
		if e.BroadcastAddress == host {
			out = append(out, e.TombstonedAt)
		}
	}
	return out
}

// topicNames returns GET /topics.
func topicNames(t testing.TB, l *NSQLookupd) []string {
	t.Helper()
	var body struct {
		Topics []string `json:"topics"`
	}
	require.NoError(t, json.Unmarshal([]byte(httpGet(t, l, "/topics").body), &body))
	return body.Topics
}
