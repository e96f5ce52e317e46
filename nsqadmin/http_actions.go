package nsqadmin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"

	"github.com/julienschmidt/httprouter"

	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/internal/protocol"
)

// maxActionBody bounds an action's JSON body; the largest real one is a
// topic and a channel name.
const maxActionBody = 64 << 10

// actionResult is every action's answer, as upstream: {"message":""} or a
// warning naming the nodes that failed.
type actionResult struct {
	Message string `json:"message"`
}

func decodeBody(r *http.Request, into any) error {
	return json.NewDecoder(io.LimitReader(r.Body, maxActionBody)).Decode(into)
}

// createTopicChannelHandler is POST /api/topics {"topic":..,"channel":..}:
// the topic (and channel) is created in every lookupd and the channel on
// every nsqd that has the topic. Without lookupds (upstream then does
// nothing) both are created on every configured nsqd.
func (n *NSQAdmin) createTopicChannelHandler(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	if err := n.requireACLUser(r); err != nil {
		return nil, err
	}
	var body struct {
		Topic   string `json:"topic"`
		Channel string `json:"channel"`
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, httpapi.Errorf(http.StatusBadRequest, err.Error())
	}
	if !protocol.ValidName(body.Topic) {
		return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_TOPIC")
	}
	if body.Channel != "" && !protocol.ValidName(body.Channel) {
		return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_CHANNEL")
	}
	if err := n.requireGrant(r, body.Topic, ""); err != nil {
		return nil, err
	}
	if body.Channel != "" {
		if err := n.requireGrant(r, body.Topic, body.Channel); err != nil {
			return nil, err
		}
	}
	opts := n.getOpts()
	ctx := r.Context()
	var steps collect
	var warn warnings
	topicQuery := url.Values{"topic": {body.Topic}}
	channelQuery := url.Values{"topic": {body.Topic}, "channel": {body.Channel}}
	err := func() error {
		if len(opts.NSQLookupdHTTPAddresses) == 0 {
			if err := steps.add(n.cluster.postEach(ctx, opts.NSQDHTTPAddresses, "/topic/create", topicQuery)); err != nil {
				return err
			}
			if body.Channel != "" {
				return steps.add(n.cluster.postEach(ctx, opts.NSQDHTTPAddresses, "/channel/create", channelQuery))
			}
			return nil
		}
		lookupds := opts.NSQLookupdHTTPAddresses
		if err := steps.add(n.cluster.postEach(ctx, lookupds, "/topic/create", topicQuery)); err != nil {
			return err
		}
		if body.Channel == "" {
			return nil
		}
		if err := steps.add(n.cluster.postEach(ctx, lookupds, "/channel/create", channelQuery)); err != nil {
			return err
		}
		producers, err := n.cluster.lookupdTopicProducers(ctx, body.Topic, lookupds)
		if err := steps.add(err); err != nil {
			return err
		}
		return steps.add(n.cluster.postEach(ctx, httpAddrs(producers), "/channel/create", channelQuery))
	}()
	if err == nil {
		err = steps.result()
	}
	if err := n.check(&warn, err, "create topic/channel"); err != nil {
		return nil, err
	}
	n.notify(r, "create_topic", body.Topic, "", "")
	if body.Channel != "" {
		n.notify(r, "create_channel", body.Topic, body.Channel, "")
	}
	return actionResult{warn.message()}, nil
}

// deleteTopicHandler is DELETE /api/topics/:topic: deleted from every
// lookupd and from every nsqd that has it (found first, since the lookupds
// forget them).
func (n *NSQAdmin) deleteTopicHandler(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
	topic := ps.ByName("topic")
	if err := n.requireACLUser(r); err != nil {
		return nil, err
	}
	if err := n.requireGrant(r, topic, ""); err != nil {
		return nil, err
	}
	err := n.deleteEverywhere(r, topic, url.Values{"topic": {topic}}, "/topic/delete")
	var warn warnings
	if err := n.check(&warn, err, "delete topic"); err != nil {
		return nil, err
	}
	n.notify(r, "delete_topic", topic, "", "")
	return actionResult{warn.message()}, nil
}

// deleteChannelHandler is DELETE /api/topics/:topic/:channel.
func (n *NSQAdmin) deleteChannelHandler(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
	topic, channel := ps.ByName("topic"), ps.ByName("channel")
	if err := n.requireACLUser(r); err != nil {
		return nil, err
	}
	if err := n.requireGrant(r, topic, channel); err != nil {
		return nil, err
	}
	err := n.deleteEverywhere(r, topic, url.Values{"topic": {topic}, "channel": {channel}}, "/channel/delete")
	var warn warnings
	if err := n.check(&warn, err, "delete channel"); err != nil {
		return nil, err
	}
	n.notify(r, "delete_channel", topic, channel, "")
	return actionResult{warn.message()}, nil
}

func (n *NSQAdmin) deleteEverywhere(r *http.Request, topic string, query url.Values, path string) error {
	opts := n.getOpts()
	ctx := r.Context()
	var steps collect
	producers, err := n.cluster.topicProducers(ctx, topic, opts)
	if err := steps.add(err); err != nil {
		return err
	}
	if err := steps.add(n.cluster.postEach(ctx, opts.NSQLookupdHTTPAddresses, path, query)); err != nil {
		return err
	}
	if err := steps.add(n.cluster.postEach(ctx, httpAddrs(producers), path, query)); err != nil {
		return err
	}
	return steps.result()
}

// topicActionHandler is POST /api/topics/:topic {"action":"pause"|"unpause"|"empty"}.
func (n *NSQAdmin) topicActionHandler(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
	return n.topicChannelAction(r, ps.ByName("topic"), "")
}

// channelActionHandler is POST /api/topics/:topic/:channel {"action":...}.
func (n *NSQAdmin) channelActionHandler(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
	return n.topicChannelAction(r, ps.ByName("topic"), ps.ByName("channel"))
}

func (n *NSQAdmin) topicChannelAction(r *http.Request, topic, channel string) (any, error) {
	if err := n.requireACLUser(r); err != nil {
		return nil, err
	}
	var body struct {
		Action string `json:"action"`
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, httpapi.Errorf(http.StatusBadRequest, err.Error())
	}
	switch body.Action {
	case "pause", "unpause", "empty":
	default:
		return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_ACTION")
	}
	if err := n.requireGrant(r, topic, channel); err != nil {
		return nil, err
	}
	kind, query := "topic", url.Values{"topic": {topic}}
	if channel != "" {
		kind = "channel"
		query.Set("channel", channel)
	}
	ctx := r.Context()
	var steps collect
	err := func() error {
		producers, err := n.cluster.topicProducers(ctx, topic, n.getOpts())
		if err := steps.add(err); err != nil {
			return err
		}
		if err := steps.add(n.cluster.postEach(ctx, httpAddrs(producers), "/"+kind+"/"+body.Action, query)); err != nil {
			return err
		}
		return steps.result()
	}()
	var warn warnings
	if err := n.check(&warn, err, body.Action+" "+kind); err != nil {
		return nil, err
	}
	n.notify(r, body.Action+"_"+kind, topic, channel, "")
	return actionResult{warn.message()}, nil
}

// tombstoneNodeForTopicHandler is DELETE /api/nodes/:node {"topic":..}:
// every lookupd tombstones the topic on that nsqd, and the nsqd deletes it.
func (n *NSQAdmin) tombstoneNodeForTopicHandler(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
	node := ps.ByName("node")
	if err := n.requireACLUser(r); err != nil {
		return nil, err
	}
	var body struct {
		Topic string `json:"topic"`
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_BODY")
	}
	if !protocol.ValidName(body.Topic) {
		return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_TOPIC")
	}
	if err := n.requireGrant(r, body.Topic, ""); err != nil {
		return nil, err
	}
	ctx := r.Context()
	opts := n.getOpts()
	var steps collect
	err := func() error {
		query := url.Values{"topic": {body.Topic}, "node": {node}}
		if err := steps.add(n.cluster.postEach(ctx, opts.NSQLookupdHTTPAddresses, "/topic/tombstone", query)); err != nil {
			return err
		}
		producers, err := n.cluster.nsqdProducers(ctx, []string{node}, "")
		if err := steps.add(err); err != nil {
			return err
		}
		if err := steps.add(n.cluster.postEach(ctx, httpAddrs(producers), "/topic/delete", url.Values{"topic": {body.Topic}})); err != nil {
			return err
		}
		return steps.result()
	}()
	var warn warnings
	if err := n.check(&warn, err, "tombstone node for topic"); err != nil {
		return nil, err
	}
	n.notify(r, "tombstone_topic_producer", body.Topic, "", node)
	return actionResult{warn.message()}, nil
}
