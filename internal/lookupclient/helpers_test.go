package lookupclient

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/nsqlookupd"
)

const testTimeout = 10 * time.Second

type testLog struct{ t testing.TB }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startLookupd runs a real nsqlookupd on tcpAddr ("127.0.0.1:0" for any
// port) until it is stopped or the test ends; stop is idempotent.
func startLookupd(t testing.TB, tcpAddr string) (l *nsqlookupd.NSQLookupd, stop func()) {
	t.Helper()
	opts := nsqlookupd.NewOptions()
	opts.TCPAddress = tcpAddr
	opts.HTTPAddress = "127.0.0.1:0"
	opts.BroadcastAddress = "127.0.0.1"
	opts.Logger = testLog{t}
	opts.LogLevel = logging.Warn
	var err error
	deadline := time.Now().Add(testTimeout)
	for {
		// Rebinding a port just released can fail briefly on some systems.
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
	stop = func() {
		once.Do(func() {
			l.Exit()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return l, stop
}

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
	c := New(opts)
	t.Cleanup(c.Close)
	return c
}

func getJSON(t testing.TB, l *nsqlookupd.NSQLookupd, pathAndQuery string, v any) int {
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

func postOK(t testing.TB, l *nsqlookupd.NSQLookupd, pathAndQuery string) {
	t.Helper()
	client := &http.Client{Timeout: testTimeout}
	resp, err := client.Post("http://"+l.RealHTTPAddr().String()+pathAndQuery, "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// lookup returns "broadcast_address:tcp_port" of the topic's producers and
// its channels; nil, nil when the topic is unknown.
func lookup(t testing.TB, l *nsqlookupd.NSQLookupd, topic string) (producers, channels []string) {
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
func nodeTopics(t testing.TB, l *nsqlookupd.NSQLookupd) map[string][]string {
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

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
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
		f.mu.Lock()
		f.conns = append(f.conns, conn)
		f.mu.Unlock()
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
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

// expectQuiet asserts nothing but PINGs arrives for a short while.
func (f *fakeLookupd) expectQuiet(d time.Duration) {
	f.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case line := <-f.lines:
			if line != "PING" {
				f.t.Fatalf("unexpected %q", line)
			}
		case <-timeout:
			return
		}
	}
}
