package nsqadmin

import (
	"fmt"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/nsqgo/nsq/internal/httpapi"
)

// topicsHandler is GET /api/topics: {"topics":[names],"message":...}.
// With ?inactive=true (lookupd mode only) it is instead a map of the
// topics no nsqd produces to their channels, as upstream.
func (n *NSQAdmin) topicsHandler(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	query, err := httpapi.Query(r)
	if err != nil {
		return nil, err
	}
	opts := n.getOpts()
	var warn warnings
	topics, err := n.cluster.topics(r.Context(), opts)
	if err := n.check(&warn, err, "get topics"); err != nil {
		return nil, err
	}
	if query.Get("inactive") == "true" {
		inactive := map[string][]string{}
		if len(opts.NSQLookupdHTTPAddresses) > 0 {
			for _, topic := range topics {
				producers, _ := n.cluster.lookupdTopicProducers(r.Context(), topic, opts.NSQLookupdHTTPAddresses)
				if len(producers) == 0 {
					channels, _ := n.cluster.lookupdTopicChannels(r.Context(), topic, opts.NSQLookupdHTTPAddresses)
					inactive[topic] = channels
				}
			}
		}
		return struct {
			Topics  map[string][]string `json:"topics"`
			Message string              `json:"message"`
		}{inactive, warn.message()}, nil
	}
	return struct {
		Topics  []string `json:"topics"`
		Message string   `json:"message"`
	}{topics, warn.message()}, nil
}

// topicHandler is GET /api/topics/:topic: the topic summed over every
// nsqd that has it, with each node's figures in "nodes" and each channel
// summed in "channels".
func (n *NSQAdmin) topicHandler(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
	topic := ps.ByName("topic")
	opts := n.getOpts()
	var warn warnings
	producers, err := n.cluster.topicProducers(r.Context(), topic, opts)
	if err := n.check(&warn, err, "get topic producers"); err != nil {
		return nil, err
	}
	nodes, err := n.cluster.nodeStats(r.Context(), producers, topic, "", false)
	if err := n.check(&warn, err, "get topic metadata"); err != nil {
		return nil, err
	}
	agg := newTopicAggregate(topic)
	for _, t := range nodes {
		agg.add(t)
	}
	return struct {
		*TopicStats
		Message string `json:"message"`
	}{agg, warn.message()}, nil
}

// channelHandler is GET /api/topics/:topic/:channel: the channel summed
// over nodes, with clients. A channel no nsqd has answers only
// {"message":...}, as upstream.
func (n *NSQAdmin) channelHandler(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
	topic, channel := ps.ByName("topic"), ps.ByName("channel")
	opts := n.getOpts()
	var warn warnings
	producers, err := n.cluster.topicProducers(r.Context(), topic, opts)
	if err := n.check(&warn, err, "get topic producers"); err != nil {
		return nil, err
	}
	nodes, err := n.cluster.nodeStats(r.Context(), producers, topic, channel, true)
	if err := n.check(&warn, err, "get channel metadata"); err != nil {
		return nil, err
	}
	var agg *ChannelStats
	for _, t := range nodes {
		for _, c := range t.Channels {
			if c.ChannelName != channel {
				continue
			}
			if agg == nil {
				agg = newChannelAggregate(topic, channel)
			}
			agg.add(c)
		}
	}
	return struct {
		*ChannelStats
		Message string `json:"message"`
	}{agg, warn.message()}, nil
}

// nodesHandler is GET /api/nodes: every nsqd.
func (n *NSQAdmin) nodesHandler(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	var warn warnings
	producers, err := n.cluster.producers(r.Context(), n.getOpts())
	if err := n.check(&warn, err, "get nodes"); err != nil {
		return nil, err
	}
	return struct {
		Nodes   []*Producer `json:"nodes"`
		Message string      `json:"message"`
	}{producers, warn.message()}, nil
}

// nodeHandler is GET /api/nodes/:node, node being an nsqd's HTTP address
// (broadcast_address:http_port): its topics with channels and clients.
func (n *NSQAdmin) nodeHandler(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
	node := ps.ByName("node")
	var warn warnings
	producers, err := n.cluster.producers(r.Context(), n.getOpts())
	if err := n.check(&warn, err, "get producers"); err != nil {
		return nil, err
	}
	var producer *Producer
	for _, p := range producers {
		if p.HTTPAddress() == node {
			producer = p
			break
		}
	}
	if producer == nil {
		return nil, httpapi.Errorf(http.StatusNotFound, "NODE_NOT_FOUND")
	}
	topics, err := n.cluster.nodeStats(r.Context(), []*Producer{producer}, "", "", true)
	if err != nil {
		return nil, httpapi.Errorf(http.StatusBadGateway, fmt.Sprintf("UPSTREAM_ERROR: %s", err))
	}
	var totalClients, totalMessages int64
	for _, t := range topics {
		for _, c := range t.Channels {
			totalClients += int64(len(c.Clients))
		}
		totalMessages += t.MessageCount
	}
	return struct {
		Node          string        `json:"node"`
		TopicStats    []*TopicStats `json:"topics"`
		TotalMessages int64         `json:"total_messages"`
		TotalClients  int64         `json:"total_clients"`
		Message       string        `json:"message"`
	}{node, nonNil(topics), totalMessages, totalClients, warn.message()}, nil
}

// counterStats is one channel on one node in /api/counter.
type counterStats struct {
	Node         string `json:"node"`
	TopicName    string `json:"topic_name"`
	ChannelName  string `json:"channel_name"`
	MessageCount int64  `json:"message_count"`
}

// counterHandler is GET /api/counter: every channel's message count on
// every node, keyed "topic:channel:node".
func (n *NSQAdmin) counterHandler(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	var warn warnings
	producers, err := n.cluster.producers(r.Context(), n.getOpts())
	if err := n.check(&warn, err, "get counter producer list"); err != nil {
		return nil, err
	}
	topics, err := n.cluster.nodeStats(r.Context(), producers, "", "", false)
	if err := n.check(&warn, err, "get nsqd stats"); err != nil {
		return nil, err
	}
	stats := map[string]*counterStats{}
	for _, t := range topics {
		for _, c := range t.Channels {
			key := t.TopicName + ":" + c.ChannelName + ":" + c.Node
			s, ok := stats[key]
			if !ok {
				s = &counterStats{Node: c.Node, TopicName: t.TopicName, ChannelName: c.ChannelName}
				stats[key] = s
			}
			s.MessageCount += c.MessageCount
		}
	}
	return struct {
		Stats   map[string]*counterStats `json:"stats"`
		Message string                   `json:"message"`
	}{stats, warn.message()}, nil
}
