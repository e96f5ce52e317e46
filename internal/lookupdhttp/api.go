package lookupdhttp

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
)

// Node is an nsqd as nsqlookupd lists it: a producer in /lookup and
// /nodes answers.
type Node struct {
	RemoteAddress    string   `json:"remote_address"`
	Hostname         string   `json:"hostname"`
	BroadcastAddress string   `json:"broadcast_address"`
	TCPPort          int      `json:"tcp_port"`
	HTTPPort         int      `json:"http_port"`
	Version          string   `json:"version"`
	Topics           []string `json:"topics,omitempty"`     // /nodes only
	Tombstones       []bool   `json:"tombstones,omitempty"` // /nodes only
}

// TCPAddress is where clients connect: broadcast_address:tcp_port.
func (n Node) TCPAddress() string {
	return net.JoinHostPort(n.BroadcastAddress, strconv.Itoa(n.TCPPort))
}

// HTTPAddress is the nsqd's HTTP API: broadcast_address:http_port.
func (n Node) HTTPAddress() string {
	return net.JoinHostPort(n.BroadcastAddress, strconv.Itoa(n.HTTPPort))
}

// Lookup is GET /lookup?topic=: the nsqds that have the topic. A topic the
// lookupd does not know is a *StatusError with Code 404 (nsqadmin counts
// it as that lookupd failing, as upstream nsqadmin does).
func (c *Client) Lookup(ctx context.Context, addr, topic string) ([]Node, error) {
	var answer struct {
		Producers []Node `json:"producers"`
	}
	if err := c.get(ctx, addr, "/lookup", url.Values{"topic": {topic}}, &answer); err != nil {
		return nil, err
	}
	return answer.Producers, nil
}

// Producers is Lookup for a consumer: a topic the lookupd does not know
// (404 TOPIC_NOT_FOUND) has no producers.
func (c *Client) Producers(ctx context.Context, addr, topic string) ([]Node, error) {
	nodes, err := c.Lookup(ctx, addr, topic)
	var status *StatusError
	if errors.As(err, &status) && status.Code == http.StatusNotFound {
		return nil, nil
	}
	return nodes, err
}

// Topics is GET /topics: every topic the lookupd knows.
func (c *Client) Topics(ctx context.Context, addr string) ([]string, error) {
	var answer struct {
		Topics []string `json:"topics"`
	}
	if err := c.get(ctx, addr, "/topics", nil, &answer); err != nil {
		return nil, err
	}
	return answer.Topics, nil
}

// Channels is GET /channels?topic=: the topic's channels.
func (c *Client) Channels(ctx context.Context, addr, topic string) ([]string, error) {
	var answer struct {
		Channels []string `json:"channels"`
	}
	if err := c.get(ctx, addr, "/channels", url.Values{"topic": {topic}}, &answer); err != nil {
		return nil, err
	}
	return answer.Channels, nil
}

// Nodes is GET /nodes: every active nsqd with its topics.
func (c *Client) Nodes(ctx context.Context, addr string) ([]Node, error) {
	var answer struct {
		Producers []Node `json:"producers"`
	}
	if err := c.get(ctx, addr, "/nodes", nil, &answer); err != nil {
		return nil, err
	}
	return answer.Producers, nil
}
