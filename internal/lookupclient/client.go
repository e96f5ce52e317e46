package lookupclient

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/nsqgo/nsq/internal/lookupdhttp"
	"github.com/nsqgo/nsq/internal/protocol"
)

// Client is nsqd's connection to its lookupds. All methods are safe for
// concurrent use; none of them waits on the network except LookupChannels
// and Close.
type Client struct {
	opts Options
	http *lookupdhttp.Client // lookupds' /channels, for LookupChannels
	wg   sync.WaitGroup      // one per running peer goroutine

	mu     sync.Mutex
	closed bool
	// regs is every registration to hold at each lookupd: topic ->
	// channels. A topic with no channels is registered as the topic itself.
	regs  map[string]map[string]struct{}
	addrs []string
	peers map[string]*peer
}

// New starts one goroutine per address in opts.Addresses.
func New(opts Options) *Client {
	opts = opts.withDefaults()
	c := &Client{
		opts: opts,
		http: lookupdhttp.New(lookupdhttp.Options{
			ConnectTimeout:  opts.HTTPClientConnectTimeout,
			RequestTimeout:  opts.HTTPClientTimeout,
			MaxResponseSize: opts.MaxResponseSize,
		}),
		regs:  map[string]map[string]struct{}{},
		peers: map[string]*peer{},
	}
	c.SetAddresses(opts.Addresses)
	return c
}

func (c *Client) logf(format string, args ...any) { c.opts.Logf(format, args...) }

func (c *Client) warnf(format string, args ...any) { c.opts.Warnf(format, args...) }

// Register remembers topic (or channel of topic, when channel is not "")
// and sends REGISTER to every connected lookupd. Every call is forwarded,
// repeats included: REGISTER is idempotent, and a repeat re-creates keys an
// operator deleted on a lookupd. Invalid names are logged and ignored,
// since a lookupd would drop the whole connection over them.
func (c *Client) Register(topic, channel string) {
	if !validNames(topic, channel) {
		c.logf("LOOKUPD: not registering invalid topic %q channel %q", topic, channel)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	chans, ok := c.regs[topic]
	if !ok {
		chans = map[string]struct{}{}
		c.regs[topic] = chans
	}
	if channel != "" {
		chans[channel] = struct{}{}
	}
	c.enqueueLocked(command{verb: "REGISTER", topic: topic, channel: channel})
}

// Unregister forgets a registration and sends UNREGISTER to every connected
// lookupd. Unregistering a topic forgets its channels too and sends, as
// upstream nsqd does when it deletes a topic, "UNREGISTER t" followed by
// "UNREGISTER t c" for each channel (which lets lookupds drop ephemeral
// channel keys). Unregistering something not registered does nothing, so
// nsqd may also unregister each channel of a deleted topic without
// duplicates on the wire.
func (c *Client) Unregister(topic, channel string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	chans, ok := c.regs[topic]
	if !ok || c.closed {
		return
	}
	if channel != "" {
		if _, ok := chans[channel]; !ok {
			return
		}
		delete(chans, channel)
		c.enqueueLocked(command{verb: "UNREGISTER", topic: topic, channel: channel})
		return
	}
	delete(c.regs, topic)
	cmds := []command{{verb: "UNREGISTER", topic: topic}}
	for _, name := range sortedKeys(chans) {
		cmds = append(cmds, command{verb: "UNREGISTER", topic: topic, channel: name})
	}
	c.enqueueLocked(cmds...)
}

func validNames(topic, channel string) bool {
	return protocol.ValidName(topic) && (channel == "" || protocol.ValidName(channel))
}

// enqueueLocked queues cmds on every connected peer. A peer that is not
// connected will send the full set when it connects. Caller holds mu.
func (c *Client) enqueueLocked(cmds ...command) {
	for _, p := range c.peers {
		if !p.connected {
			continue
		}
		p.pending = append(p.pending, cmds...)
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// snapshotLocked is the full registration, as upstream nsqd sends it after
// IDENTIFY: "REGISTER t c" for each channel, or "REGISTER t" for a topic
// without channels. Caller holds mu.
func (c *Client) snapshotLocked() []command {
	var cmds []command
	for _, topic := range sortedKeys(c.regs) {
		chans := c.regs[topic]
		if len(chans) == 0 {
			cmds = append(cmds, command{verb: "REGISTER", topic: topic})
			continue
		}
		for _, name := range sortedKeys(chans) {
			cmds = append(cmds, command{verb: "REGISTER", topic: topic, channel: name})
		}
	}
	return cmds
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// SetAddresses replaces the set of lookupds: peers no longer listed are
// disconnected, new ones connected, the others left alone.
func (c *Client) SetAddresses(addrs []string) {
	clean := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if a = strings.TrimSpace(a); a != "" && !slices.Contains(clean, a) {
			clean = append(clean, a)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	for addr, p := range c.peers {
		if !slices.Contains(clean, addr) {
			c.logf("LOOKUP(%s): removing peer", addr)
			p.cancel()
			delete(c.peers, addr)
		}
	}
	for _, addr := range clean {
		if _, ok := c.peers[addr]; ok {
			continue
		}
		c.logf("LOOKUP(%s): adding peer", addr)
		p := newPeer(c, addr)
		c.peers[addr] = p
		// Added under mu with closed checked, so Close's Wait cannot
		// start before this goroutine counts.
		c.wg.Add(1)
		go p.run()
	}
	c.addrs = clean
}

// Addresses returns the configured lookupd addresses.
func (c *Client) Addresses() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.addrs)
}

// LookupChannels asks every connected lookupd (at the HTTP address its
// IDENTIFY reply gave) for the channels of topic and returns the union,
// sorted. Failures are logged and skipped. nsqd should skip names ending in
// "#ephemeral" when pre-creating channels, as upstream does.
func (c *Client) LookupChannels(ctx context.Context, topic string) []string {
	c.mu.Lock()
	var httpAddrs []string
	for _, addr := range c.addrs {
		if p := c.peers[addr]; p != nil && p.connected && p.httpAddr != "" {
			httpAddrs = append(httpAddrs, p.httpAddr)
		}
	}
	configured := len(c.addrs)
	c.mu.Unlock()

	if len(httpAddrs) == 0 {
		if configured > 0 {
			c.logf("no available nsqlookupd to query for channels to pre-create for topic %s", topic)
		}
		return nil
	}
	// Two configured addresses may reach the same lookupd.
	slices.Sort(httpAddrs)
	answers := lookupdhttp.AskEach(ctx, slices.Compact(httpAddrs), func(ctx context.Context, addr string) ([]string, error) {
		return c.http.Channels(ctx, addr, topic)
	})
	for _, a := range answers {
		if a.Err != nil {
			c.warnf("LOOKUPD(%s): failed to query channels of topic %s - %s", a.Addr, topic, a.Err)
		}
	}
	return lookupdhttp.UnionNames(answers)
}

// Registered is how many lookupds hold this node's registration now:
// connected, identified, and sent every topic and channel.
func (c *Client) Registered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, p := range c.peers {
		if p.registered {
			n++
		}
	}
	return n
}

// Close disconnects from every lookupd and waits for every goroutine. It
// sends no UNREGISTER: lookupds drop a closed connection's registrations.
func (c *Client) Close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		for _, p := range c.peers {
			p.cancel()
		}
	}
	c.mu.Unlock()
	c.wg.Wait()
	c.http.Close()
}
