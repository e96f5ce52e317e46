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
	// maxChannels bounds how many topic/channel pairs a server keeps a
	// message sequence for: the names come from clients.
	maxChannels = 4096
)

// channels holds one message sequence per topic/channel pair, as nsqd's
// channels are: a channel hands each of its messages to one of its
// consumers, and every channel of a topic gets every message. Here the
// n-th message of a channel has ID n, so consumers of one channel share
// its sequence (never the same ID twice) while each channel of a topic
// sees the same IDs from 1 up (a fan-out delivers every message to each).
type channels struct {
	mu  sync.Mutex
	seq map[string]*atomic.Uint64
}

func newChannels() *channels { return &channels{seq: map[string]*atomic.Uint64{}} }

// of returns the sequence of topic/channel, nil when maxChannels are
// already known and this is a new one.
func (cs *channels) of(topic, channel []byte) *atomic.Uint64 {
	key := string(topic) + "/" + string(channel)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	seq, ok := cs.seq[key]
	if !ok {
		if len(cs.seq) >= maxChannels {
			return nil
		}
		seq = new(atomic.Uint64)
		cs.seq[key] = seq
	}
	return seq
}

// server accepts consumer connections and owns their goroutines.
type server struct {
	ln       net.Listener
	frame    []byte // one message frame; its ID is rewritten per message
	channels *channels
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
}

func newServer(ln net.Listener, size int) *server {
	var id protocol.MessageID
	return &server{
		ln:       ln,
		frame:    protocol.AppendMessageFrame(nil, 0, 1, &id, make([]byte, size)),
		channels: newChannels(),
		conns:    map[net.Conn]struct{}{},
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

// credit is a connection's RDY count, how many of its messages are in
// flight and the sequence of the channel it subscribed to (nil before
// SUB: nothing is sent); kick wakes the writer when any changes.
type credit struct {
	rdy, inFlight atomic.Int64
	seq           atomic.Pointer[atomic.Uint64]
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
		done <- readCommands(bufio.NewReader(c), cr, s.channels, func(frameType int32, data []byte) error {
			wmu.Lock()
			defer wmu.Unlock()
			return protocol.WriteFrame(c, frameType, data)
		})
		cr.wake()
	}()
	// Messages per write: as many as fit writeBytes, at least one.
	perWrite := max(1, int64(writeBytes/len(s.frame)))
	buf := make([]byte, 0, perWrite*int64(len(s.frame)))
	for {
		select {
		case <-done:
			return
		case <-cr.kick:
		}
		for {
			seq := cr.seq.Load()
			n := min(cr.rdy.Load()-cr.inFlight.Load(), perWrite)
			if seq == nil || n <= 0 {
				break
			}
			// This connection's share of its channel's messages: IDs
			// first+1 .. first+n, in nsqd's hex digits.
			first := seq.Add(uint64(n)) - uint64(n)
			buf = buf[:0]
			for i := range uint64(n) {
				start := len(buf)
				buf = append(buf, s.frame...)
				idAt := start + protocol.FrameHead + 10
				protocol.FormatID(first+i+1, (*protocol.MessageID)(buf[idAt:idAt+protocol.MsgIDLength]))
			}
			cr.inFlight.Add(n)
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
// maxBodySize), SUB <topic> <channel> (the connection then takes its
// messages from that channel's sequence in chans), RDY, FIN, NOP and CLS,
// and PUB and MPUB, whose bodies (at most maxPublishSize) are read,
// discarded and answered OK: a publisher's ceiling. Anything else is
// answered E_INVALID and ends the session. respond writes a frame to the
// client.
func readCommands(r *bufio.Reader, cr *credit, chans *channels, respond func(int32, []byte) error) error {
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
			if len(params) != 3 {
				respond(protocol.FrameTypeError, []byte("E_INVALID SUB insufficient number of parameters"))
				return errInvalid
			}
			seq := chans.of(params[1], params[2])
			if seq == nil {
				respond(protocol.FrameTypeError, []byte("E_INVALID too many channels"))
				return errInvalid
			}
			if err := respond(protocol.FrameTypeResponse, protocol.OK); err != nil {
				return err
			}
			cr.seq.Store(seq)
			cr.wake()
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
