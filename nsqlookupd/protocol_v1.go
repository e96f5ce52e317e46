package nsqlookupd

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/protocol"
)

const (
	// maxLineLength bounds one command line. The longest valid one is about
	// 140 bytes; upstream reads lines without limit, which lets one client
	// exhaust memory. A longer line closes the connection without a reply,
	// as nsqd does for an overlong V2 command.
	maxLineLength = 4096
	// maxIdentifyBody bounds the IDENTIFY body (nsqd sends about 120 bytes).
	// Upstream allocates whatever size is announced and crashes on a
	// negative one; we answer both with "failed to read body".
	maxIdentifyBody = 1 << 20
)

var errLineTooLong = fmt.Errorf("command line longer than %d bytes", maxLineLength)

// protocolError is a V1 error reply. Every V1 error is fatal: the reply is
// sent, then the connection is closed.
type protocolError struct {
	code string
	desc string
}

func (e *protocolError) Error() string { return e.code + " " + e.desc }

func invalid(format string, args ...any) error {
	return &protocolError{code: "E_INVALID", desc: fmt.Sprintf(format, args...)}
}

func badBody(desc string) error { return &protocolError{code: "E_BAD_BODY", desc: desc} }

// v1Protocol runs the lookup protocol for one connection at a time. It is
// independent of sockets so the fuzz test can drive it from a byte slice.
type v1Protocol struct {
	reg   *registry
	clock clock.Clock // stamps IDENTIFY and PING (the daemon's Options.Clock)
	// identifyReply is fixed once the listeners are bound, so it is encoded
	// once rather than per IDENTIFY.
	identifyReply []byte
	logf          func(level logging.Level, format string, args ...any)
	commands      commandCounts // for /metrics (metrics.go)
}

// v1Conn is the state of one connection.
type v1Conn struct {
	proto      *v1Protocol
	remoteAddr string
	r          *bufio.Reader
	w          *bufio.Writer
	peer       *peer // nil until IDENTIFY
}

// serve reads commands (what follows the magic) from r and writes replies to
// w until the input ends, an I/O error occurs or a command fails. Whatever
// the peer registered is removed before it returns. It returns nil on a
// clean end of input, the protocol error sent, or the I/O error.
func (p *v1Protocol) serve(r io.Reader, w io.Writer, remoteAddr string) error {
	c := &v1Conn{
		proto:      p,
		remoteAddr: remoteAddr,
		r:          bufio.NewReaderSize(r, maxLineLength),
		w:          bufio.NewWriterSize(w, 4096),
	}
	defer c.cleanup()
	// Replies already buffered still go out when the input ends or fails.
	defer c.w.Flush()
	params := make([][]byte, 0, 4)
	for {
		// Replies to pipelined commands go out together; flush only when
		// the next read could block, so a waiting client gets its answers.
		if err := c.flushIfWouldBlock(1); err != nil {
			return err
		}
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return errLineTooLong
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		params = protocol.SplitParams(bytes.TrimSpace(line), params[:0])
		reply, err := c.exec(params)
		if err != nil {
			var perr *protocolError
			if !errors.As(err, &perr) {
				return err
			}
			p.logf(logging.Error, "[%s] - %s", remoteAddr, err)
			c.reply([]byte(perr.Error()))
			return err
		}
		if err := c.reply(reply); err != nil {
			return err
		}
	}
}

// exec runs one command. The params alias the read buffer and are only
// valid until the next read; names are copied before they are kept.
func (c *v1Conn) exec(params [][]byte) ([]byte, error) {
	c.proto.commands.count(string(params[0]))
	switch string(params[0]) {
	case "PING":
		return c.ping(), nil
	case "IDENTIFY":
		return c.identify()
	case "REGISTER":
		return c.register(params[1:])
	case "UNREGISTER":
		return c.unregister(params[1:])
	}
	return nil, invalid("invalid command %s", params[0])
}

// reply writes one V1 response: a 4-byte big-endian size, then the data,
// with no frame type (unlike V2).
func (c *v1Conn) reply(data []byte) error {
	var size [4]byte
	binary.BigEndian.PutUint32(size[:], uint32(len(data)))
	c.w.Write(size[:])
	_, err := c.w.Write(data)
	return err
}

func (c *v1Conn) flushIfWouldBlock(need int) error {
	if c.r.Buffered() < need && c.w.Buffered() > 0 {
		return c.w.Flush()
	}
	return nil
}

func (c *v1Conn) cleanup() {
	if c.peer == nil {
		return
	}
	n := c.proto.reg.removePeer(c.peer)
	c.proto.logf(logging.Info, "CLIENT(%s): closed, removed %d registrations", c.remoteAddr, n)
}

// ping refreshes the peer's last-update time. A PING before IDENTIFY is
// allowed and only answered.
func (c *v1Conn) ping() []byte {
	if c.peer != nil {
		now := c.proto.clock.Now()
		last := time.Unix(0, c.peer.lastUpdate.Load())
		c.peer.touch(now)
		c.proto.logf(logging.Debug, "CLIENT(%s): pinged (last ping %s)", c.remoteAddr, now.Sub(last))
	}
	return protocol.OK
}

func (c *v1Conn) identify() ([]byte, error) {
	if c.peer != nil {
		return nil, invalid("cannot IDENTIFY again")
	}
	if err := c.flushIfWouldBlock(4); err != nil {
		return nil, err
	}
	var sizeBuf [4]byte
	if _, err := io.ReadFull(c.r, sizeBuf[:]); err != nil {
		return nil, badBody("IDENTIFY failed to read body size")
	}
	size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
	if size < 0 || size > maxIdentifyBody {
		return nil, badBody("IDENTIFY failed to read body")
	}
	if err := c.flushIfWouldBlock(int(size)); err != nil {
		return nil, err
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return nil, badBody("IDENTIFY failed to read body")
	}
	// Decoded into the reply type, remote_address included, so a body
	// that upstream rejects for a mistyped field is rejected here too.
	var info PeerInfo
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, badBody("IDENTIFY failed to decode JSON body")
	}
	info.RemoteAddress = c.remoteAddr
	if info.BroadcastAddress == "" || info.TCPPort == 0 || info.HTTPPort == 0 || info.Version == "" {
		return nil, badBody("IDENTIFY missing fields")
	}
	p := &peer{id: c.remoteAddr, info: info}
	p.touch(c.proto.clock.Now())
	c.peer = p
	c.proto.reg.identify(p)
	c.proto.logf(logging.Info, "CLIENT(%s): IDENTIFY Address:%s TCP:%d HTTP:%d Version:%s",
		c.remoteAddr, info.BroadcastAddress, info.TCPPort, info.HTTPPort, info.Version)
	return c.proto.identifyReply, nil
}

// topicChannel validates REGISTER/UNREGISTER parameters: a topic, and
// optionally a channel ("" means the topic itself). Extra ones are ignored.
func topicChannel(command string, params [][]byte) (string, string, error) {
	if len(params) == 0 {
		return "", "", invalid("%s insufficient number of params", command)
	}
	topic := string(params[0])
	var channel string
	if len(params) >= 2 {
		channel = string(params[1])
	}
	if !protocol.ValidName(topic) {
		return "", "", &protocolError{code: "E_BAD_TOPIC",
			desc: fmt.Sprintf("%s topic name '%s' is not valid", command, topic)}
	}
	if channel != "" && !protocol.ValidName(channel) {
		return "", "", &protocolError{code: "E_BAD_CHANNEL",
			desc: fmt.Sprintf("%s channel name '%s' is not valid", command, channel)}
	}
	return topic, channel, nil
}

func (c *v1Conn) register(params [][]byte) ([]byte, error) {
	if c.peer == nil {
		return nil, invalid("client must IDENTIFY")
	}
	topic, channel, err := topicChannel("REGISTER", params)
	if err != nil {
		return nil, err
	}
	channelAdded, topicAdded := c.proto.reg.register(c.peer, topic, channel)
	if channelAdded {
		c.proto.logf(logging.Info, "DB: client(%s) REGISTER category:channel key:%s subkey:%s", c.remoteAddr, topic, channel)
	}
	if topicAdded {
		c.proto.logf(logging.Info, "DB: client(%s) REGISTER category:topic key:%s subkey:", c.remoteAddr, topic)
	}
	return protocol.OK, nil
}

func (c *v1Conn) unregister(params [][]byte) ([]byte, error) {
	if c.peer == nil {
		return nil, invalid("client must IDENTIFY")
	}
	topic, channel, err := topicChannel("UNREGISTER", params)
	if err != nil {
		return nil, err
	}
	unexpected, removed := c.proto.reg.unregister(c.peer, topic, channel)
	for _, name := range unexpected {
		c.proto.logf(logging.Warn, "client(%s) unexpected UNREGISTER category:channel key:%s subkey:%s", c.remoteAddr, topic, name)
	}
	if removed {
		if channel != "" {
			c.proto.logf(logging.Info, "DB: client(%s) UNREGISTER category:channel key:%s subkey:%s", c.remoteAddr, topic, channel)
		} else {
			c.proto.logf(logging.Info, "DB: client(%s) UNREGISTER category:topic key:%s subkey:", c.remoteAddr, topic)
		}
	}
	return protocol.OK, nil
}
