package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"

	"github.com/nsqgo/nsq/internal/lookupdhttp"
	"github.com/nsqgo/nsq/nsqd/stats"
)

// maxStatsResponse bounds an nsqd /stats answer we are willing to read.
const maxStatsResponse = 64 << 20

// channelTotals is one channel summed across nsqds.
type channelTotals struct {
	Depth         int64
	MemoryDepth   int64
	BackendDepth  int64
	InFlightCount int64
	DeferredCount int64
	RequeueCount  int64
	TimeoutCount  int64
	MessageCount  int64
	ClientCount   int64
}

// statsDoc is the part of nsqd's /stats?format=json that nsq_stat reads.
// A channel is decoded into nsqd's own type (nsqd/stats), so that the
// keys are written once; an upstream nsqd's answer has the same keys.
type statsDoc struct {
	Topics []struct {
		TopicName string          `json:"topic_name"`
		Channels  []stats.Channel `json:"channels"`
	} `json:"topics"`
}

// poller gathers the channel's totals from the nsqds holding the topic.
type poller struct {
	opts      *options
	lookupd   *lookupdhttp.Client
	client    *http.Client
	transport *http.Transport
}

func newPoller(opts *options) *poller {
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: opts.connectTimeout}).DialContext,
		ResponseHeaderTimeout: opts.requestTimeout,
		MaxIdleConnsPerHost:   2,
	}
	return &poller{
		opts:      opts,
		lookupd:   lookupdhttp.New(lookupdhttp.Options{ConnectTimeout: opts.connectTimeout, RequestTimeout: opts.requestTimeout}),
		client:    &http.Client{Transport: transport, Timeout: opts.requestTimeout},
		transport: transport,
	}
}

func (p *poller) close() {
	p.lookupd.Close()
	p.transport.CloseIdleConnections()
}

// poll returns the channel's totals. Any failure to reach a lookupd or
// an nsqd is an error (as upstream, which exits on it): a total missing a
// node would print misleading numbers.
func (p *poller) poll(ctx context.Context) (channelTotals, error) {
	var docs []statsDoc
	if len(p.opts.lookupAddrs) > 0 {
		addrs, err := p.lookupProducers(ctx)
		if err != nil {
			return channelTotals{}, fmt.Errorf("failed to get topic producers - %w", err)
		}
		if docs, err = p.fetchAll(ctx, addrs); err != nil {
			return channelTotals{}, fmt.Errorf("failed to get nsqd stats - %w", err)
		}
	} else {
		var err error
		if docs, err = p.fetchAll(ctx, p.opts.nsqdAddrs); err != nil {
			return channelTotals{}, fmt.Errorf("failed to get topic producers - %w", err)
		}
	}
	total, found := sumChannel(docs, p.opts.topic, p.opts.channel)
	if !found {
		return channelTotals{}, fmt.Errorf("failed to find channel(%s) in stats metadata for topic(%s)", p.opts.channel, p.opts.topic)
	}
	return total, nil
}

// lookupProducers is the union of the nsqd HTTP addresses the lookupds
// list for the topic; any lookupd failing fails it (the first in the
// order given names the error).
func (p *poller) lookupProducers(ctx context.Context) ([]string, error) {
	answers := lookupdhttp.AskEach(ctx, p.opts.lookupAddrs, func(ctx context.Context, addr string) ([]lookupdhttp.Node, error) {
		return p.lookupd.Producers(ctx, addr, p.opts.topic)
	})
	if errs := lookupdhttp.Errors(answers); len(errs) > 0 {
		return nil, errs[0]
	}
	return lookupdhttp.Union(answers, lookupdhttp.Node.HTTPAddress), nil
}

// fetchAll gets every nsqd's stats of the topic at once.
func (p *poller) fetchAll(ctx context.Context, addrs []string) ([]statsDoc, error) {
	docs := make([]statsDoc, len(addrs))
	errs := make([]error, len(addrs))
	var wg sync.WaitGroup
	for i, addr := range addrs {
		wg.Go(func() { docs[i], errs[i] = p.fetch(ctx, addr) })
	}
	wg.Wait()
	return docs, errors.Join(errs...)
}

func (p *poller) fetch(ctx context.Context, addr string) (statsDoc, error) {
	endpoint := fmt.Sprintf("http://%s/stats?format=json&topic=%s&include_clients=false", addr, url.QueryEscape(p.opts.topic))
	var doc statsDoc
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return doc, fmt.Errorf("GET %s: %w", endpoint, err)
	}
	req.Header.Set("Accept", "application/vnd.nsq; version=1.0")
	resp, err := p.client.Do(req)
	if err != nil {
		return doc, err // already names the method and URL
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxStatsResponse))
	if err != nil {
		return doc, fmt.Errorf("GET %s: reading response: %w", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		return doc, fmt.Errorf("GET %s: got response %s", endpoint, resp.Status)
	}
	if err := decodeStats(body, &doc); err != nil {
		return doc, fmt.Errorf("GET %s: %w", endpoint, err)
	}
	return doc, nil
}

// decodeStats reads a V1 answer, or a pre-1.0 nsqd's, which wraps it as
// {"status_code":200,"status_txt":"OK","data":{...}}.
func decodeStats(body []byte, doc *statsDoc) error {
	var wrapped struct {
		StatusCode *int            `json:"status_code"`
		Data       json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &wrapped); err != nil {
		return fmt.Errorf("decode stats: %w", err)
	}
	if wrapped.StatusCode != nil {
		body = wrapped.Data
	}
	if err := json.Unmarshal(body, doc); err != nil {
		return fmt.Errorf("decode stats: %w", err)
	}
	return nil
}

// sumChannel adds up topic/channel over the nsqds' stats; found is false
// when no nsqd has it.
func sumChannel(docs []statsDoc, topic, channel string) (total channelTotals, found bool) {
	for _, doc := range docs {
		for _, t := range doc.Topics {
			if t.TopicName != topic {
				continue
			}
			for _, c := range t.Channels {
				if c.ChannelName != channel {
					continue
				}
				found = true
				total.Depth += c.Depth
				total.BackendDepth += c.BackendDepth
				total.MemoryDepth += c.Depth - c.BackendDepth
				total.InFlightCount += c.InFlightCount
				total.DeferredCount += c.DeferredCount
				total.RequeueCount += int64(c.RequeueCount)
				total.TimeoutCount += int64(c.TimeoutCount)
				total.MessageCount += int64(c.MessageCount)
				total.ClientCount += int64(c.ClientCount)
			}
		}
	}
	return total, found
}
