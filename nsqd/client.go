package nsqd

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nsqgo/nsq/internal/authclient"
	"github.com/nsqgo/nsq/internal/protocol"
)

// Client states as /stats shows them.
const (
	stateInit       = 0
	stateSubscribed = 3
	stateClosing    = 4
)

const (
	defaultBufferSize = 16 * 1024
	// maxDeliveryBatch bounds how many messages one take moves from the
	// channel, so one consumer cannot starve the others of a burst.
	maxDeliveryBatch = 256
)

// client is one V2 TCP connection. The reader goroutine (protocol loop)
// executes commands; the pump goroutine delivers messages and heartbeats.
// Both write frames under writeMu.
type client struct {
	id         int64
	nsqd       *NSQD
	conn       net.Conn
	remoteAddr string
	connectTS  time.Time

	reader *bufio.Reader
	// decompressed is what reader fills from once a compression is
	// negotiated; nil: deadlined (client_conn.go, readSource).
	decompressed io.Reader

	writeMu   sync.Mutex
	writer    *bufio.Writer
	unflushed bool // responses written but not yet flushed
	// deliveredUnflushed: an inline pass's frames (pump.go) wait in the
	// output buffer for the reader's next wait (flushBeforeWait).
	deliveredUnflushed bool
	// frameHead holds a message frame's header when the frame does not fit
	// in the output buffer (writeMessageLocked). Under writeMu.
	frameHead [protocol.FrameHead + protocol.MessageHeaderLength]byte
	// vector is a batch's big frames on their way to the socket by
	// reference (client_vector.go). Under writeMu.
	vector frameVector

	// The connection is layered, bottom up: conn (the socket); transport,
	// which is conn or the TLS session over it; deadlined, which arms the
	// heartbeat deadlines on conn around every transport read and write;
	// then, once negotiated, a compressor; reader and writer buffer on top.
	// IDENTIFY's upgrades (upgrade.go, client_conn.go) swap layers in the reader goroutine
	// while holding writeMu, so transport needs no lock of its own: the
	// reader goroutine reads it where it changes it, writers under writeMu.
	transport net.Conn
	deadlined *deadlineConn
	// socket reads and writes conn without the scheduler's syscall
	// hand-off (client_rawio_linux.go); nil where conn is no socket.
	socket     *socketIO
	compressor flushWriter // under writeMu; nil while uncompressed (client_conn.go)
	snappy     atomic.Bool // negotiated, for stats
	deflate    atomic.Bool

	// Settings negotiated by IDENTIFY; written by the reader before SUB.
	settingsMu        sync.Mutex
	clientID          string
	hostname          string
	userAgent         string
	heartbeatInterval atomic.Int64 // ns; <= 0 disables heartbeats
	msgTimeout        atomic.Int64 // ns
	sampleRate        atomic.Int32
	topologyZone      string // IDENTIFY's topology fields (topology.go)
	topologyRegion    string
	// output_buffer_timeout is negotiated and answered but needs no state:
	// the pump flushes as soon as nothing more is ready (pump.go).

	// Guarded by the subscribed channel's mu (topology.go): how local the
	// consumer is, fixed at SUB, whether its pump waits for messages, and
	// whether it is reading the channel's backlog with the lock released
	// (it keeps its claim on the messages meanwhile: preferLocalLocked).
	locality       int
	waiting        bool
	readingBacklog bool

	state      atomic.Int32
	readyCount atomic.Int64
	channel    atomic.Pointer[Channel]
	inFlight   inFlight
	timeouts   clientTimeouts // fires inFlight's deadlines (timeouts.go)

	// wake tells the pump that RDY, credit, settings or state changed;
	// awaitingCredit says whether it is blocked on credit, so FIN only
	// signals when someone is listening.
	wake           chan struct{}
	awaitingCredit atomic.Bool
	// deliverMu is held by a delivery pass: the pump's, or the reader's
	// inline one (deliverInline, pump.go); inlineBatch is the latter's
	// scratch, under it.
	deliverMu   sync.Mutex
	inlineBatch []Message
	// inlinePasses counts the inline passes that delivered, for tests.
	inlinePasses atomic.Uint64
	// creditPending is set by FIN and REQ and turned into one wake-up when
	// the reader has run out of buffered commands, so a burst of FINs
	// restarts delivery once with all the freed credit rather than once per
	// FIN with one message each. Only the reader goroutine touches it.
	creditPending bool
	// readDeadline is when the command being read must be complete, on the
	// daemon's monotonic clock (clock.Clock.Nanotime; 0: not set yet): set
	// at the first socket read of each command (the protocol loop clears
	// it), so a client trickling bytes cannot hold the connection open past
	// two heartbeat intervals, as upstream. Only the reader touches it;
	// idle enforces it (timeouts.go).
	readDeadline int64
	idle         idleLimit
	// finTime is the FIN time of the commands from the latest socket read,
	// valid while finTimeRead (v2Session.finTime). Only the reader touches it.
	finTime     int64
	finTimeRead bool
	exit        chan struct{}

	messageCount atomic.Uint64
	finishCount  atomic.Uint64
	requeueCount atomic.Uint64

	pubMu     sync.Mutex
	pubCounts map[string]uint64

	// tlsState is the negotiated TLS state, stored by the IDENTIFY upgrade
	// (nil while the connection is plain); AUTH tells the auth server
	// about it (client_auth.go). authorization is the auth server's
	// latest answer (nil until AUTH succeeds), for stats.
	tlsState      atomic.Pointer[tls.ConnectionState]
	authorization atomic.Pointer[authclient.State]
}

func newClient(id int64, conn net.Conn, n *NSQD) *client {
	remote := conn.RemoteAddr().String()
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	c := &client{
		id:         id,
		nsqd:       n,
		conn:       conn,
		transport:  conn,
		remoteAddr: remote,
		connectTS:  n.clock.Now(),
		clientID:   host,
		hostname:   host,
		wake:       make(chan struct{}, 1),
		exit:       make(chan struct{}),
	}
	c.heartbeatInterval.Store(int64(n.opts.ClientTimeout / 2))
	c.msgTimeout.Store(int64(n.opts.MsgTimeout))
	c.deadlined = &deadlineConn{client: c}
	if c.socket = newSocketIO(conn); c.socket != nil {
		c.socket.wouldBlock = c.flushBeforeWait
	}
	c.reader = bufio.NewReaderSize(c.deadlined, defaultBufferSize)
	c.writer = bufio.NewWriterSize(c.deadlined, defaultBufferSize)
	return c
}

// signal wakes the pump without blocking.
func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// creditFreed wakes the pump only if it is waiting for credit.
func (c *client) creditFreed() {
	if c.awaitingCredit.Load() {
		c.signal()
	}
}

// closeConn closes the socket; the reader then ends the connection.
func (c *client) closeConn() {
	c.conn.Close()
}

// sendResponse writes a response or error frame. It is flushed before the
// reader next blocks on the socket, so pipelined commands share a flush.
func (c *client) sendFrame(frameType int32, data []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	buf := c.writer.AvailableBuffer()
	buf = protocol.AppendFrame(buf, frameType, data)
	_, err := c.writer.Write(buf)
	c.unflushed = true
	return err
}

// writeMessageLocked writes a message frame into the output buffer. A frame
// that fits in the buffer's free space is encoded in place; a larger one
// (a big message, or any once the buffer is nearly full) goes as its header
// and then its body, which bufio copies or writes straight through, so no
// frame is ever assembled in a temporary allocation. writeMu held.
func (c *client) writeMessageLocked(m *Message) error {
	size := protocol.FrameHead + protocol.MessageHeaderLength + len(m.Body)
	if size <= c.writer.Available() {
		buf := c.writer.AvailableBuffer()
		buf = protocol.AppendMessageFrame(buf, m.Timestamp, m.Attempts, &m.ID, m.Body)
		_, err := c.writer.Write(buf)
		return err
	}
	head := binary.BigEndian.AppendUint32(c.frameHead[:0], uint32(size-4))
	head = binary.BigEndian.AppendUint32(head, uint32(protocol.FrameTypeMessage))
	head = protocol.AppendMessage(head, m.Timestamp, m.Attempts, &m.ID, nil)
	if _, err := c.writer.Write(head); err != nil {
		return err
	}
	_, err := c.writer.Write(m.Body)
	return err
}

// flushNow writes out everything buffered.
func (c *client) flushNow() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.unflushed, c.deliveredUnflushed = false, false
	return c.flushLocked()
}

// flushLocked empties the output buffer and then the compressor, whose
// sync flush lets the peer decode everything written so far. writeMu held.
func (c *client) flushLocked() error {
	if err := c.writer.Flush(); err != nil {
		return err
	}
	if c.compressor != nil {
		return c.compressor.Flush()
	}
	return nil
}

// writeTopLocked is what the output buffer writes into: the compressor, or
// the deadline layer when uncompressed. writeMu held.
func (c *client) writeTopLocked() io.Writer {
	if c.compressor != nil {
		return c.compressor
	}
	return c.deadlined
}

// flushPending flushes only if responses are waiting; the reader calls it
// before each blocking read.
func (c *client) flushPending() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if !c.unflushed {
		return nil
	}
	c.unflushed, c.deliveredUnflushed = false, false
	return c.flushLocked()
}

// Ready state helpers.

func (c *client) credit() int64 {
	return c.readyCount.Load() - c.inFlight.count.Load()
}

// dropInFlight forgets what this client holds on ch (channel emptied).
func (c *client) dropInFlight(ch *Channel) {
	if c.channel.Load() != ch {
		return
	}
	dropped := c.inFlight.drainEach(func([]Message) {})
	ch.inFlightCount.Add(-int64(dropped))
	c.signal()
}

func (c *client) addPubCount(topic string, n int) {
	c.pubMu.Lock()
	if c.pubCounts == nil {
		c.pubCounts = map[string]uint64{}
	}
	c.pubCounts[topic] += uint64(n)
	c.pubMu.Unlock()
}
