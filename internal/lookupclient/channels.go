package lookupclient

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"sync"
)

// channelFetcher queries lookupds' /channels with its own HTTP client, so
// its connections and timeouts belong to this Client alone.
type channelFetcher struct {
	transport *http.Transport
	client    *http.Client
	maxBody   int64
}

func newChannelFetcher(opts Options) *channelFetcher {
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: opts.HTTPClientConnectTimeout}).DialContext,
		ResponseHeaderTimeout: opts.HTTPClientTimeout,
		MaxIdleConnsPerHost:   2,
	}
	return &channelFetcher{
		transport: transport,
		client:    &http.Client{Transport: transport, Timeout: opts.HTTPClientTimeout},
		maxBody:   opts.MaxResponseSize,
	}
}

func (f *channelFetcher) close() { f.transport.CloseIdleConnections() }

// union queries every address at once and merges the answers.
func (f *channelFetcher) union(ctx context.Context, addrs []string, topic string, logf func(string, ...any)) []string {
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		set = map[string]struct{}{}
	)
	for _, addr := range addrs {
		wg.Go(func() {
			names, err := f.fetch(ctx, addr, topic)
			if err != nil {
				logf("LOOKUPD(%s): failed to query channels of topic %s - %s", addr, topic, err)
				return
			}
			mu.Lock()
			for _, name := range names {
				set[name] = struct{}{}
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	out := make([]string, 0, len(set))
	for name := range set {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// fetch is GET /channels?topic= with the V1 Accept header clients send.
func (f *channelFetcher) fetch(ctx context.Context, addr, topic string) ([]string, error) {
	endpoint := "http://" + addr + "/channels?topic=" + url.QueryEscape(topic)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/vnd.nsq; version=1.0")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading response - %w", err)
	}
	if int64(len(body)) > f.maxBody {
		return nil, fmt.Errorf("response larger than %d bytes", f.maxBody)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("got response %s %q", resp.Status, body)
	}
	return parseChannels(body)
}
