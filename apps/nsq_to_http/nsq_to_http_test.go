package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest"
)

// request is what an endpoint received.
type request struct {
	method, uri string
	header      http.Header
	body        string
}

// endpoint is a test HTTP server that records requests and answers each
// with the next status of its script (the last one repeats).
type endpoint struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	got      []request
	changed  chan struct{}
}

func newEndpoint(t *testing.T, statuses ...int) *endpoint {
	e := &endpoint{statuses: statuses, changed: make(chan struct{})}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		status := e.statuses[min(len(e.got), len(e.statuses)-1)]
		e.got = append(e.got, request{method: r.Method, uri: r.RequestURI, header: r.Header.Clone(), body: string(body)})
		close(e.changed)
		e.changed = make(chan struct{})
		e.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(e.Close)
	return e
}

// waitFor waits until n requests have arrived and returns them.
func (e *endpoint) waitFor(t *testing.T, n int) []request {
	t.Helper()
	deadline := time.After(tooltest.WaitTimeout)
	for {
		e.mu.Lock()
		got, changed := append([]request(nil), e.got...), e.changed
		e.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("endpoint got %d of %d requests", len(got), n)
		}
	}
}

func (e *endpoint) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.got)
}

// finished waits until all total messages of the channel were finished:
// FINs are counted, since a message on its way from the channel to a
// connection is, for a moment, neither queued nor in flight (nsqd/pump.go).
func finished(t *testing.T, n tooltest.NSQD, topic string, total uint64) {
	t.Helper()
	tooltest.Eventually(t, "every message finished", func() bool {
		ch, ok := n.Channel(topic, "nsq_to_http")
		var fin uint64
		for _, c := range ch.Clients {
			fin += c.FinishCount
		}
		return ok && ch.MessageCount == total && fin == total && ch.Depth == 0 && ch.InFlightCount == 0 && ch.DeferredCount == 0
	})
}

// fastRetry redelivers failed messages at once, without backoff pauses.
var fastRetry = []string{"--consumer-opt=default_requeue_delay,0s", "--consumer-opt=max_backoff_duration,0s"}

func TestPostsTheBodyWithHeaders(t *testing.T) {
	n, e := tooltest.StartNSQD(t), newEndpoint(t, http.StatusCreated)
	tooltest.Publish(t, n.TCPAddr(), "hooks", "raw \x00 body")
	tooltest.Start(t, run, nil, "--topic=hooks", "--nsqd-tcp-address="+n.TCPAddr(),
		"--post="+e.URL+"/in", "--header=X-Token: abc", "--header", " X-Other :x:y ")
	got := e.waitFor(t, 1)[0]
	require.Equal(t, "POST", got.method)
	require.Equal(t, "/in", got.uri)
	require.Equal(t, "raw \x00 body", got.body)
	require.Equal(t, "application/octet-stream", got.header.Get("Content-Type"))
	require.Equal(t, "nsq_to_http v1.3.0", got.header.Get("User-Agent"))
	require.Equal(t, "abc", got.header.Get("X-Token"))
	require.Equal(t, "x:y", got.header.Get("X-Other"))
	finished(t, n, "hooks", 1)
}

func TestContentTypeSetsThePostHeader(t *testing.T) {
	n, e := tooltest.StartNSQD(t), newEndpoint(t, http.StatusOK)
	tooltest.Publish(t, n.TCPAddr(), "typed", `{"a":1}`)
	tooltest.Start(t, run, nil, "--topic=typed", "--nsqd-tcp-address="+n.TCPAddr(),
		"--post="+e.URL, "--content-type=application/json")
	require.Equal(t, "application/json", e.waitFor(t, 1)[0].header.Get("Content-Type"))
}

func TestGetSubstitutesTheEscapedBody(t *testing.T) {
	n, e := tooltest.StartNSQD(t), newEndpoint(t, http.StatusOK)
	tooltest.Publish(t, n.TCPAddr(), "gets", "x y/z")
	tooltest.Start(t, run, nil, "--topic=gets", "--nsqd-tcp-address="+n.TCPAddr(),
		"--get="+e.URL+"/get?a=100%25&msg=%s")
	got := e.waitFor(t, 1)[0]
	require.Equal(t, "GET", got.method)
	require.Equal(t, "/get?a=100%25&msg=x+y%2Fz", got.uri)
	require.Equal(t, "nsq_to_http v1.3.0", got.header.Get("User-Agent"))
	finished(t, n, "gets", 1)
}

func TestFailedPostIsRequeuedAndRedelivered(t *testing.T) {
	n, e := tooltest.StartNSQD(t), newEndpoint(t, http.StatusInternalServerError, http.StatusOK)
	tooltest.Publish(t, n.TCPAddr(), "retry", "again")
	tooltest.Start(t, run, nil, append([]string{"--topic=retry", "--nsqd-tcp-address=" + n.TCPAddr(), "--post=" + e.URL}, fastRetry...)...)
	got := e.waitFor(t, 2)
	require.Equal(t, "again", got[1].body)
	finished(t, n, "retry", 1)
	ch, _ := n.Channel("retry", "nsq_to_http")
	require.EqualValues(t, 1, ch.RequeueCount)
}

func TestGetSucceedsOnlyWith200(t *testing.T) {
	n, e := tooltest.StartNSQD(t), newEndpoint(t, http.StatusNoContent, http.StatusOK)
	tooltest.Publish(t, n.TCPAddr(), "strict", "m")
	tooltest.Start(t, run, nil, append([]string{"--topic=strict", "--nsqd-tcp-address=" + n.TCPAddr(), "--get=" + e.URL + "/?m=%s"}, fastRetry...)...)
	e.waitFor(t, 2)
	finished(t, n, "strict", 1)
	ch, _ := n.Channel("strict", "nsq_to_http")
	require.EqualValues(t, 1, ch.RequeueCount, "204 counted as a failure")
}

func TestRequestTimeoutFailsTheMessage(t *testing.T) {
	n := tooltest.StartNSQD(t)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	tooltest.Publish(t, n.TCPAddr(), "slow", "m")
	p := tooltest.Start(t, run, nil, "--topic=slow", "--nsqd-tcp-address="+n.TCPAddr(), "--post="+slow.URL,
		"--http-client-request-timeout=100ms")
	tooltest.Eventually(t, "timed-out request requeued", func() bool {
		ch, ok := n.Channel("slow", "nsq_to_http")
		return ok && ch.RequeueCount >= 1
	})
	require.Contains(t, p.Stderr.String(), "Client.Timeout exceeded")
}

func TestRoundRobinAlternatesEndpoints(t *testing.T) {
	n, e1, e2 := tooltest.StartNSQD(t), newEndpoint(t, http.StatusOK), newEndpoint(t, http.StatusOK)
	tooltest.Publish(t, n.TCPAddr(), "rr", "1", "2", "3", "4")
	tooltest.Start(t, run, nil, "--topic=rr", "--nsqd-tcp-address="+n.TCPAddr(), "--mode=round-robin",
		"--post="+e1.URL, "--post="+e2.URL)
	finished(t, n, "rr", 4)
	require.Equal(t, 2, e1.count())
	require.Equal(t, 2, e2.count())
}

func TestUnknownModeSendsToEveryEndpoint(t *testing.T) {
	n, e1, e2 := tooltest.StartNSQD(t), newEndpoint(t, http.StatusOK), newEndpoint(t, http.StatusOK)
	tooltest.Publish(t, n.TCPAddr(), "all", "1", "2", "3")
	tooltest.Start(t, run, nil, "--topic=all", "--nsqd-tcp-address="+n.TCPAddr(), "--mode=multicast",
		"--post="+e1.URL, "--post="+e2.URL)
	finished(t, n, "all", 3)
	require.Equal(t, 3, e1.count())
	require.Equal(t, 3, e2.count())
}

func TestSampleZeroFinishesWithoutSending(t *testing.T) {
	n, e := tooltest.StartNSQD(t), newEndpoint(t, http.StatusOK)
	tooltest.Publish(t, n.TCPAddr(), "sampled", "1", "2", "3")
	tooltest.Start(t, run, nil, "--topic=sampled", "--nsqd-tcp-address="+n.TCPAddr(), "--sample=0", "--post="+e.URL)
	finished(t, n, "sampled", 3)
	require.Zero(t, e.count())
}

func TestVersion(t *testing.T) {
	code, stdout, _ := tooltest.Run(t, run, nil, "--version")
	require.Equal(t, 0, code)
	require.Regexp(t, `^nsq_to_http v1\.3\.0 \(built w/go\S+\) nsqgo \S+\n$`, stdout)
}

func TestBadCommandLines(t *testing.T) {
	src := "--nsqd-tcp-address=127.0.0.1:4150"
	post := "--post=http://127.0.0.1:1/"
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no topic", []string{src, post}, 1, "--topic and --channel are required"},
		{"content type with get", []string{"--topic=t", src, "--get=http://h/%s", "--content-type=text/plain"}, 1, "--content-type only used with --post"},
		{"empty content type", []string{"--topic=t", src, post, "--content-type="}, 1, "--content-type requires a value when used"},
		{"no source", []string{"--topic=t", post}, 1, "--nsqd-tcp-address or --lookupd-http-address required"},
		{"both sources", []string{"--topic=t", src, "--lookupd-http-address=127.0.0.1:4161", post}, 1, "not both"},
		{"no endpoint", []string{"--topic=t", src}, 1, "--get or --post required"},
		{"get and post", []string{"--topic=t", src, post, "--get=http://h/%s"}, 1, "use --get or --post not both"},
		{"get without %s", []string{"--topic=t", src, "--get=http://h/"}, 1, "invalid GET address - must be a printf string"},
		{"get with two %s", []string{"--topic=t", src, "--get=http://h/%s/%s"}, 1, "invalid GET address - must be a printf string"},
		{"sample above 1", []string{"--topic=t", src, post, "--sample=1.5"}, 1, "ERROR: --sample must be between 0.0 and 1.0"},
		{"header without colon", []string{"--topic=t", src, post, "--header=X-A=b"}, 1, "--header value format should be 'key=value'"},
		{"header without value", []string{"--topic=t", src, post, "--header=X-A: "}, 1, "--header value format should be 'key=value'"},
		{"no handlers", []string{"--topic=t", src, post, "-n=0"}, 1, "-n must be at least 1"},
		{"invalid topic", []string{"--topic=a b", src, post}, 1, `invalid topic name "a b"`},
		{"unknown flag", []string{"--nope"}, 2, "flag provided but not defined: -nope"},
		{"bad timeout", []string{"--http-client-request-timeout=soon"}, 2, `invalid value "soon"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := tooltest.Run(t, run, nil, tc.args...)
			require.Equal(t, tc.code, code, stderr)
			require.Contains(t, stderr, tc.msg)
		})
	}
}
