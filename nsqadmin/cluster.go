package nsqadmin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nsqgo/nsq/internal/lookupdhttp"
)

// partialError lists the nodes that failed when others answered. Handlers
// report it, as upstream, as a 200 whose "message" starts "WARNING: ".
type partialError []error

func (p partialError) Error() string {
	parts := make([]string, len(p))
	for i, err := range p {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

// allFailedError is every queried node failing (or none to query); handlers
// report it, as upstream, as 502 "UPSTREAM_ERROR: ...".
type allFailedError struct {
	kind string // "nsqd" or "nsqlookupd"
	errs []error
}

func (e *allFailedError) Error() string {
	return fmt.Sprintf("failed to query any %s: %s", e.kind, partialError(e.errs).Error())
}

// outcome turns the errors of a fan-out to n nodes into nil, a
// partialError, or an allFailedError.
func outcome(kind string, n int, errs []error) error {
	switch {
	case len(errs) == n:
		return &allFailedError{kind: kind, errs: errs}
	case len(errs) > 0:
		return partialError(errs)
	}
	return nil
}

// collect gathers the partial errors of several steps; a step that failed
// outright ends the whole operation with its error.
type collect struct{ errs []error }

func (c *collect) add(err error) error {
	var partial partialError
	if errors.As(err, &partial) {
		c.errs = append(c.errs, partial...)
		return nil
	}
	return err
}

func (c *collect) result() error {
	if len(c.errs) > 0 {
		return partialError(c.errs)
	}
	return nil
}

// Producer is an nsqd as /api/nodes lists it.
type Producer struct {
	RemoteAddresses  []string        `json:"remote_addresses"`
	RemoteAddress    string          `json:"remote_address"`
	Hostname         string          `json:"hostname"`
	BroadcastAddress string          `json:"broadcast_address"`
	TCPPort          int             `json:"tcp_port"`
	HTTPPort         int             `json:"http_port"`
	Version          string          `json:"version"`
	Topics           []ProducerTopic `json:"topics"`
	OutOfDate        bool            `json:"out_of_date"`

	version semver
}

// ProducerTopic is one of a producer's topics and whether a lookupd has it
// tombstoned on that producer.
type ProducerTopic struct {
	Topic      string `json:"topic"`
	Tombstoned bool   `json:"tombstoned"`
}

// HTTPAddress is what nsqadmin calls the node: broadcast_address:http_port.
func (p *Producer) HTTPAddress() string {
	return net.JoinHostPort(p.BroadcastAddress, strconv.Itoa(p.HTTPPort))
}

func (p *Producer) tcpAddress() string {
	return net.JoinHostPort(p.BroadcastAddress, strconv.Itoa(p.TCPPort))
}

func sortProducers(ps []*Producer) {
	slices.SortStableFunc(ps, func(a, b *Producer) int { return cmp.Compare(a.Hostname, b.Hostname) })
}

// cluster asks the configured lookupds or nsqds about the cluster. Reads
// fan out to every node at once; each answer's failure names its node.
type cluster struct {
	nodes   *nodeClient
	lookupd *lookupdhttp.Client
	logf    func(format string, args ...any)
	now     func() time.Time
}

// get is one query of a node, logged at debug level as upstream logs its
// queries.
func (c *cluster) get(ctx context.Context, endpoint string, into any) error {
	c.logf("CI: querying %s", endpoint)
	return c.nodes.get(ctx, endpoint, into)
}

// fanOut runs fn for every address at once and returns the errors.
func fanOut(addrs []string, fn func(addr string) error) []error {
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	for _, addr := range addrs {
		wg.Go(func() {
			if err := fn(addr); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

// topics is every topic name: the union over lookupds, or over nsqds'
// /stats without lookupds.
func (c *cluster) topics(ctx context.Context, opts *Options) ([]string, error) {
	if addrs := opts.NSQLookupdHTTPAddresses; len(addrs) > 0 {
		answers := lookupdhttp.AskEach(ctx, addrs, c.lookupd.Topics)
		err := outcome("nsqlookupd", len(addrs), lookupdhttp.Errors(answers))
		if _, all := err.(*allFailedError); all {
			return nil, err
		}
		return lookupdhttp.UnionNames(answers), err
	}
	var mu sync.Mutex
	set := map[string]struct{}{}
	addrs := opts.NSQDHTTPAddresses
	err := outcome("nsqd", len(addrs), fanOut(addrs, func(addr string) error {
		var stats nsqdStats
		if err := c.get(ctx, nodeURL(addr, "/stats", url.Values{"format": {"json"}, "include_clients": {"false"}}), &stats); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, t := range stats.Topics {
			set[t.TopicName] = struct{}{}
		}
		return nil
	}))
	if _, all := err.(*allFailedError); all {
		return nil, err
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	slices.Sort(out)
	return out, err
}

// lookupdTopicChannels is the union of a topic's channels over lookupds.
func (c *cluster) lookupdTopicChannels(ctx context.Context, topic string, addrs []string) ([]string, error) {
	answers := lookupdhttp.AskEach(ctx, addrs, func(ctx context.Context, addr string) ([]string, error) {
		return c.lookupd.Channels(ctx, addr, topic)
	})
	return lookupdhttp.UnionNames(answers), outcome("nsqlookupd", len(addrs), lookupdhttp.Errors(answers))
}

// producers is every nsqd: from lookupds' /nodes (merged by TCP address,
// remote_addresses naming which lookupd sees it from where), or from
// each configured nsqd's /info and /stats.
func (c *cluster) producers(ctx context.Context, opts *Options) ([]*Producer, error) {
	if len(opts.NSQLookupdHTTPAddresses) > 0 {
		return c.lookupdProducers(ctx, opts.NSQLookupdHTTPAddresses)
	}
	return c.nsqdProducers(ctx, opts.NSQDHTTPAddresses, "")
}

// topicProducers is every nsqd that has topic.
func (c *cluster) topicProducers(ctx context.Context, topic string, opts *Options) ([]*Producer, error) {
	if len(opts.NSQLookupdHTTPAddresses) > 0 {
		return c.lookupdTopicProducers(ctx, topic, opts.NSQLookupdHTTPAddresses)
	}
	return c.nsqdProducers(ctx, opts.NSQDHTTPAddresses, topic)
}

func (c *cluster) lookupdProducers(ctx context.Context, addrs []string) ([]*Producer, error) {
	answers := lookupdhttp.AskEach(ctx, addrs, c.lookupd.Nodes)
	err := outcome("nsqlookupd", len(addrs), lookupdhttp.Errors(answers))
	if _, all := err.(*allFailedError); all {
		return nil, err
	}
	var (
		byAddr = map[string]*Producer{}
		list   []*Producer
	)
	for _, a := range answers {
		if a.Err != nil {
			continue
		}
		for _, n := range a.Value {
			p := producerOf(n)
			existing, ok := byAddr[p.tcpAddress()]
			if !ok {
				byAddr[p.tcpAddress()] = p
				list = append(list, p)
				existing = p
			}
			existing.RemoteAddresses = append(existing.RemoteAddresses, a.Addr+"/"+remoteOrNA(n.RemoteAddress))
		}
	}
	markOutOfDate(list)
	sortProducers(list)
	return nonNil(list), err
}

func remoteOrNA(addr string) string {
	if addr == "" {
		return "N/A"
	}
	return addr
}

func producerOf(n lookupdhttp.Node) *Producer {
	p := &Producer{
		RemoteAddresses:  []string{},
		RemoteAddress:    n.RemoteAddress,
		Hostname:         n.Hostname,
		BroadcastAddress: n.BroadcastAddress,
		TCPPort:          n.TCPPort,
		HTTPPort:         n.HTTPPort,
		Version:          n.Version,
		Topics:           []ProducerTopic{},
		version:          parseSemver(n.Version),
	}
	for i, t := range n.Topics {
		p.Topics = append(p.Topics, ProducerTopic{Topic: t, Tombstoned: i < len(n.Tombstones) && n.Tombstones[i]})
	}
	slices.SortFunc(p.Topics, func(a, b ProducerTopic) int { return cmp.Compare(a.Topic, b.Topic) })
	return p
}

func markOutOfDate(list []*Producer) {
	var newest semver
	for _, p := range list {
		if newest.less(p.version) {
			newest = p.version
		}
	}
	for _, p := range list {
		p.OutOfDate = p.version.less(newest)
	}
}

func (c *cluster) lookupdTopicProducers(ctx context.Context, topic string, addrs []string) ([]*Producer, error) {
	// Lookup, not Producers: upstream nsqadmin counts a lookupd's 404
	// TOPIC_NOT_FOUND as that lookupd failing, so an action on a topic no
	// lookupd knows is a 502.
	answers := lookupdhttp.AskEach(ctx, addrs, func(ctx context.Context, addr string) ([]lookupdhttp.Node, error) {
		return c.lookupd.Lookup(ctx, addr, topic)
	})
	err := outcome("nsqlookupd", len(addrs), lookupdhttp.Errors(answers))
	if _, all := err.(*allFailedError); all {
		return nil, err
	}
	var (
		seen = map[string]bool{}
		list []*Producer
	)
	for _, a := range answers {
		if a.Err != nil {
			continue
		}
		for _, n := range a.Value {
			p := producerOf(n)
			if !seen[p.HTTPAddress()] {
				seen[p.HTTPAddress()] = true
				list = append(list, p)
			}
		}
	}
	sortProducers(list)
	return nonNil(list), err
}

// nsqdInfo is the part of nsqd's /info nsqadmin reads.
type nsqdInfo struct {
	Version          string `json:"version"`
	BroadcastAddress string `json:"broadcast_address"`
	Hostname         string `json:"hostname"`
	HTTPPort         int    `json:"http_port"`
	TCPPort          int    `json:"tcp_port"`
}

// nsqdProducers asks each configured nsqd for its /stats and /info. With
// topic set it keeps only the nsqds that have the topic.
func (c *cluster) nsqdProducers(ctx context.Context, addrs []string, topic string) ([]*Producer, error) {
	var (
		mu   sync.Mutex
		list []*Producer
	)
	err := outcome("nsqd", len(addrs), fanOut(addrs, func(addr string) error {
		query := url.Values{"format": {"json"}, "include_clients": {"false"}}
		if topic != "" {
			query.Set("topic", topic)
		}
		var stats nsqdStats
		if err := c.get(ctx, nodeURL(addr, "/stats", query), &stats); err != nil {
			return err
		}
		if topic != "" && !slices.ContainsFunc(stats.Topics, func(t nsqdTopic) bool { return t.TopicName == topic }) {
			return nil
		}
		var info nsqdInfo
		if err := c.get(ctx, nodeURL(addr, "/info", nil), &info); err != nil {
			return err
		}
		// An nsqd that does not say where it is is called by the
		// address it was configured under, as upstream does.
		host, port, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(addr, "http://"), "https://"))
		if info.BroadcastAddress == "" {
			info.BroadcastAddress = host
			info.HTTPPort, _ = strconv.Atoi(port)
		}
		if info.Hostname == "" {
			info.Hostname = host
		}
		p := &Producer{
			RemoteAddresses:  []string{},
			Hostname:         info.Hostname,
			BroadcastAddress: info.BroadcastAddress,
			TCPPort:          info.TCPPort,
			HTTPPort:         info.HTTPPort,
			Version:          info.Version,
			Topics:           make([]ProducerTopic, 0, len(stats.Topics)),
			version:          parseSemver(info.Version),
		}
		for _, t := range stats.Topics {
			p.Topics = append(p.Topics, ProducerTopic{Topic: t.TopicName})
		}
		mu.Lock()
		list = append(list, p)
		mu.Unlock()
		return nil
	}))
	if _, all := err.(*allFailedError); all {
		return nil, err
	}
	markOutOfDate(list)
	sortProducers(list)
	return nonNil(list), err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// nodeStats asks each producer's /stats (for topic and channel when set)
// and returns its topics in API form, sorted by hostname, each entry's
// node the producer's HTTP address.
func (c *cluster) nodeStats(ctx context.Context, producers []*Producer, topic, channel string, includeClients bool) ([]*TopicStats, error) {
	var (
		mu   sync.Mutex
		list []*TopicStats
	)
	addrs := make([]string, len(producers))
	byAddr := map[string]*Producer{}
	for i, p := range producers {
		addrs[i] = p.HTTPAddress()
		byAddr[addrs[i]] = p
	}
	err := outcome("nsqd", len(addrs), fanOut(addrs, func(addr string) error {
		query := url.Values{"format": {"json"}}
		if topic != "" {
			query.Set("topic", topic)
			if channel != "" {
				query.Set("channel", channel)
			}
		}
		if !includeClients {
			query.Set("include_clients", "false")
		}
		var stats nsqdStats
		if err := c.get(ctx, nodeURL(addr, "/stats", query), &stats); err != nil {
			return err
		}
		now := c.now()
		mu.Lock()
		defer mu.Unlock()
		for _, t := range stats.Topics {
			if topic != "" && t.TopicName != topic {
				continue
			}
			list = append(list, nodeTopicStats(t, addr, byAddr[addr].Hostname, now))
		}
		return nil
	}))
	if _, all := err.(*allFailedError); all {
		return nil, err
	}
	slices.SortStableFunc(list, func(a, b *TopicStats) int {
		return cmp.Or(cmp.Compare(a.Hostname, b.Hostname), cmp.Compare(a.Node, b.Node), cmp.Compare(a.TopicName, b.TopicName))
	})
	return list, err
}

// postEach POSTs path?query to each address in turn and returns a
// partialError naming each that failed (upstream reports even a total
// failure of an action this way).
func (c *cluster) postEach(ctx context.Context, addrs []string, path string, query url.Values) error {
	var errs []error
	for _, addr := range addrs {
		endpoint := nodeURL(addr, path, query)
		c.logf("CI: POST %s", endpoint)
		if err := c.nodes.post(ctx, endpoint); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return partialError(errs)
	}
	return nil
}

func httpAddrs(ps []*Producer) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.HTTPAddress()
	}
	return out
}

// semver is the major.minor.patch of a version string; an unparsable one
// is 0.0.0, as upstream treats it.
type semver struct{ major, minor, patch int }

func parseSemver(s string) semver {
	core, _, _ := strings.Cut(strings.TrimPrefix(s, "v"), "-")
	core, _, _ = strings.Cut(core, "+")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return semver{}
	}
	var v [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return semver{}
		}
		v[i] = n
	}
	return semver{v[0], v[1], v[2]}
}

func (a semver) less(b semver) bool {
	return cmp.Or(cmp.Compare(a.major, b.major), cmp.Compare(a.minor, b.minor), cmp.Compare(a.patch, b.patch)) < 0
}
