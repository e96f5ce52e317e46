package nsqd

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nsqgo/nsq/nsqlookupd"
	"github.com/stretchr/testify/require"
)

// clusterTimeout bounds every single wait in the cluster tests.
const clusterTimeout = 10 * time.Second

// testLookupd is an in-process nsqlookupd with what a test needs to stop it
// early (to take it down, or to restart it) as well as at the end.
type testLookupd struct {
	*nsqlookupd.NSQLookupd
	t        testing.TB
	done     chan error
	stopOnce sync.Once
}

// startClusterLookupd runs an nsqlookupd on the given addresses (port 0 for
// a new one, the old ones to restart it) and stops it when the test ends.
// Its broadcast address is 127.0.0.1 because nsqd queries the lookupd HTTP
// address built from it (channel pre-creation), and the OS hostname need not
// resolve to loopback.
func startClusterLookupd(t testing.TB, tcpAddr, httpAddr string, configure func(*nsqlookupd.Options)) *testLookupd {
	t.Helper()
	opts := nsqlookupd.NewOptions()
	opts.TCPAddress = tcpAddr
	opts.HTTPAddress = httpAddr
	opts.BroadcastAddress = "127.0.0.1"
	opts.Logger = testLogWriter{t}
	if configure != nil {
		configure(opts)
	}
	l, err := nsqlookupd.New(opts)
	require.NoError(t, err)
	tl := &testLookupd{NSQLookupd: l, t: t, done: make(chan error, 1)}
	go func() { tl.done <- l.Main() }()
	t.Cleanup(tl.stop)
	return tl
}

// stop exits the lookupd and waits for Main; safe to call more than once.
func (l *testLookupd) stop() {
	l.stopOnce.Do(func() {
		l.Exit()
		select {
		case err := <-l.done:
			require.NoError(l.t, err)
		case <-time.After(clusterTimeout):
			l.t.Error("nsqlookupd did not stop in time")
		}
	})
}

// restart stops the lookupd and starts a new, empty one on the same TCP and
// HTTP addresses, as an operator restarting the daemon would.
func (l *testLookupd) restart(configure func(*nsqlookupd.Options)) *testLookupd {
	l.t.Helper()
	tcpAddr, httpAddr := l.RealTCPAddr().String(), l.RealHTTPAddr().String()
	l.stop()
	return startClusterLookupd(l.t, tcpAddr, httpAddr, configure)
}

func (l *testLookupd) url(pathAndQuery string) string {
	return "http://" + l.RealHTTPAddr().String() + pathAndQuery
}

// cluster is a set of lookupds and of nsqds registered with every one.
type cluster struct {
	lookupds []*testLookupd
	nsqds    []*NSQD
}

// startCluster starts numLookupd lookupds and then numNSQD nsqds pointed at
// all of them; everything stops when the test ends (nsqds first).
func startCluster(t testing.TB, numLookupd, numNSQD int, configureLookupd func(*nsqlookupd.Options)) *cluster {
	t.Helper()
	c := &cluster{}
	for range numLookupd {
		c.lookupds = append(c.lookupds, startClusterLookupd(t, "127.0.0.1:0", "127.0.0.1:0", configureLookupd))
	}
	addrs := c.lookupdTCPAddrs()
	for range numNSQD {
		c.nsqds = append(c.nsqds, startDaemon(t, func(o *Options) {
			o.NSQLookupdTCPAddresses = slices.Clone(addrs)
		}))
	}
	return c
}

func (c *cluster) lookupdTCPAddrs() []string {
	addrs := make([]string, len(c.lookupds))
	for i, l := range c.lookupds {
		addrs[i] = l.RealTCPAddr().String()
	}
	return addrs
}

func (c *cluster) lookupdHTTPAddrs() []string {
	addrs := make([]string, len(c.lookupds))
	for i, l := range c.lookupds {
		addrs[i] = l.RealHTTPAddr().String()
	}
	return addrs
}

// lookupProducer is a producer as /lookup reports it, decoded with the
// wire's field names so that a misnamed field shows up as a zero value.
type lookupProducer struct {
	RemoteAddress    string `json:"remote_address"`
	Hostname         string `json:"hostname"`
	BroadcastAddress string `json:"broadcast_address"`
	TCPPort          int    `json:"tcp_port"`
	HTTPPort         int    `json:"http_port"`
	Version          string `json:"version"`
}

type lookupResponse struct {
	Channels  []string         `json:"channels"`
	Producers []lookupProducer `json:"producers"`
}

// nodeInfo is a producer as /nodes reports it.
type nodeInfo struct {
	lookupProducer
	Tombstones []bool   `json:"tombstones"`
	Topics     []string `json:"topics"`
}

// lookupdGetJSON fetches a lookupd URL and decodes a 200 answer into v; it
// returns the status so callers can tell "not yet registered" (404) apart.
func lookupdGetJSON(t testing.TB, l *testLookupd, pathAndQuery string, v any) int {
	t.Helper()
	status, body, _ := httpDo(t, http.MethodGet, l.url(pathAndQuery), nil)
	if status == http.StatusOK {
		require.NoError(t, json.Unmarshal(body, v), "body %s", body)
	}
	return status
}

// lookupTopic is GET /lookup?topic=; found is false on 404 TOPIC_NOT_FOUND.
func lookupTopic(t testing.TB, l *testLookupd, topic string) (resp lookupResponse, found bool) {
	t.Helper()
	status := lookupdGetJSON(t, l, "/lookup?topic="+url.QueryEscape(topic), &resp)
	require.Contains(t, []int{http.StatusOK, http.StatusNotFound}, status)
	return resp, status == http.StatusOK
}

func lookupdTopics(t testing.TB, l *testLookupd) []string {
	t.Helper()
	var resp struct {
		Topics []string `json:"topics"`
	}
	require.Equal(t, http.StatusOK, lookupdGetJSON(t, l, "/topics", &resp))
	return sortedStrings(resp.Topics)
}

func lookupdChannels(t testing.TB, l *testLookupd, topic string) []string {
	t.Helper()
	var resp struct {
		Channels []string `json:"channels"`
	}
	require.Equal(t, http.StatusOK, lookupdGetJSON(t, l, "/channels?topic="+url.QueryEscape(topic), &resp))
	return sortedStrings(resp.Channels)
}

func lookupdNodes(t testing.TB, l *testLookupd) []nodeInfo {
	t.Helper()
	var resp struct {
		Producers []nodeInfo `json:"producers"`
	}
	require.Equal(t, http.StatusOK, lookupdGetJSON(t, l, "/nodes", &resp))
	return resp.Producers
}

// lookupdDebugPorts lists, sorted by TCP port, the producers that /debug on
// l shows on one registration key, e.g. "channel:t:c": the only answer that
// tells which nsqds hold a channel, since /channels and /lookup list the
// channel keys, which outlive their producers.
func lookupdDebugPorts(t testing.TB, l *testLookupd, key string) []int {
	t.Helper()
	var dump map[string][]struct {
		TCPPort int `json:"tcp_port"`
	}
	require.Equal(t, http.StatusOK, lookupdGetJSON(t, l, "/debug", &dump))
	ports := make([]int, 0, len(dump[key]))
	for _, p := range dump[key] {
		ports = append(ports, p.TCPPort)
	}
	slices.Sort(ports)
	return ports
}

// awaitChannelProducers waits until every lookupd given shows exactly nodes
// (by TCP port) registered on channel topic/channel.
func awaitChannelProducers(t testing.TB, lookupds []*testLookupd, topic, channel string, nodes []*NSQD) {
	t.Helper()
	key := "channel:" + topic + ":" + channel
	for _, l := range lookupds {
		awaitState(t, key+" producers on "+l.RealHTTPAddr().String(), func() error {
			if got, want := lookupdDebugPorts(t, l, key), tcpPorts(nodes...); !slices.Equal(got, want) {
				return fmt.Errorf("/debug %s producers %v, want %v", key, got, want)
			}
			return nil
		})
	}
}

func sortedStrings(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// tcpPorts identifies nsqds by their TCP port, which is unique per daemon
// on loopback; the result is sorted.
func tcpPorts(nodes ...*NSQD) []int {
	ports := make([]int, 0, len(nodes))
	for _, n := range nodes {
		ports = append(ports, n.RealTCPAddr().Port)
	}
	slices.Sort(ports)
	return ports
}

func producerPorts(producers []lookupProducer) []int {
	ports := make([]int, 0, len(producers))
	for _, p := range producers {
		ports = append(ports, p.TCPPort)
	}
	slices.Sort(ports)
	return ports
}

func nodePorts(nodes []nodeInfo) []int {
	ports := make([]int, 0, len(nodes))
	for _, n := range nodes {
		ports = append(ports, n.TCPPort)
	}
	slices.Sort(ports)
	return ports
}

// tombstoneNodeName is how /topic/tombstone names an nsqd.
func tombstoneNodeName(n *NSQD) string {
	return net.JoinHostPort(n.opts.BroadcastAddress, strconv.Itoa(n.RealHTTPAddr().Port))
}

// awaitState polls check until it returns nil, through waitFor's bounded
// deadline: registration travels over lookupd connections asynchronously
// and offers the test no event. On timeout it logs the last mismatch.
func awaitState(t testing.TB, what string, check func() error) {
	t.Helper()
	var last error
	defer func() {
		if t.Failed() && last != nil {
			t.Logf("%s: last mismatch: %v", what, last)
		}
	}()
	waitFor(t, what, func() bool {
		last = check()
		return last == nil
	})
}

// lookupHas checks that /lookup?topic= on l lists exactly nodes (by TCP
// port) and exactly channels.
func lookupHas(t testing.TB, l *testLookupd, topic string, nodes []*NSQD, channels []string) error {
	resp, found := lookupTopic(t, l, topic)
	if !found {
		return fmt.Errorf("/lookup?topic=%s: 404", topic)
	}
	if got, want := producerPorts(resp.Producers), tcpPorts(nodes...); !slices.Equal(got, want) {
		return fmt.Errorf("/lookup?topic=%s producers %v, want %v", topic, got, want)
	}
	if got, want := sortedStrings(resp.Channels), sortedStrings(channels); !slices.Equal(got, want) {
		return fmt.Errorf("/lookup?topic=%s channels %v, want %v", topic, got, want)
	}
	return nil
}

// awaitLookup waits until every lookupd given lists exactly nodes and
// channels for topic.
func awaitLookup(t testing.TB, lookupds []*testLookupd, topic string, nodes []*NSQD, channels []string) {
	t.Helper()
	for _, l := range lookupds {
		awaitState(t, "/lookup?topic="+topic+" on "+l.RealHTTPAddr().String(), func() error {
			return lookupHas(t, l, topic, nodes, channels)
		})
	}
}

// fakeProducer is a raw V1 registrant: it does only what the test tells it,
// so it can stop PINGing, which a real nsqd (15 s fixed ticker) cannot be
// made to do from a test.
type fakeProducer struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

// dialFakeProducer connects to l and IDENTIFYs with the given ports.
func dialFakeProducer(t testing.TB, l *testLookupd, tcpPort, httpPort int) *fakeProducer {
	t.Helper()
	conn, err := net.DialTimeout("tcp", l.RealTCPAddr().String(), clusterTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	p := &fakeProducer{t: t, conn: conn, r: bufio.NewReader(conn)}
	body, err := json.Marshal(map[string]any{
		"broadcast_address": "127.0.0.1",
		"hostname":          "fake",
		"tcp_port":          tcpPort,
		"http_port":         httpPort,
		"version":           "1.3.0",
	})
	require.NoError(t, err)
	buf := append([]byte("  V1IDENTIFY\n"), binary.BigEndian.AppendUint32(nil, uint32(len(body)))...)
	reply := p.roundTrip(append(buf, body...))
	require.Contains(t, reply, `"tcp_port"`, "IDENTIFY reply")
	return p
}

// command sends one command line and requires the reply OK.
func (p *fakeProducer) command(line string) {
	p.t.Helper()
	require.Equal(p.t, "OK", p.roundTrip([]byte(line+"\n")), "reply to %s", line)
}

// roundTrip writes raw bytes and reads one size-prefixed V1 reply.
func (p *fakeProducer) roundTrip(raw []byte) string {
	p.t.Helper()
	require.NoError(p.t, p.conn.SetDeadline(time.Now().Add(clusterTimeout)))
	_, err := p.conn.Write(raw)
	require.NoError(p.t, err)
	var size [4]byte
	_, err = io.ReadFull(p.r, size[:])
	require.NoError(p.t, err)
	data := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err = io.ReadFull(p.r, data)
	require.NoError(p.t, err)
	return string(data)
}

// guardedLogger is a go-nsq logger that writes to the test log until the
// test ends and drops lines after, since go-nsq goroutines may still log
// while the consumer shuts down and t.Log panics once the test is over.
type guardedLogger struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func newGuardedLogger(t testing.TB) *guardedLogger {
	g := &guardedLogger{t: t}
	t.Cleanup(func() {
		g.mu.Lock()
		g.done = true
		g.mu.Unlock()
	})
	return g
}

// Output implements go-nsq's logger interface.
func (g *guardedLogger) Output(_ int, s string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.done {
		g.t.Log(s)
	}
	return nil
}
