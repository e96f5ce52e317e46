package nsqadmin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest"
	"github.com/nsqgo/nsq/internal/tooltest/daemons"
	"github.com/nsqgo/nsq/nsqd"
)

// The comparison test runs upstream's nsqadmin v1.3.0, built from the Go
// module proxy in a throwaway module outside this tree, beside ours on one
// cluster, and compares every /api answer's status and field names. It
// skips, saying why, when upstream cannot be built (no network or proxy).

const upstreamModule = `module nsqgo-upstream-nsqadmin

go 1.21

require github.com/nsqio/nsq v1.3.0

replace github.com/judwhite/go-svc => github.com/mreiferson/go-svc v1.2.2-0.20210815184239-7a96e00010f6
`

// upstreamBuild makes the binary once per test process.
var upstreamBuild struct {
	once sync.Once
	path string
	err  error
}

// upstreamNSQAdmin returns the path of upstream's nsqadmin binary, built
// (once, and again only when the module file changes) in
// $HOME/.cache/nsqgo-upstream/nsqadmin.
func upstreamNSQAdmin(t *testing.T) string {
	t.Helper()
	upstreamBuild.once.Do(func() {
		cache, err := os.UserCacheDir()
		if err != nil {
			upstreamBuild.err = err
			return
		}
		dir := filepath.Join(cache, "nsqgo-upstream", "nsqadmin")
		bin := filepath.Join(dir, "nsqadmin")
		if old, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(old), upstreamModule) {
			if _, err := os.Stat(bin); err == nil {
				upstreamBuild.path = bin
				return
			}
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			upstreamBuild.err = err
			return
		}
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(upstreamModule), 0o644); err != nil {
			upstreamBuild.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		var out bytes.Buffer
		for _, args := range [][]string{
			{"mod", "download", "github.com/nsqio/nsq"},
			{"build", "-mod=mod", "-o", bin, "github.com/nsqio/nsq/apps/nsqadmin"},
		} {
			cmd := exec.CommandContext(ctx, "go", args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off")
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				upstreamBuild.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out.String())
				return
			}
		}
		upstreamBuild.path = bin
	})
	if upstreamBuild.err != nil {
		t.Skipf("upstream nsqadmin v1.3.0 could not be built from the module proxy, so it is not compared: %v", upstreamBuild.err)
	}
	return upstreamBuild.path
}

// runUpstream starts upstream's nsqadmin with args on a free loopback
// port and returns its base URL; it is stopped by PID when the test ends.
func runUpstream(t *testing.T, bin string, args ...string) string {
	t.Helper()
	addr := tooltest.FreePort(t)
	cmd := exec.Command(bin, append([]string{"--http-address=" + addr, "--log-level=warn"}, args...)...)
	logs := tooltest.NewBuffer()
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(tooltest.WaitTimeout):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("upstream nsqadmin output:\n%s", logs)
		}
	})
	base := "http://" + addr
	tooltest.Eventually(t, "upstream nsqadmin answers /ping", func() bool {
		resp, err := http.Get(base + "/ping")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base
}

// shapeDiff lists where two JSON values differ in field names or kinds.
// A null on either side matches anything (upstream leaves empty lists
// null where ours are []); list elements are compared as the union of
// their fields.
func shapeDiff(path string, a, b any, out *[]string) {
	if a == nil || b == nil {
		return
	}
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: upstream has an object, ours %T", path, b))
			return
		}
		names := map[string]bool{}
		for k := range av {
			names[k] = true
		}
		for k := range bv {
			names[k] = true
		}
		sortedNames := make([]string, 0, len(names))
		for k := range names {
			sortedNames = append(sortedNames, k)
		}
		sort.Strings(sortedNames)
		for _, k := range sortedNames {
			x, inA := av[k]
			y, inB := bv[k]
			switch {
			case !inA:
				*out = append(*out, fmt.Sprintf("%s.%s: only ours has it", path, k))
			case !inB:
				*out = append(*out, fmt.Sprintf("%s.%s: only upstream has it", path, k))
			default:
				shapeDiff(path+"."+k, x, y, out)
			}
		}
	case []any:
		bv, ok := b.([]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: upstream has a list, ours %T", path, b))
			return
		}
		if len(av) > 0 && len(bv) > 0 {
			shapeDiff(path+"[]", union(av), union(bv), out)
		}
	default:
		if fmt.Sprintf("%T", a) != fmt.Sprintf("%T", b) {
			*out = append(*out, fmt.Sprintf("%s: upstream has %T, ours %T", path, a, b))
		}
	}
}

// union merges a list's objects into one with every field any has; a
// list of non-objects is represented by its first element.
func union(list []any) any {
	merged := map[string]any{}
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return list[0]
		}
		for k, v := range m {
			if merged[k] == nil {
				merged[k] = v
			} else if sub, ok := v.(map[string]any); ok {
				if prev, ok := merged[k].(map[string]any); ok {
					merged[k] = union([]any{prev, sub})
				}
			} else if l, ok := v.([]any); ok && len(l) > 0 {
				if prev, ok := merged[k].([]any); ok {
					merged[k] = append(slices.Clone(prev), l...)
				}
			}
		}
	}
	return merged
}

type exchange struct {
	method, path, body string
}

func call(t *testing.T, base string, e exchange) (int, any) {
	t.Helper()
	headers := map[string]string{}
	if e.body != "" {
		headers["Content-Type"] = "application/json"
	}
	status, data := do(t, e.method, base+e.path, e.body, headers)
	var v any
	if len(data) > 0 {
		require.NoError(t, json.Unmarshal(data, &v), "%s %s%s answered %d %q", e.method, base, e.path, status, data)
	}
	return status, v
}

func TestAPIMatchesUpstreamNSQAdmin(t *testing.T) {
	bin := upstreamNSQAdmin(t)
	lookupd := tooltest.StartLookupd(t)
	var nsqds []*daemons.NSQD
	for range 2 {
		nsqds = append(nsqds, daemons.StartNSQD(t, []string{lookupd.TCPAddr()}, func(o *nsqd.Options) {
			o.E2EProcessingLatencyPercentiles = []float64{0.99, 0.5}
		}))
	}
	c := &testCluster{lookupd: lookupd}
	for _, n := range nsqds {
		c.nsqds = append(c.nsqds, tooltest.NSQD{NSQD: n})
	}
	tooltest.Eventually(t, "lookupd lists both nsqds", func() bool {
		var nodes struct {
			Producers []any `json:"producers"`
		}
		return getInto(t, "http://"+lookupd.HTTPAddr()+"/nodes", &nodes) == http.StatusOK && len(nodes.Producers) == 2
	})
	for i := range c.nsqds {
		c.createChannel(t, i, "cmp", "ch")
		c.publish(t, i, "cmp", "1", "2", "3")
		tooltest.Consume(t, c.nsqds[i].TCPAddr(), "cmp", "ch").WaitFor(t, 3)
		for _, topic := range []string{"pause_a", "pause_b", "del_a", "del_b", "tomb_a", "tomb_b"} {
			c.createChannel(t, i, topic, "x")
		}
	}
	c.awaitLookup(t, "cmp", 0, 1)
	c.awaitLookup(t, "del_b", 0, 1)
	// Latency percentiles appear once the consumers' FINs are in the stats.
	tooltest.Eventually(t, "latency percentiles in the stats", func() bool {
		cs, _ := c.nsqds[0].Channel("cmp", "ch")
		return len(cs.E2eProcessingLatency.Percentiles) > 0
	})
	node := c.nsqds[0].HTTPAddr()

	for mode, args := range map[string][]string{
		"lookupd": {"--lookupd-http-address=" + lookupd.HTTPAddr()},
		"nsqd":    {"--nsqd-http-address=" + c.nsqds[0].HTTPAddr(), "--nsqd-http-address=" + c.nsqds[1].HTTPAddr()},
	} {
		t.Run(mode, func(t *testing.T) {
			upstream := runUpstream(t, bin, args...)
			ours := startAdmin(t, func(o *Options) {
				if mode == "lookupd" {
					lookupdMode(c)(o)
				} else {
					nsqdMode(c)(o)
				}
			})
			reads := []exchange{
				{http.MethodGet, "/api/topics", ""},
				{http.MethodGet, "/api/topics?inactive=true", ""},
				{http.MethodGet, "/api/topics/cmp", ""},
				{http.MethodGet, "/api/topics/cmp/ch", ""},
				{http.MethodGet, "/api/topics/cmp/nope", ""},
				{http.MethodGet, "/api/topics/nope", ""},
				{http.MethodGet, "/api/nodes", ""},
				{http.MethodGet, "/api/nodes/" + node, ""},
				{http.MethodGet, "/api/nodes/127.0.0.1:1", ""},
				{http.MethodGet, "/api/counter", ""},
				{http.MethodGet, "/api/graphite?metric=nope&target=x", ""},
				{http.MethodGet, "/api/nothing", ""},
				{http.MethodGet, "/config/log_level", ""},
				{http.MethodGet, "/config/nope", ""},
				{http.MethodPost, "/api/topics/cmp", `{"action":"explode"}`},
				{http.MethodPost, "/api/topics", `{"topic":"bad topic"}`},
				{http.MethodPost, "/api/topics", `{"topic":"ok","channel":"bad/ch"}`},
				{http.MethodDelete, "/api/nodes/" + node, `{"topic":"no good"}`},
				{http.MethodPost, "/api/topics/unknown", `{"action":"pause"}`},
				{http.MethodPost, "/api/topics/unknown/ch", `{"action":"empty"}`},
				{http.MethodDelete, "/api/topics/unknown", ""},
				{http.MethodDelete, "/api/topics/unknown/ch", ""},
			}
			for _, e := range reads {
				compare(t, upstream, ours.base, e, e)
			}
			// Actions change the cluster: each side acts on its own topic.
			for _, pair := range [][2]exchange{
				{{http.MethodPost, "/api/topics/pause_a", `{"action":"pause"}`}, {http.MethodPost, "/api/topics/pause_b", `{"action":"pause"}`}},
				{{http.MethodPost, "/api/topics/pause_a", `{"action":"unpause"}`}, {http.MethodPost, "/api/topics/pause_b", `{"action":"unpause"}`}},
				{{http.MethodPost, "/api/topics/pause_a/x", `{"action":"pause"}`}, {http.MethodPost, "/api/topics/pause_b/x", `{"action":"pause"}`}},
				{{http.MethodPost, "/api/topics/pause_a/x", `{"action":"empty"}`}, {http.MethodPost, "/api/topics/pause_b/x", `{"action":"empty"}`}},
				{{http.MethodPost, "/api/topics/pause_a", `{"action":"empty"}`}, {http.MethodPost, "/api/topics/pause_b", `{"action":"empty"}`}},
				{{http.MethodDelete, "/api/topics/del_a/x", ""}, {http.MethodDelete, "/api/topics/del_b/x", ""}},
				{{http.MethodDelete, "/api/topics/del_a", ""}, {http.MethodDelete, "/api/topics/del_b", ""}},
			} {
				compare(t, upstream, ours.base, pair[0], pair[1])
			}
			if mode == "nsqd" {
				// A deliberate difference: without lookupds upstream creates
				// nothing (and with a channel fails with 502, having no
				// lookupd to ask); ours creates on every nsqd. Without a
				// channel both answer alike.
				compare(t, upstream, ours.base,
					exchange{http.MethodPost, "/api/topics", `{"topic":"made_a"}`},
					exchange{http.MethodPost, "/api/topics", `{"topic":"made_b"}`})
			}
			if mode == "lookupd" {
				compare(t, upstream, ours.base,
					exchange{http.MethodPost, "/api/topics", `{"topic":"made_a","channel":"c"}`},
					exchange{http.MethodPost, "/api/topics", `{"topic":"made_b","channel":"c"}`})
				compare(t, upstream, ours.base,
					exchange{http.MethodDelete, "/api/nodes/" + node, `{"topic":"tomb_a"}`},
					exchange{http.MethodDelete, "/api/nodes/" + node, `{"topic":"tomb_b"}`})
			}
		})
	}
}

// compare sends u to upstream and o to ours and requires the same status
// and field names.
func compare(t *testing.T, upstream, ours string, u, o exchange) {
	t.Helper()
	uStatus, uBody := call(t, upstream, u)
	oStatus, oBody := call(t, ours, o)
	require.Equal(t, uStatus, oStatus, "%s %s: upstream %d %v, ours %d %v", o.method, o.path, uStatus, uBody, oStatus, oBody)
	var diffs []string
	shapeDiff("", uBody, oBody, &diffs)
	require.Empty(t, diffs, "%s %s: field names differ\nupstream: %v\nours:     %v", o.method, o.path, uBody, oBody)
}
