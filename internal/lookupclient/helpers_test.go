package lookupclient

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/textwatch"
	"github.com/nsqgo/nsq/nsqlookupd"
)

const testTimeout = 10 * time.Second

// testLookupd is a real nsqlookupd whose log the test can await.
type testLookupd struct {
	*nsqlookupd.NSQLookupd
	log *logWatch
	// stop shuts the daemon down; it is idempotent.
	stop func()
}

// startLookupd runs a real nsqlookupd on tcpAddr ("127.0.0.1:0" for any
// port) until it is stopped or the test ends. It logs at INFO, which
// includes the registry changes a test awaits (registeredLine,
// droppedLine).
func startLookupd(t testing.TB, tcpAddr string) *testLookupd {
	t.Helper()
	watch := &logWatch{t: t, Text: textwatch.Echo(t)}
	opts := nsqlookupd.NewOptions()
	opts.TCPAddress = tcpAddr
	opts.HTTPAddress = "127.0.0.1:0"
	opts.BroadcastAddress = "127.0.0.1"
	opts.Logger = watch
	opts.LogLevel = logging.Info
	var l *nsqlookupd.NSQLookupd
	var err error
	deadline := time.Now().Add(testTimeout)
	for {
		// Rebinding a port just released can fail briefly on some systems;
		// this retries a failure, it does not wait for an event.
		l, err = nsqlookupd.New(opts)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- l.Main() }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			l.Exit()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return &testLookupd{NSQLookupd: l, log: watch, stop: stop}
}

// logWatch keeps a lookupd's log (and passes it to the test's log) so that
// a test can await what the lookupd did in its own goroutines: it logs a
// registry change after making it.
type logWatch struct {
	t testing.TB
	*textwatch.Text
}

// awaitCount waits until the log holds at least n occurrences of part.
func (w *logWatch) awaitCount(what, part string, n int) {
	w.t.Helper()
	text, ok := w.Await(testTimeout, func(s string) bool { return strings.Count(s, part) >= n })
	if !ok {
		w.t.Fatalf("timed out waiting for %s: %d of %d log lines with %q", what, strings.Count(text, part), n, part)
	}
}

// await waits until the log holds each of parts.
func (w *logWatch) await(what string, parts ...string) {
	w.t.Helper()
	for _, part := range parts {
		w.awaitCount(what, part, 1)
	}
}

// registeredLine is the end of what a lookupd logs once it has added the
// key for topic (channel ""), or for channel of topic.
func registeredLine(topic, channel string) string {
	if channel == "" {
		return ") REGISTER category:topic key:" + topic + " subkey:\n"
	}
	return ") REGISTER category:channel key:" + topic + " subkey:" + channel + "\n"
}

// unregisteredLine is what a lookupd logs once it has taken this node off
// topic (channel ""), or off channel of topic.
func unregisteredLine(topic, channel string) string {
	if channel == "" {
		return ") UNREGISTER category:topic key:" + topic + " subkey:\n"
	}
	return ") UNREGISTER category:channel key:" + topic + " subkey:" + channel + "\n"
}

// droppedLine is what a lookupd logs once it has removed the registrations
// of a closed connection.
const droppedLine = "): closed, removed "

func testIdentity(tcpPort int) Identity {
	return Identity{BroadcastAddress: "127.0.0.1", Hostname: "nsqd-host", Version: "1.3.0", TCPPort: tcpPort, HTTPPort: tcpPort + 1}
}

// newTestClient starts a client that is closed when the test ends (before
// any lookupd started earlier in the test is stopped).
func newTestClient(t testing.TB, opts Options) *Client {
	t.Helper()
	if opts.Identity == (Identity{}) {
		opts.Identity = testIdentity(4150)
	}
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	// The socket timeouts run on the wall clock, not the test's fake one.
	// On a loaded machine a lookupd that logs 300 registrations can take
	// longer than the 1 s default to answer, and the session ends; with a
	// fake clock the reconnect backoff then never elapses. No test here is
	// about those timeouts, so they are as long as a test may wait.
	if opts.DialTimeout == 0 {
		opts.DialTimeout = testTimeout
	}
	if opts.CommandTimeout == 0 {
		opts.CommandTimeout = testTimeout
	}
	c := New(opts)
	t.Cleanup(c.Close)
	return c
}

func getJSON(t testing.TB, l *testLookupd, pathAndQuery string, v any) int {
	t.Helper()
	client := &http.Client{Timeout: testTimeout}
	resp, err := client.Get("http://" + l.RealHTTPAddr().String() + pathAndQuery)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if resp.StatusCode == http.StatusOK && v != nil {
		require.NoError(t, json.Unmarshal(body, v), string(body))
	}
	return resp.StatusCode
}

func postOK(t testing.TB, l *testLookupd, pathAndQuery string) {
	t.Helper()
	client := &http.Client{Timeout: testTimeout}
	resp, err := client.Post("http://"+l.RealHTTPAddr().String()+pathAndQuery, "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// lookup returns "broadcast_address:tcp_port" of the topic's producers and
// its channels; nil, nil when the topic is unknown.
func lookup(t testing.TB, l *testLookupd, topic string) (producers, channels []string) {
	t.Helper()
	var body struct {
		Channels  []string              `json:"channels"`
		Producers []nsqlookupd.PeerInfo `json:"producers"`
	}
	if getJSON(t, l, "/lookup?topic="+strings.ReplaceAll(topic, "#", "%23"), &body) != http.StatusOK {
		return nil, nil
	}
	producers = []string{}
	for _, p := range body.Producers {
		producers = append(producers, fmt.Sprintf("%s:%d", p.BroadcastAddress, p.TCPPort))
	}
	return producers, body.Channels
}

// nodeTopics maps each node's "broadcast_address:tcp_port" to its topics.
func nodeTopics(t testing.TB, l *testLookupd) map[string][]string {
	t.Helper()
	var body struct {
		Producers []nsqlookupd.Node `json:"producers"`
	}
	require.Equal(t, http.StatusOK, getJSON(t, l, "/nodes", &body))
	out := map[string][]string{}
	for _, n := range body.Producers {
		out[fmt.Sprintf("%s:%d", n.BroadcastAddress, n.TCPPort)] = n.Topics
	}
	return out
}

// fakeLookupd speaks just enough V1 to record exactly what a client sends.
// reply decides the answer to each command line ("" means "OK").
type fakeLookupd struct {
	t     testing.TB
	ln    net.Listener
	lines chan string // "CONNECT", then each command; IDENTIFY with its body
	reply func(line string) string
	wg    sync.WaitGroup

	mu    sync.Mutex
	conns []net.Conn
	ended []chan struct{} // one per accepted connection, closed when served
}

func startFake(t testing.TB, reply func(line string) string) *fakeLookupd {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	if reply == nil {
		reply = func(string) string { return "" }
	}
	f := &fakeLookupd{t: t, ln: ln, lines: make(chan string, 10000), reply: reply}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(f.close)
	return f
}

func (f *fakeLookupd) addr() string { return f.ln.Addr().String() }

func (f *fakeLookupd) accept() {
	defer f.wg.Done()
	for {
		conn, err := f.ln.Accept()
		if err != nil {
			return
		}
		ended := make(chan struct{})
		f.mu.Lock()
		f.conns = append(f.conns, conn)
		f.ended = append(f.ended, ended)
		f.mu.Unlock()
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer close(ended)
			f.serve(conn)
		}()
	}
}

func (f *fakeLookupd) serve(conn net.Conn) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	magic := make([]byte, 4)
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != "  V1" {
		f.lines <- fmt.Sprintf("BAD MAGIC %q", magic)
		return
	}
	f.lines <- "CONNECT"
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "IDENTIFY" {
			var size [4]byte
			if _, err := io.ReadFull(r, size[:]); err != nil {
				return
			}
			body := make([]byte, binary.BigEndian.Uint32(size[:]))
			if _, err := io.ReadFull(r, body); err != nil {
				return
			}
			line += " " + string(body)
		}
		f.lines <- line
		answer := f.reply(line)
		if answer == "" {
			answer = "OK"
			if strings.HasPrefix(line, "IDENTIFY") {
				answer = `{"broadcast_address":"127.0.0.1","hostname":"fake","http_port":1,"tcp_port":2,"version":"1.3.0"}`
			}
		}
		out := binary.BigEndian.AppendUint32(nil, uint32(len(answer)))
		if _, err := conn.Write(append(out, answer...)); err != nil {
			return
		}
		if strings.HasPrefix(answer, "E_") {
			return
		}
	}
}

// dropConnections closes every connection, as a lookupd restart would.
func (f *fakeLookupd) dropConnections() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

func (f *fakeLookupd) close() {
	f.ln.Close()
	f.dropConnections()
	f.wg.Wait()
}

// expect reads the next recorded lines, skipping PINGs, and compares them.
func (f *fakeLookupd) expect(want ...string) {
	f.t.Helper()
	var got []string
	timeout := time.After(testTimeout)
	for len(got) < len(want) {
		select {
		case line := <-f.lines:
			if line != "PING" {
				got = append(got, line)
			}
		case <-timeout:
			f.t.Fatalf("timed out: got %q, want %q", got, want)
		}
	}
	require.Equal(f.t, want, got)
}

// expectNothingMoreOnceClosed waits until the client has closed every
// connection it made and the fake has read each to the end, then asserts
// that nothing but PINGs came after what the test already expected.
func (f *fakeLookupd) expectNothingMoreOnceClosed() {
	f.t.Helper()
	f.mu.Lock()
	ended := slices.Clone(f.ended)
	f.mu.Unlock()
	timeout := time.After(testTimeout)
	for _, e := range ended {
		select {
		case <-e:
		case <-timeout:
			f.t.Fatal("timed out waiting for the client to close its connections")
		}
	}
	for {
		select {
		case line := <-f.lines:
			if line != "PING" {
				f.t.Fatalf("unexpected %q", line)
			}
		default:
			return
		}
	}
}
