package lookupclient

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/nsqgo/nsq/internal/protocol"
)

// command is one REGISTER, UNREGISTER or PING line. An empty channel is left
// out, as go-nsq's command builders (and so upstream nsqd) do.
type command struct {
	verb    string
	topic   string
	channel string
}

var pingCommand = command{verb: "PING"}

func (c command) appendTo(buf []byte) []byte {
	buf = append(buf, c.verb...)
	if c.topic != "" {
		buf = append(buf, ' ')
		buf = append(buf, c.topic...)
	}
	if c.channel != "" {
		buf = append(buf, ' ')
		buf = append(buf, c.channel...)
	}
	return append(buf, '\n')
}

func (c command) String() string { return strings.TrimSuffix(string(c.appendTo(nil)), "\n") }

// identifyBody is nsqd's IDENTIFY. Upstream sends a map, so the keys are
// sorted; the fields are declared in that order.
type identifyBody struct {
	BroadcastAddress string `json:"broadcast_address"`
	Hostname         string `json:"hostname"`
	HTTPPort         int    `json:"http_port"`
	TCPPort          int    `json:"tcp_port"`
	// upstream master (topology-aware consumption) always sends these;
	// we send them when set, so that an nsqd without a topology speaks
	// 1.3's exact bytes (a lookupd reads absent as empty either way).
	TopologyRegion string `json:"topology_region,omitempty"`
	TopologyZone   string `json:"topology_zone,omitempty"`
	Version        string `json:"version"`
}

// appendHello appends what opens a session: the V1 magic and IDENTIFY.
func appendHello(buf []byte, id Identity) ([]byte, error) {
	body, err := json.Marshal(identifyBody{
		BroadcastAddress: id.BroadcastAddress,
		Hostname:         id.Hostname,
		HTTPPort:         id.HTTPPort,
		TCPPort:          id.TCPPort,
		Version:          id.Version,
		TopologyZone:     id.TopologyZone,
		TopologyRegion:   id.TopologyRegion,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding IDENTIFY - %w", err)
	}
	buf = append(buf, protocol.MagicV1...)
	buf = append(buf, "IDENTIFY\n"...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(body)))
	return append(buf, body...), nil
}

// readResponse reads one V1 reply (4-byte big-endian size, then data),
// refusing sizes above limit before allocating.
func readResponse(r io.Reader, limit int64) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := int64(binary.BigEndian.Uint32(size[:]))
	if n > limit {
		return nil, fmt.Errorf("response body size (%d) is greater than limit (%d)", n, limit)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return data, nil
}

// lookupdInfo is a lookupd's IDENTIFY reply.
type lookupdInfo struct {
	TCPPort          int    `json:"tcp_port"`
	HTTPPort         int    `json:"http_port"`
	Version          string `json:"version"`
	BroadcastAddress string `json:"broadcast_address"`
	Hostname         string `json:"hostname"`
}

// httpAddress is where the lookupd's HTTP API is, or "" if it did not say.
func (i lookupdInfo) httpAddress() string {
	if i.BroadcastAddress == "" || i.HTTPPort <= 0 {
		return ""
	}
	return net.JoinHostPort(i.BroadcastAddress, strconv.Itoa(i.HTTPPort))
}

// parseIdentifyReply decodes the IDENTIFY reply. Like upstream nsqd, any
// reply that is not JSON (E_INVALID, E_BAD_BODY ...) fails the session.
func parseIdentifyReply(reply []byte) (lookupdInfo, error) {
	var info lookupdInfo
	if strings.HasPrefix(string(reply), "E_") {
		return info, fmt.Errorf("IDENTIFY refused: %s", reply)
	}
	if err := json.Unmarshal(reply, &info); err != nil {
		return info, fmt.Errorf("parsing IDENTIFY response %q - %w", reply, err)
	}
	return info, nil
}
