package nsqd

import (
	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/nsqgo/nsq/nsqd/connlayer"
)

// upgrades are the connection changes an IDENTIFY negotiated.
type upgrades struct {
	tls          bool
	snappy       bool
	deflate      bool
	deflateLevel int
}

func (u upgrades) any() bool { return u.tls || u.snappy || u.deflate }

// negotiateUpgrades decides what IDENTIFY turns on: what the daemon offers
// and the client asks for, as upstream decides it. Layers the connection
// already has (a repeated IDENTIFY) are answered as not negotiated now, so
// the client keeps using the stream it has rather than stacking another.
func (s *v2Session) negotiateUpgrades(req *identifyRequest, deflateLevel int) (upgrades, error) {
	opts := s.n.opts
	up := upgrades{
		tls:          s.n.tls.server != nil && req.TLSv1,
		snappy:       opts.SnappyEnabled && req.Snappy,
		deflate:      opts.DeflateEnabled && req.Deflate,
		deflateLevel: deflateLevel,
	}
	if up.snappy && up.deflate {
		return up, fatalErr("E_IDENTIFY_FAILED", "cannot enable both deflate and snappy compression")
	}
	if s.c.tlsState.Load() != nil {
		up.tls = false
	}
	if s.c.snappy.Load() || s.c.deflate.Load() {
		up.snappy, up.deflate = false, false
	}
	return up, nil
}

// upgrade sends the IDENTIFY reply in the clear and then performs the
// negotiated upgrades in upstream's order, each confirmed by an OK frame in
// the new encoding: TLS first, then snappy or deflate on top of it.
//
// It holds writeMu throughout, so no heartbeat or message from the pump
// can slip between the reply and the switch or into the handshake. The
// reader side switches here too, in the reader goroutine, right after the
// reply is written: the client's next bytes are in the new encoding.
func (s *v2Session) upgrade(reply []byte, up upgrades) error {
	c := s.c
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.sendFlushedLocked(reply); err != nil {
		return fatalErr("E_IDENTIFY_FAILED", "IDENTIFY failed %s", err)
	}
	if up.tls {
		if err := c.upgradeTLS(s.n.tls.server); err != nil {
			s.n.logf(warnLevel, "PROTOCOL(V2): [%s] TLS handshake failed: %s", c.remoteAddr, err)
			return fatalErr("E_IDENTIFY_FAILED", "IDENTIFY failed %s", err)
		}
		s.tlsPending = false
		if err := c.sendFlushedLocked(protocol.OK); err != nil {
			return fatalErr("E_IDENTIFY_FAILED", "IDENTIFY failed %s", err)
		}
	}
	var comp connlayer.Compression
	switch {
	case up.snappy:
		comp = connlayer.Snappy()
	case up.deflate:
		comp = connlayer.Deflate(up.deflateLevel)
	default:
		return nil
	}
	if err := c.upgradeCompression(comp); err != nil {
		return fatalErr("E_IDENTIFY_FAILED", "IDENTIFY failed %s", err)
	}
	if err := c.sendFlushedLocked(protocol.OK); err != nil {
		return fatalErr("E_IDENTIFY_FAILED", "IDENTIFY failed %s", err)
	}
	return nil
}

// sendFlushedLocked writes a response frame and flushes it through every
// layer. writeMu held.
func (c *client) sendFlushedLocked(data []byte) error {
	buf := protocol.AppendFrame(c.writer.AvailableBuffer(), protocol.FrameTypeResponse, data)
	if _, err := c.writer.Write(buf); err != nil {
		return err
	}
	return c.flushLocked()
}

// takeBuffered copies what the reader has buffered but the protocol has
// not consumed: at a layer switch these bytes belong to the new layer. The
// caller then resets the reader onto that layer, which drops them there.
func (c *client) takeBuffered() []byte {
	n := c.reader.Buffered()
	if n == 0 {
		return nil
	}
	buffered, _ := c.reader.Peek(n)
	return append([]byte(nil), buffered...)
}
