package nsqlookupd

import (
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
)

// PeerInfo is one producer (an nsqd) as /lookup reports it; the field order
// is upstream's so the JSON reads the same.
type PeerInfo struct {
	RemoteAddress    string `json:"remote_address"`
	Hostname         string `json:"hostname"`
	BroadcastAddress string `json:"broadcast_address"`
	TCPPort          int    `json:"tcp_port"`
	HTTPPort         int    `json:"http_port"`
	Version          string `json:"version"`
	// upstream master (topology-aware consumption): what the nsqd said in
	// IDENTIFY, "" when it said nothing
	TopologyZone   string `json:"topology_zone,omitempty"`
	TopologyRegion string `json:"topology_region,omitempty"`
}

// Node is one producer as /nodes reports it: Tombstones[i] is the tombstone
// state of Topics[i] on that node.
type Node struct {
	PeerInfo
	Tombstones []bool   `json:"tombstones"`
	Topics     []string `json:"topics"`
}

// peer is one identified registrant connection. Its info is fixed at
// IDENTIFY; only lastUpdate changes, atomically, so PING takes no lock.
type peer struct {
	id         string // the connection's remote address
	info       PeerInfo
	lastUpdate atomic.Int64 // Unix nanoseconds of IDENTIFY or the last PING
}

func (p *peer) touch(now time.Time) { p.lastUpdate.Store(now.UnixNano()) }

func (p *peer) active(now time.Time, timeout time.Duration) bool {
	return now.Sub(time.Unix(0, p.lastUpdate.Load())) <= timeout
}

// producer is a peer's membership in one registration key. Tombstones live
// here, so a tombstone applies to one topic of one node, and a fresh
// registration after the key was removed starts untombstoned, as upstream.
type producer struct {
	peer         *peer
	tombstoned   bool
	tombstonedAt time.Time
}

func (p *producer) isTombstoned(now time.Time, lifetime time.Duration) bool {
	return p.tombstoned && now.Sub(p.tombstonedAt) < lifetime
}

// producerSet is one registration key's producers by peer id. A set exists
// (possibly empty) exactly when upstream's registration key exists.
type producerSet map[string]*producer

// add makes p a member. An entry under the same id from another connection
// (a previous connection from the same address whose cleanup has not run
// yet) is replaced, so that cleanup cannot remove the newer registration.
func (s producerSet) add(p *peer) bool {
	if existing, ok := s[p.id]; ok && existing.peer == p {
		return false
	}
	s[p.id] = &producer{peer: p}
	return true
}

// remove drops p if this exact connection is the member; it reports whether
// it did and how many producers are left.
func (s producerSet) remove(p *peer) (bool, int) {
	existing, ok := s[p.id]
	if !ok || existing.peer != p {
		return false, len(s)
	}
	delete(s, p.id)
	return true, len(s)
}

type channelKey struct{ topic, channel string }

// peerKeys is the reverse index of what one peer registered, so a
// disconnect and /nodes touch only that peer's keys instead of every key.
type peerKeys struct {
	topics   map[string]struct{}
	channels map[channelKey]struct{}
}

// registry is the registration database: upstream's ("client", "", ""),
// ("topic", t, "") and ("channel", t, c) keys, each with its producers.
type registry struct {
	inactiveTimeout   time.Duration
	tombstoneLifetime time.Duration

	mu       sync.RWMutex
	clients  producerSet
	topics   map[string]producerSet
	channels map[string]map[string]producerSet // topic -> channel -> producers
	byPeer   map[*peer]*peerKeys
}

func newRegistry(inactiveTimeout, tombstoneLifetime time.Duration) *registry {
	return &registry{
		inactiveTimeout:   inactiveTimeout,
		tombstoneLifetime: tombstoneLifetime,
		clients:           producerSet{},
		topics:            map[string]producerSet{},
		channels:          map[string]map[string]producerSet{},
		byPeer:            map[*peer]*peerKeys{},
	}
}

// identify adds p to the client key.
func (r *registry) identify(p *peer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clients.add(p)
	r.byPeer[p] = &peerKeys{topics: map[string]struct{}{}, channels: map[channelKey]struct{}{}}
}

// register handles REGISTER: the channel key (when given) and always the
// topic key. It reports which memberships are new, for the log.
func (r *registry) register(p *peer, topic, channel string) (channelAdded, topicAdded bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := r.byPeer[p]
	if keys == nil {
		// Cannot happen for a live connection (IDENTIFY comes first); keep
		// the index total anyway rather than panic.
		keys = &peerKeys{topics: map[string]struct{}{}, channels: map[channelKey]struct{}{}}
		r.byPeer[p] = keys
	}
	if channel != "" {
		channelAdded = r.channelSet(topic, channel).add(p)
		keys.channels[channelKey{topic, channel}] = struct{}{}
	}
	topicAdded = r.topicSet(topic).add(p)
	keys.topics[topic] = struct{}{}
	return channelAdded, topicAdded
}

// unregister handles UNREGISTER. For a channel it removes p from that channel
// and drops an ephemeral channel key left without producers. For a topic it
// removes p from every channel of the topic (returned, since nsqd is expected
// to have unregistered them first) and from the topic, dropping an ephemeral
// topic key left without producers. Unknown keys are not an error.
func (r *registry) unregister(p *peer, topic, channel string) (unexpected []string, removed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := r.byPeer[p]
	if channel != "" {
		if set, ok := r.channels[topic][channel]; ok {
			var left int
			removed, left = set.remove(p)
			if left == 0 && protocol.IsEphemeral(channel) {
				r.dropChannelKey(topic, channel)
			}
		}
		if keys != nil {
			delete(keys.channels, channelKey{topic, channel})
		}
		return nil, removed
	}
	for name, set := range r.channels[topic] {
		if ok, _ := set.remove(p); ok {
			unexpected = append(unexpected, name)
		}
		if keys != nil {
			delete(keys.channels, channelKey{topic, name})
		}
	}
	if set, ok := r.topics[topic]; ok {
		var left int
		removed, left = set.remove(p)
		if left == 0 && protocol.IsEphemeral(topic) {
			r.dropTopicKey(topic)
		}
	}
	if keys != nil {
		delete(keys.topics, topic)
	}
	sort.Strings(unexpected)
	return unexpected, removed
}

// removePeer drops every membership of p (its connection closed). Keys stay,
// even ephemeral ones, as upstream. It returns how many it removed.
func (r *registry) removePeer(p *peer) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	if keys := r.byPeer[p]; keys != nil {
		for ck := range keys.channels {
			if set, ok := r.channels[ck.topic][ck.channel]; ok {
				if removed, _ := set.remove(p); removed {
					n++
				}
			}
		}
		for t := range keys.topics {
			if set, ok := r.topics[t]; ok {
				if removed, _ := set.remove(p); removed {
					n++
				}
			}
		}
	}
	if removed, _ := r.clients.remove(p); removed {
		n++
	}
	delete(r.byPeer, p)
	return n
}

// topicSet returns the topic key's set, creating the key. Caller holds mu.
func (r *registry) topicSet(topic string) producerSet {
	set, ok := r.topics[topic]
	if !ok {
		set = producerSet{}
		r.topics[topic] = set
	}
	return set
}

// channelSet returns the channel key's set, creating the key. Caller holds mu.
func (r *registry) channelSet(topic, channel string) producerSet {
	byName, ok := r.channels[topic]
	if !ok {
		byName = map[string]producerSet{}
		r.channels[topic] = byName
	}
	set, ok := byName[channel]
	if !ok {
		set = producerSet{}
		byName[channel] = set
	}
	return set
}

// dropTopicKey removes the topic key with its producers and keeps the
// reverse index in step. Caller holds mu.
func (r *registry) dropTopicKey(topic string) {
	for _, pr := range r.topics[topic] {
		if keys := r.byPeer[pr.peer]; keys != nil {
			delete(keys.topics, topic)
		}
	}
	delete(r.topics, topic)
}

// dropChannelKey removes one channel key with its producers. Caller holds mu.
func (r *registry) dropChannelKey(topic, channel string) {
	byName := r.channels[topic]
	for _, pr := range byName[channel] {
		if keys := r.byPeer[pr.peer]; keys != nil {
			delete(keys.channels, channelKey{topic, channel})
		}
	}
	delete(byName, channel)
	if len(byName) == 0 {
		delete(r.channels, topic)
	}
}

// createTopic adds the topic key (POST /topic/create).
func (r *registry) createTopic(topic string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.topicSet(topic)
}

// createChannel adds the channel key and its topic key (POST /channel/create).
func (r *registry) createChannel(topic, channel string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.channelSet(topic, channel)
	r.topicSet(topic)
}

// deleteTopic removes the topic key and every channel key of the topic, with
// their producers (POST /topic/delete). It reports the channels removed.
func (r *registry) deleteTopic(topic string) (channels []string, topicFound bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name := range r.channels[topic] {
		channels = append(channels, name)
	}
	for _, name := range channels {
		r.dropChannelKey(topic, name)
	}
	_, topicFound = r.topics[topic]
	r.dropTopicKey(topic)
	sort.Strings(channels)
	return channels, topicFound
}

// deleteChannel removes one channel key; false if it did not exist.
func (r *registry) deleteChannel(topic, channel string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.channels[topic][channel]; !ok {
		return false
	}
	r.dropChannelKey(topic, channel)
	return true
}

// tombstone marks every producer of the topic whose
// broadcast_address:http_port equals node; it returns how many matched.
func (r *registry) tombstone(topic, node string, now time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, pr := range r.topics[topic] {
		if nodeAddress(pr.peer.info) == node {
			pr.tombstoned = true
			pr.tombstonedAt = now
			n++
		}
	}
	return n
}

// nodeAddress is how /topic/tombstone names a node. It is a plain join, not
// net.JoinHostPort, because upstream compares against exactly this form.
func nodeAddress(info PeerInfo) string {
	return info.BroadcastAddress + ":" + strconv.Itoa(info.HTTPPort)
}

// topicNames lists every topic key, producers or not (GET /topics).
func (r *registry) topicNames() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.topics))
	for name := range r.topics {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// channelNames lists every channel key of topic (GET /channels).
func (r *registry) channelNames(topic string) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.channelNamesLocked(topic)
}

func (r *registry) channelNamesLocked(topic string) []string {
	byName := r.channels[topic]
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// lookup answers GET /lookup: the topic's channels and its producers that
// are active and not tombstoned. found is false when there is no topic key.
func (r *registry) lookup(topic string, now time.Time) (channels []string, producers []PeerInfo, found bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	set, found := r.topics[topic]
	if !found {
		return nil, nil, false
	}
	producers = make([]PeerInfo, 0, len(set))
	for _, pr := range set {
		if pr.peer.active(now, r.inactiveTimeout) && !pr.isTombstoned(now, r.tombstoneLifetime) {
			producers = append(producers, pr.peer.info)
		}
	}
	sort.Slice(producers, func(i, j int) bool { return producers[i].RemoteAddress < producers[j].RemoteAddress })
	return r.channelNamesLocked(topic), producers, true
}

// nodes answers GET /nodes: every active identified peer with the topics it
// registered and their tombstone state. Tombstoned peers are listed.
func (r *registry) nodes(now time.Time) []Node {
	r.mu.RLock()
	defer r.mu.RUnlock()
	nodes := make([]Node, 0, len(r.clients))
	for _, client := range r.clients {
		p := client.peer
		if !p.active(now, r.inactiveTimeout) {
			continue
		}
		node := Node{PeerInfo: p.info, Topics: []string{}, Tombstones: []bool{}}
		if keys := r.byPeer[p]; keys != nil {
			for topic := range keys.topics {
				node.Topics = append(node.Topics, topic)
			}
			sort.Strings(node.Topics)
			for _, topic := range node.Topics {
				pr := r.topics[topic][p.id]
				node.Tombstones = append(node.Tombstones,
					pr != nil && pr.peer == p && pr.isTombstoned(now, r.tombstoneLifetime))
			}
		}
		nodes = append(nodes, node)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].RemoteAddress < nodes[j].RemoteAddress })
	return nodes
}

// debugProducer is one entry of GET /debug. Upstream renders a map, so the
// keys come out sorted; the fields are declared in that order.
type debugProducer struct {
	BroadcastAddress string `json:"broadcast_address"`
	Hostname         string `json:"hostname"`
	HTTPPort         int    `json:"http_port"`
	ID               string `json:"id"`
	LastUpdate       int64  `json:"last_update"`
	TCPPort          int    `json:"tcp_port"`
	Tombstoned       bool   `json:"tombstoned"`
	TombstonedAt     int64  `json:"tombstoned_at"` // Go's zero time when never tombstoned, as upstream
	TopologyRegion   string `json:"topology_region,omitempty"`
	TopologyZone     string `json:"topology_zone,omitempty"`
	Version          string `json:"version"`
}

// debug dumps every key that has producers as "category:key:subkey".
func (r *registry) debug() map[string][]debugProducer {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := map[string][]debugProducer{}
	dump := func(key string, set producerSet) {
		for _, pr := range set {
			info := pr.peer.info
			out[key] = append(out[key], debugProducer{
				BroadcastAddress: info.BroadcastAddress,
				Hostname:         info.Hostname,
				HTTPPort:         info.HTTPPort,
				ID:               pr.peer.id,
				LastUpdate:       pr.peer.lastUpdate.Load(),
				TCPPort:          info.TCPPort,
				Tombstoned:       pr.tombstoned,
				TombstonedAt:     pr.tombstonedAt.UnixNano(),
				TopologyRegion:   info.TopologyRegion,
				TopologyZone:     info.TopologyZone,
				Version:          info.Version,
			})
		}
	}
	dump("client::", r.clients)
	for topic, set := range r.topics {
		dump("topic:"+topic+":", set)
	}
	for topic, byName := range r.channels {
		for name, set := range byName {
			dump("channel:"+topic+":"+name, set)
		}
	}
	return out
}
