package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/nsqgo/nsq/internal/protocol"
)

const (
	// maxBodySize bounds --size and an IDENTIFY body; maxPublishSize a
	// PUB or MPUB body (nsqd's default --max-body-size). Both are read and
	// discarded, never held.
	maxBodySize    = 1 << 20
	maxPublishSize = 5 << 20
	// writeBytes is how much one write carries at most: a bench reader
	// with RDY 2500 has credit for far more.
	writeBytes = 64 << 10
	// maxRDY is nsqd's default --max-rdy-count.
	maxRDY = 2500
)

// server accepts consumer connections and owns their goroutines.
type server struct {
	ln    net.Listener
	frame []byte // one message frame; its ID is rewritten per message
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func newServer(ln net.Listener, size int) *server {
	var id protocol.MessageID
	return &server{
		ln:    ln,
		frame: protocol.AppendMessageFrame(nil, 0, 1, &id, make([]byte, size)),
		conns: map[net.Conn]struct{}{},
	}
}

// serve accepts until close.
func (s *server) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.session(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// close stops accepting, closes every connection and waits for their
// goroutines.
func (s *server) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// credit is a connection's RDY count and how many of its messages are in
// flight; kick wakes the writer when either changes.
type credit struct {
	rdy, inFlight atomic.Int64
	kick          chan struct{}
}

func (c *credit) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// session reads commands on its own goroutine and streams messages from
// this one until the connection ends.
func (s *server) session(c net.Conn) {
	defer c.Close()
	cr := &credit{kick: make(chan struct{}, 1)}
	var wmu sync.Mutex // responses and message writes do not interleave
	done := make(chan error, 1)
	go func() {
		done <- readCommands(bufio.NewReader(c), cr, func(frameType int32, data []byte) error {
			wmu.Lock()
			defer wmu.Unlock()
			return protocol.WriteFrame(c, frameType, data)
		})
		cr.wake()
	}()
	buf := make([]byte, 0, writeBytes+len(s.frame))
	var sent uint64
	for {
		select {
		case <-done:
			return
		case <-cr.kick:
		}
		for {
			buf = buf[:0]
			for len(buf) < writeBytes && cr.inFlight.Load() < cr.rdy.Load() {
				start := len(buf)
				buf = append(buf, s.frame...)
				sent++
				// A unique ID per message, in hex digits like nsqd's.
				idAt := start + protocol.FrameHead + 10
				protocol.FormatID(sent, (*protocol.MessageID)(buf[idAt:idAt+protocol.MsgIDLength]))
				cr.inFlight.Add(1)
			}
			if len(buf) == 0 {
				break
			}
			wmu.Lock()
			_, err := c.Write(buf)
			wmu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

// errInvalid ends a session after an E_INVALID answer.
var errInvalid = errors.New("invalid command")

// readCommands reads a V2 session's commands from r until it ends or
// fails: the magic, then IDENTIFY (its body read and discarded, at most
// maxBodySize), SUB, RDY, FIN, NOP and CLS, and PUB and MPUB, whose bodies
// (at most maxPublishSize) are read, discarded and answered OK: a
// publisher's ceiling. Anything else is answered E_INVALID and ends the
// session. respond writes a frame to the client.
func readCommands(r *bufio.Reader, cr *credit, respond func(int32, []byte) error) error {
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return err
	}
	if string(magic[:]) != protocol.MagicV2 {
		respond(protocol.FrameTypeError, []byte("E_BAD_PROTOCOL bad protocol magic"))
		return errInvalid
	}
	params := make([][]byte, 0, 4)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				respond(protocol.FrameTypeError, []byte("E_INVALID command line too long"))
				return errInvalid
			}
			return err
		}
		params = protocol.SplitParams(protocol.TrimLine(line), params[:0])
		if len(params) == 0 {
			continue
		}
		switch cmd := params[0]; {
		case bytes.Equal(cmd, []byte("FIN")):
			if cr.inFlight.Add(-1) < 0 {
				cr.inFlight.Add(1)
				respond(protocol.FrameTypeError, []byte("E_FIN_FAILED nothing in flight"))
				continue
			}
			cr.wake()
		case bytes.Equal(cmd, []byte("RDY")):
			n, ok := int64(-1), false
			if len(params) == 2 {
				n, ok = protocol.ParseDigits(params[1])
			}
			if !ok || n > maxRDY {
				respond(protocol.FrameTypeError, []byte("E_INVALID RDY count out of range"))
				return errInvalid
			}
			cr.rdy.Store(n)
			cr.wake()
		case bytes.Equal(cmd, []byte("IDENTIFY")), bytes.Equal(cmd, []byte("PUB")), bytes.Equal(cmd, []byte("MPUB")):
			limit := uint32(maxPublishSize)
			if bytes.Equal(cmd, []byte("IDENTIFY")) {
				limit = maxBodySize
			}
			var size [4]byte
			if _, err := io.ReadFull(r, size[:]); err != nil {
				return err
			}
			n := binary.BigEndian.Uint32(size[:])
			if n > limit {
				respond(protocol.FrameTypeError, []byte(fmt.Sprintf("E_BAD_BODY %s body too big %d", cmd, n)))
				return errInvalid
			}
			if _, err := r.Discard(int(n)); err != nil {
				return err
			}
			if err := respond(protocol.FrameTypeResponse, protocol.OK); err != nil {
				return err
			}
		case bytes.Equal(cmd, []byte("SUB")):
			if err := respond(protocol.FrameTypeResponse, protocol.OK); err != nil {
				return err
			}
		case bytes.Equal(cmd, []byte("NOP")):
		case bytes.Equal(cmd, []byte("CLS")):
			cr.rdy.Store(0)
			if err := respond(protocol.FrameTypeResponse, protocol.CloseWait); err != nil {
				return err
			}
		default:
			respond(protocol.FrameTypeError, []byte(fmt.Sprintf("E_INVALID invalid command %q", cmd)))
			return errInvalid
		}
	}
}
