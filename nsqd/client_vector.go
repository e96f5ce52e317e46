package nsqd

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"slices"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
)

// Big message bodies go to the socket as they are. A delivery batch's
// frames whose bodies are vectorMinBody or larger are not copied into the
// output buffer: their headers are encoded into frameVector.heads and the
// frames are handed to the kernel as (header, body) pairs in one vectored
// write (writev) of up to vectorMaxBytes, instead of each body being split
// into a copy that fills the output buffer, a flush and a direct write of
// the rest (two system calls and a 16 KB copy per 64 KB message). Only a
// plain connection does this: TLS and compression need the bytes
// themselves.

const (
	// vectorMinBody is the smallest body written by reference.
	vectorMinBody = 8 << 10
	// vectorMaxBytes bounds one vectored write, which gets one write
	// deadline (a heartbeat interval from when it must wait, as every
	// write): a quarter of
	// what one write of upstream's covers for a message of the default
	// --max-msg-size (it writes a big body with one call), so a slow
	// consumer is not cut off sooner than there.
	vectorMaxBytes = 256 << 10
	// vectorMaxFrames is how many frames one vectored write holds at most.
	vectorMaxFrames = vectorMaxBytes / vectorMinBody
)

// frameVector is a client's pending vectored write. Under writeMu; empty
// outside writeBatchLocked.
type frameVector struct {
	// heads holds the pending frames' headers: allocated at the client's
	// first big frame, reused after.
	heads *[vectorMaxFrames][protocol.FrameHead + protocol.MessageHeaderLength]byte
	// bufs is the pending write: header, body, header, body...; backing
	// keeps its array, since a write consumes bufs.
	bufs    net.Buffers
	backing [][]byte
	bytes   int
	// sys is the plain socket's writev without waiting
	// (client_vector_linux.go): allocated at the client's first vectored
	// write to a socket.
	sys *vectorIO
}

// vectoredLocked reports whether frames may go to the socket as vectors:
// the socket is the transport and nothing compresses. writeMu held.
func (c *client) vectoredLocked() bool {
	return c.compressor == nil && c.transport == c.conn
}

// writeBatchLocked writes a delivery batch's frames in order: small ones
// into the output buffer, big ones by reference in vectored writes.
// writeMu held.
func (c *client) writeBatchLocked(batch []Message) error {
	if whole, err := c.writeWholeBatchLocked(batch); whole {
		return err
	}
	vectored := c.vectoredLocked()
	v := &c.vector
	for i := range batch {
		m := &batch[i]
		if !vectored || len(m.Body) < vectorMinBody {
			if len(v.bufs) > 0 {
				if err := c.writeVectorLocked(); err != nil {
					return err
				}
			}
			if err := c.writeMessageLocked(m); err != nil {
				return err
			}
			continue
		}
		if len(v.bufs) == 0 {
			// What the output buffer holds goes first.
			if err := c.writer.Flush(); err != nil {
				return err
			}
			if v.heads == nil {
				v.heads = new([vectorMaxFrames][protocol.FrameHead + protocol.MessageHeaderLength]byte)
				v.backing = make([][]byte, 0, 2*vectorMaxFrames)
			}
			v.bufs = v.backing[:0]
		}
		head := v.heads[len(v.bufs)/2][:0]
		head = binary.BigEndian.AppendUint32(head, uint32(4+protocol.MessageHeaderLength+len(m.Body)))
		head = binary.BigEndian.AppendUint32(head, uint32(protocol.FrameTypeMessage))
		head = protocol.AppendMessage(head, m.Timestamp, m.Attempts, &m.ID, nil)
		v.bufs = append(v.bufs, head, m.Body)
		v.bytes += len(head) + len(m.Body)
		if v.bytes >= vectorMaxBytes || len(v.bufs) == 2*vectorMaxFrames {
			if err := c.writeVectorLocked(); err != nil {
				return err
			}
		}
	}
	if len(v.bufs) > 0 {
		return c.writeVectorLocked()
	}
	return nil
}

// writeVectorLocked writes the pending frames in one vectored write (net
// falls back to one write per piece where the socket has no writev) and
// forgets the bodies. A plain socket gets its write deadline only when the
// write must wait (writevSocketLocked); any other connection gets it first,
// as deadlineConn.Write gives it. writeMu held.
func (c *client) writeVectorLocked() error {
	v := &c.vector
	pieces := len(v.bufs)
	var err error
	if c.socket != nil {
		err = c.writevSocketLocked()
	} else {
		c.deadlined.armWrite()
		_, err = v.bufs.WriteTo(c.conn)
	}
	clear(v.backing[:pieces])
	v.bufs = nil
	v.bytes = 0
	return err
}

// writevSocketLocked is deadlineConn.writeSocket (client_conn.go) for a
// vectored write: what the socket takes at once goes with no deadline set
// (setting one costs time.Now and a runtime timer update, and a write that
// does not wait completes whatever it is), and the rest, if any, waits
// under a deadline a heartbeat interval from then. A deadline already past
// on the socket fails the first try before it writes anything: it is
// cleared and the write tried again, as writeSocket does. writeMu held.
func (c *client) writevSocketLocked() error {
	v := &c.vector
	n, err := c.writevNow()
	if err != nil && n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		c.conn.SetWriteDeadline(time.Time{})
		_, err = c.writevNow()
	}
	if err != nil || len(v.bufs) == 0 {
		return err
	}
	c.deadlined.armWrite()
	_, err = v.bufs.WriteTo(c.conn)
	return err
}

// A delivery batch of small frames larger than the whole output buffer is
// encoded whole into a buffer the daemon's pumps share (NSQD.batchFrames)
// and handed to the output buffer in one Write, which sends it with one
// socket write when the buffer is empty (bufio writes a large Write
// straight through; behind buffered bytes, one write fills and flushes the
// buffer and one more sends the rest), instead of one write per 16 KB of
// output buffer. On loopback each socket write also wakes the consumer, and
// on a virtual machine that wake-up costs more than copying the 16 KB: a
// batch of 256 messages of 200 bytes goes in one write instead of four. A
// batch no larger than the buffer saves no write this way (only an extra
// copy), so it takes the buffer's path, as do the batches of a consumer
// at a low RDY.
//
// wholeBatchMax bounds a batch encoded whole (and so the shared buffers):
// a larger one goes through the output buffer.
const wholeBatchMax = 128 << 10

// writeWholeBatchLocked writes batch in one Write when it qualifies, and
// reports whether it did. writeMu held.
func (c *client) writeWholeBatchLocked(batch []Message) (bool, error) {
	total := 0
	for i := range batch {
		size := len(batch[i].Body)
		if size >= vectorMinBody {
			return false, nil // big frames have their own path
		}
		total += protocol.FrameHead + protocol.MessageHeaderLength + size
	}
	if total <= c.writer.Size() || total > wholeBatchMax {
		return false, nil
	}
	box, _ := c.nsqd.batchFrames.Get().(*[]byte)
	if box == nil {
		box = new([]byte)
	}
	buf := slices.Grow((*box)[:0], total)
	for i := range batch {
		m := &batch[i]
		buf = protocol.AppendMessageFrame(buf, m.Timestamp, m.Attempts, &m.ID, m.Body)
	}
	_, err := c.writer.Write(buf)
	*box = buf[:0]
	c.nsqd.batchFrames.Put(box)
	return true, err
}
