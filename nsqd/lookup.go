package nsqd

import (
	"context"
	"os"

	"github.com/nsqgo/nsq/internal/lookupclient"
	"github.com/nsqgo/nsq/internal/protocol"
)

// newLookupClient connects to every --lookupd-tcp-address. The client exists
// even with none configured so that PUT /config/nsqlookupd_tcp_addresses can
// add some at run time; it never blocks the daemon while lookupds are down.
func (n *NSQD) newLookupClient() *lookupclient.Client {
	hostname, _ := os.Hostname()
	tcpPort := n.opts.BroadcastTCPPort
	// On a unix socket there is no port to register: 0, as upstream.
	if addr := n.RealTCPAddr(); tcpPort == 0 && addr != nil {
		tcpPort = addr.Port
	}
	httpPort := n.opts.BroadcastHTTPPort
	if addr := n.RealHTTPAddr(); httpPort == 0 && addr != nil {
		httpPort = addr.Port
	}
	return lookupclient.New(lookupclient.Options{
		Addresses: n.opts.NSQLookupdTCPAddresses,
		Identity: lookupclient.Identity{
			BroadcastAddress: n.opts.BroadcastAddress,
			Hostname:         hostname,
			Version:          Version,
			TCPPort:          tcpPort,
			HTTPPort:         httpPort,
			TopologyZone:     n.opts.TopologyZone,
			TopologyRegion:   n.opts.TopologyRegion,
		},
		Clock:                    n.clock,
		HTTPClientConnectTimeout: n.opts.HTTPClientConnectTimeout,
		HTTPClientTimeout:        n.opts.HTTPClientRequestTimeout,
		MaxResponseSize:          n.opts.MaxBodySize,
		Logf: func(format string, args ...any) {
			n.logf(infoLevel, "LOOKUP: "+format, args...)
		},
		Warnf: func(format string, args ...any) {
			n.logf(warnLevel, "LOOKUP: "+format, args...)
		},
	})
}

// precreateChannels asks the lookupds which channels a new topic has
// elsewhere and creates the durable ones, so that they do not miss what is
// published before their consumers connect here.
func (n *NSQD) precreateChannels(t *Topic) {
	if len(n.lookup.Addresses()) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.HTTPClientRequestTimeout)
	defer cancel()
	for _, name := range n.lookup.LookupChannels(ctx, t.name) {
		if protocol.IsEphemeral(name) || !protocol.ValidName(name) {
			continue
		}
		if _, err := t.GetChannel(name); err != nil {
			n.logf(errorLevel, "TOPIC(%s): pre-creating channel %s: %s", t.name, name, err)
		}
	}
}

// LookupdAddresses is the current set of lookupd TCP addresses.
func (n *NSQD) LookupdAddresses() []string { return n.lookup.Addresses() }

// SetLookupdAddresses replaces the set of lookupds: removed ones are
// disconnected, added ones connected and sent every registration.
func (n *NSQD) SetLookupdAddresses(addrs []string) { n.lookup.SetAddresses(addrs) }
