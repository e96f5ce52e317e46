package main

// A deliberately small V2 TCP client and HTTP helpers for the process tests.
// It is written from the protocol, not borrowed from package nsqd, so the
// tests talk to the binary exactly as an outside client would.

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	// ioTimeout bounds every single network exchange.
	ioTimeout = 10 * time.Second
	// drainTimeout bounds consuming a whole restored queue.
	drainTimeout = 60 * time.Second

	frameResponse = 0
	frameError    = 1
	frameMessage  = 2
)

type v2Client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// dialV2 connects and sends the V2 magic.
func dialV2(t *testing.T, addr string) *v2Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatalf("dial %s: %s", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &v2Client{t: t, conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}
	if err := c.write([]byte("  V2")); err != nil {
		t.Fatalf("send magic: %s", err)
	}
	return c
}

func (c *v2Client) close() { c.conn.Close() }

func (c *v2Client) write(b []byte) error {
	c.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	_, err := c.conn.Write(b)
	return err
}

// readFrame reads one frame; timeout bounds the wait for it.
func (c *v2Client) readFrame(timeout time.Duration) (int32, []byte, error) {
	c.conn.SetReadDeadline(time.Now().Add(timeout))
	var head [8]byte
	if _, err := io.ReadFull(c.r, head[:]); err != nil {
		return 0, nil, err
	}
	size := binary.BigEndian.Uint32(head[:4])
	if size < 4 || size > 16<<20 {
		return 0, nil, fmt.Errorf("implausible frame size %d", size)
	}
	data := make([]byte, size-4)
	if _, err := io.ReadFull(c.r, data); err != nil {
		return 0, nil, err
	}
	return int32(binary.BigEndian.Uint32(head[4:])), data, nil
}

// answer reads the reply to a command: "OK" (isErr false) or the text of
// an error frame (isErr true). Heartbeats are answered and skipped.
func (c *v2Client) answer() (text string, isErr bool, err error) {
	for {
		kind, data, err := c.readFrame(ioTimeout)
		if err != nil {
			return "", false, err
		}
		switch {
		case kind == frameResponse && string(data) == "_heartbeat_":
			if err := c.write([]byte("NOP\n")); err != nil {
				return "", false, err
			}
		case kind == frameResponse:
			return string(data), false, nil
		case kind == frameError:
			return string(data), true, nil
		default:
			return "", false, fmt.Errorf("unexpected frame type %d awaiting a reply", kind)
		}
	}
}

// mustOK fails the test unless the reply is OK.
func (c *v2Client) mustOK(what string) {
	c.t.Helper()
	text, isErr, err := c.answer()
	if err != nil {
		c.t.Fatalf("%s: %s", what, err)
	}
	if isErr || text != "OK" {
		c.t.Fatalf("%s: got %q (error frame: %v), want OK", what, text, isErr)
	}
}

func sizePrefixed(dst, body []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...)
}

// pub sends PUB and returns the reply.
func (c *v2Client) pub(topic string, body []byte) (text string, isErr bool, err error) {
	cmd := sizePrefixed([]byte("PUB "+topic+"\n"), body)
	if err := c.write(cmd); err != nil {
		return "", false, err
	}
	return c.answer()
}

func (c *v2Client) mustDPub(topic string, delay time.Duration, body []byte) {
	c.t.Helper()
	cmd := fmt.Sprintf("DPUB %s %d\n", topic, delay.Milliseconds())
	if err := c.write(sizePrefixed([]byte(cmd), body)); err != nil {
		c.t.Fatalf("DPUB: %s", err)
	}
	c.mustOK("DPUB")
}

// mpub sends MPUB and returns the reply.
func (c *v2Client) mpub(topic string, bodies [][]byte) (text string, isErr bool, err error) {
	size := 4
	for _, b := range bodies {
		size += 4 + len(b)
	}
	cmd := []byte("MPUB " + topic + "\n")
	cmd = binary.BigEndian.AppendUint32(cmd, uint32(size))
	cmd = binary.BigEndian.AppendUint32(cmd, uint32(len(bodies)))
	for _, b := range bodies {
		cmd = sizePrefixed(cmd, b)
	}
	if err := c.write(cmd); err != nil {
		return "", false, err
	}
	return c.answer()
}

func (c *v2Client) mustMPub(topic string, bodies [][]byte) {
	c.t.Helper()
	text, isErr, err := c.mpub(topic, bodies)
	if err != nil || isErr || text != "OK" {
		c.t.Fatalf("MPUB: %q (error frame %v, %v), want OK", text, isErr, err)
	}
}

// publishAll publishes bodies in MPUB batches of batch, each acknowledged.
func publishAll(t *testing.T, addr, topic string, bodies [][]byte, batch int) {
	t.Helper()
	c := dialV2(t, addr)
	defer c.close()
	for start := 0; start < len(bodies); start += batch {
		c.mustMPub(topic, bodies[start:min(start+batch, len(bodies))])
	}
}

// subscribe sends SUB and, when rdy > 0, RDY.
func (c *v2Client) subscribe(topic, channel string, rdy int) {
	c.t.Helper()
	if err := c.write([]byte("SUB " + topic + " " + channel + "\n")); err != nil {
		c.t.Fatalf("SUB: %s", err)
	}
	c.mustOK("SUB")
	if rdy > 0 {
		if err := c.write([]byte(fmt.Sprintf("RDY %d\n", rdy))); err != nil {
			c.t.Fatalf("RDY: %s", err)
		}
	}
}

func (c *v2Client) fin(id string) error { return c.write([]byte("FIN " + id + "\n")) }

// delivery is one received message frame.
type delivery struct {
	ID        string
	Attempts  uint16
	Timestamp int64 // ns since the epoch: the original publish time
	Body      string
	At        time.Time // when the test received it
}

// nextMessage waits up to timeout for a message, answering heartbeats.
func (c *v2Client) nextMessage(timeout time.Duration) (delivery, error) {
	deadline := time.Now().Add(timeout)
	for {
		kind, data, err := c.readFrame(time.Until(deadline))
		if err != nil {
			return delivery{}, err
		}
		switch kind {
		case frameMessage:
			if len(data) < 26 {
				return delivery{}, fmt.Errorf("message frame of %d bytes", len(data))
			}
			return delivery{
				Timestamp: int64(binary.BigEndian.Uint64(data[0:8])),
				Attempts:  binary.BigEndian.Uint16(data[8:10]),
				ID:        string(data[10:26]),
				Body:      string(data[26:]),
				At:        time.Now(),
			}, nil
		case frameResponse:
			if string(data) != "_heartbeat_" {
				return delivery{}, fmt.Errorf("unexpected response %q awaiting a message", data)
			}
			if err := c.write([]byte("NOP\n")); err != nil {
				return delivery{}, err
			}
		default:
			return delivery{}, fmt.Errorf("error frame %q awaiting a message", data)
		}
	}
}

// makeBodies returns n distinct bodies of about size bytes with the given
// prefix, so any delivered body can be checked against what was published.
func makeBodies(prefix string, n, size int) [][]byte {
	bodies := make([][]byte, n)
	for i := range bodies {
		b := fmt.Sprintf("%s-%06d-", prefix, i)
		if pad := size - len(b); pad > 0 {
			b += strings.Repeat(string(rune('a'+i%26)), pad)
		}
		bodies[i] = []byte(b)
	}
	return bodies
}

// --- HTTP ---

var httpClient = &http.Client{Timeout: ioTimeout}

// httpDo performs a request and returns status and body.
func httpDo(t *testing.T, method, rawURL string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatalf("request %s %s: %s", method, rawURL, err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %s", method, rawURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %s", method, rawURL, err)
	}
	return resp.StatusCode, string(data)
}

func (p *nsqdProcess) url(path string) string { return "http://" + p.httpAddr + path }

// mustPost POSTs path and requires 200.
func (p *nsqdProcess) mustPost(path string) {
	p.t.Helper()
	if status, body := httpDo(p.t, http.MethodPost, p.url(path), nil); status != http.StatusOK {
		p.t.Fatalf("POST %s: %d %s", path, status, body)
	}
}

// createChannel creates the topic and then the channel, so that messages
// published afterwards are queued on the channel.
func (p *nsqdProcess) createChannel(topic, channel string) {
	p.t.Helper()
	p.mustPost("/topic/create?topic=" + url.QueryEscape(topic))
	p.mustPost("/channel/create?topic=" + url.QueryEscape(topic) + "&channel=" + url.QueryEscape(channel))
}

func (p *nsqdProcess) ping() (int, string) {
	p.t.Helper()
	return httpDo(p.t, http.MethodGet, p.url("/ping"), nil)
}

type statsDoc struct {
	Health string       `json:"health"`
	Topics []topicStats `json:"topics"`
}

type topicStats struct {
	Name         string         `json:"topic_name"`
	Depth        int64          `json:"depth"`
	BackendDepth int64          `json:"backend_depth"`
	Channels     []channelStats `json:"channels"`
}

type channelStats struct {
	Name         string `json:"channel_name"`
	Depth        int64  `json:"depth"`
	BackendDepth int64  `json:"backend_depth"`
	InFlight     int64  `json:"in_flight_count"`
	Deferred     int64  `json:"deferred_count"`

	DiskSkippedRecords int64 `json:"disk_skipped_records"`
	DiskSkippedBytes   int64 `json:"disk_skipped_bytes"`
	Clients            []struct {
		MessageCount uint64 `json:"message_count"`
		FinishCount  uint64 `json:"finish_count"`
	} `json:"clients"`
}

// stats reads /stats?format=json.
func (p *nsqdProcess) stats() statsDoc {
	p.t.Helper()
	status, body := httpDo(p.t, http.MethodGet, p.url("/stats?format=json"), nil)
	if status != http.StatusOK {
		p.t.Fatalf("GET /stats: %d %s", status, body)
	}
	var doc statsDoc
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		p.t.Fatalf("GET /stats: %s in %s", err, body)
	}
	return doc
}

func (d statsDoc) topic(name string) (topicStats, bool) {
	for _, t := range d.Topics {
		if t.Name == name {
			return t, true
		}
	}
	return topicStats{}, false
}

func (d statsDoc) channel(topic, channel string) (channelStats, bool) {
	t, ok := d.topic(topic)
	if !ok {
		return channelStats{}, false
	}
	for _, c := range t.Channels {
		if c.Name == channel {
			return c, true
		}
	}
	return channelStats{}, false
}

// mustChannel returns a channel's stats or fails.
func (p *nsqdProcess) mustChannel(topic, channel string) channelStats {
	p.t.Helper()
	c, ok := p.stats().channel(topic, channel)
	if !ok {
		p.t.Fatalf("/stats has no channel %s/%s", topic, channel)
	}
	return c
}

// --- consuming a whole queue ---

// consumer reads on its own goroutine and hands each delivery to the test
// before it FINs it: so once nsqd counts a message finished, the test has
// it, which is what lets /stats tell when everything was received.
type consumer struct {
	c          *v2Client
	deliveries chan delivery
}

func startConsumer(t *testing.T, addr, topic, channel string, rdy int) *consumer {
	t.Helper()
	c := dialV2(t, addr)
	c.subscribe(topic, channel, rdy)
	k := &consumer{c: c, deliveries: make(chan delivery, 1024)}
	// quit frees the goroutine from a send nobody will receive when the
	// test ends without collecting (a failure).
	quit := make(chan struct{})
	t.Cleanup(func() { close(quit) })
	go func() {
		defer close(k.deliveries)
		for {
			// The test closes the connection to stop this loop; the
			// deadline only bounds a test that forgot to.
			d, err := c.nextMessage(drainTimeout)
			if err != nil {
				return
			}
			select {
			case k.deliveries <- d:
			case <-quit:
				return
			}
			if c.fin(d.ID) != nil {
				return
			}
		}
	}()
	return k
}

// stopAndCollect closes the connection and returns what was still queued
// for the test.
func (k *consumer) stopAndCollect() []delivery {
	k.c.close()
	var rest []delivery
	for d := range k.deliveries {
		rest = append(rest, d)
	}
	return rest
}

// drained reports whether the channel has nothing left to give: no depth,
// nothing deferred or in flight, and every delivery finished.
func drained(doc statsDoc, topic, channel string) bool {
	t, ok := doc.topic(topic)
	if !ok || t.Depth != 0 {
		return false
	}
	c, ok := doc.channel(topic, channel)
	if !ok || c.Depth != 0 || c.InFlight != 0 || c.Deferred != 0 {
		return false
	}
	for _, cl := range c.Clients {
		if cl.MessageCount != cl.FinishCount {
			return false
		}
	}
	return true
}

// consumeAll subscribes and consumes until the channel is drained: at
// least expected messages received and /stats showing nothing left on two
// polls in a row. There is no event for "nothing more will come", so /stats
// is polled; the second poll covers a batch taken from the queue but not
// yet counted in flight at the first. When fewer than expected arrive, it
// returns once /stats has shown the channel drained for a full settle
// period, so that a lost message fails the caller's checks quickly rather
// than at the timeout.
func consumeAll(t *testing.T, p *nsqdProcess, topic, channel string, expected int) []delivery {
	t.Helper()
	const (
		pollEvery = 50 * time.Millisecond
		settle    = 20 // polls: one second
	)
	k := startConsumer(t, p.tcpAddr, topic, channel, 500)
	var got []delivery
	deadline := time.After(drainTimeout)
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	quiet := 0
	for !(quiet >= 2 && len(got) >= expected) && quiet < settle {
		select {
		case d, ok := <-k.deliveries:
			if !ok {
				t.Fatalf("consumer connection ended after %d messages", len(got))
			}
			got = append(got, d)
			quiet = 0
		case <-poll.C:
			if drained(p.stats(), topic, channel) {
				quiet++
			} else {
				quiet = 0
			}
		case <-deadline:
			t.Fatalf("queue %s/%s not drained within %s: %d received, expected %d; stats %+v",
				topic, channel, drainTimeout, len(got), expected, p.stats())
		}
	}
	return append(got, k.stopAndCollect()...)
}

// tally counts deliveries per body.
func tally(got []delivery) map[string]int {
	counts := make(map[string]int, len(got))
	for _, d := range got {
		counts[d.Body]++
	}
	return counts
}
