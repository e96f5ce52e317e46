package nsqd

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/nsqgo/nsq/nsqd/auth"
)

// protocolError is an error frame: "<code> <desc>". Fatal ones close the
// connection after the frame; only the FIN/REQ/TOUCH failures are not.
type protocolError struct {
	code  string
	desc  string
	fatal bool
}

func (e *protocolError) Error() string { return e.code + " " + e.desc }

func fatalErr(code, format string, args ...any) *protocolError {
	return &protocolError{code: code, desc: fmt.Sprintf(format, args...), fatal: true}
}

func clientErr(code, format string, args ...any) *protocolError {
	return &protocolError{code: code, desc: fmt.Sprintf(format, args...)}
}

// v2Session runs the command loop of one connection. Its scratch buffers
// are reused by every command so that parsing allocates nothing.
type v2Session struct {
	c      *client
	n      *NSQD
	params [][]byte
	batch  []Message
	sizes  [4]byte
	bodies slabAllocator // PUB's and MPUB's body memory (body_alloc.go)

	// An MPUB's big bodies are read with the size field after each
	// (sizeAheadReader, client_conn.go): bigBody reads them, ahead holds
	// what it read of the size, vector is the transport's readv (nil: none),
	// made once for vectorOf.
	bigBody  sizeAheadReader
	ahead    sizeAhead
	vector   vectorReader
	vectorOf net.Conn

	// the last topic published to, so a stream of PUBs skips the map lookup
	lastTopic *Topic

	// tlsPending: --tls-required is on and the connection is not TLS yet,
	// so only IDENTIFY may run (cleared by the upgrade, upgrade.go).
	tlsPending bool

	authz auth.Session // AUTH's answer and its checks (nsqd/auth, client_auth.go)

	fins *finBatch // FINs read but not applied yet (fin)
}

// run executes commands until the connection fails or a fatal error.
func (s *v2Session) run() error {
	for {
		s.c.readDeadline = 0 // a new command: a new deadline
		line, err := s.c.reader.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				err = fmt.Errorf("command line longer than %d bytes", defaultBufferSize)
			}
			return err
		}
		s.params = protocol.SplitParams(protocol.TrimLine(line), s.params[:0])
		response, err := s.exec()
		if err != nil {
			var perr *protocolError
			if !errors.As(err, &perr) {
				return err
			}
			if sendErr := s.c.sendFrame(protocol.FrameTypeError, []byte(perr.Error())); sendErr != nil {
				return sendErr
			}
			if perr.fatal {
				s.c.flushNow()
				return perr
			}
			continue
		}
		if response != nil {
			if err := s.c.sendFrame(protocol.FrameTypeResponse, response); err != nil {
				return err
			}
		}
	}
}

func (s *v2Session) exec() ([]byte, error) {
	cmd := s.params[0]
	if s.fins != nil && s.fins.n > 0 && !bytes.Equal(cmd, []byte("FIN")) {
		// fin leaves FINs waiting only when a FIN comes next; this keeps
		// any other command from overtaking them regardless.
		if err := s.applyFins(); err != nil {
			return nil, err
		}
	}
	if s.tlsPending && !bytes.Equal(cmd, []byte("IDENTIFY")) {
		return nil, fatalErr("E_INVALID", "cannot %s in current state (TLS required)", cmd)
	}
	switch {
	case bytes.Equal(cmd, []byte("FIN")):
		return nil, s.fin()
	case bytes.Equal(cmd, []byte("RDY")):
		return nil, s.rdy()
	case bytes.Equal(cmd, []byte("REQ")):
		return nil, s.req()
	case bytes.Equal(cmd, []byte("PUB")):
		return s.countTCPPublish(s.pub())
	case bytes.Equal(cmd, []byte("MPUB")):
		return s.countTCPPublish(s.mpub())
	case bytes.Equal(cmd, []byte("DPUB")):
		return s.countTCPPublish(s.dpub())
	case bytes.Equal(cmd, []byte("NOP")):
		// A client answering a heartbeat is idle: its spare body memory
		// goes back to the collector.
		s.bodies.dropSpares()
		return nil, nil
	case bytes.Equal(cmd, []byte("TOUCH")):
		return nil, s.touch()
	case bytes.Equal(cmd, []byte("SUB")):
		return s.sub()
	case bytes.Equal(cmd, []byte("CLS")):
		return s.cls()
	case bytes.Equal(cmd, []byte("IDENTIFY")):
		return s.identify()
	case bytes.Equal(cmd, []byte("AUTH")):
		return s.auth()
	}
	return nil, fatalErr("E_INVALID", "invalid command %s", cmd)
}

// readSize reads a body's int32 length prefix (signed, as upstream).
func (s *v2Session) readSize() (int32, error) {
	return s.readSizeFrom(s.c.reader)
}

// readSizeFrom reads a size field from r, after what of it was read ahead
// with the body before it (sizeAheadReader).
func (s *v2Session) readSizeFrom(r io.Reader) (int32, error) {
	got := copy(s.sizes[:], s.ahead.buf[:s.ahead.n])
	s.ahead.n = 0
	if _, err := io.ReadFull(r, s.sizes[got:]); err != nil {
		return 0, err
	}
	return int32(binary.BigEndian.Uint32(s.sizes[:])), nil
}

// bodyReader is where a body of n bytes is read from: a big one (one that
// does not share a slab) past the read buffer once that is empty
// (directReader), so its bytes are copied once; small ones through the
// buffer, whose read-ahead takes many of them per read.
func (s *v2Session) bodyReader(n int32) io.Reader {
	if n > slabMaxBody {
		return directReader{s.c}
	}
	return s.c.reader
}

// mpubBodyReader is bodyReader for the body of n bytes of an MPUB's
// message i of count: a big one that is not the last is read together with
// the size field after it where the connection can (sizeAheadReader).
func (s *v2Session) mpubBodyReader(n int32, i, count int) io.Reader {
	if n <= slabMaxBody || i+1 >= count {
		return s.bodyReader(n)
	}
	s.bigBody = sizeAheadReader{c: s.c, vector: s.vectorReader(), left: int(n), ahead: &s.ahead}
	return &s.bigBody
}

// vectorReader is the readv of the connection's socket, when the bytes
// come straight from it (no TLS, no compression); nil otherwise.
func (s *v2Session) vectorReader() vectorReader {
	c := s.c
	if c.decompressed != nil {
		return nil
	}
	if s.vectorOf != c.transport {
		s.vectorOf = c.transport
		s.vector = newVectorReader(c.transport)
	}
	return s.vector
}

func (s *v2Session) sub() ([]byte, error) {
	if s.c.state.Load() != stateInit {
		return nil, fatalErr("E_INVALID", "cannot SUB in current state")
	}
	if s.c.heartbeatInterval.Load() <= 0 {
		return nil, fatalErr("E_INVALID", "cannot SUB with heartbeats disabled")
	}
	if len(s.params) < 3 {
		return nil, fatalErr("E_INVALID", "SUB insufficient number of parameters")
	}
	topicName, channelName := string(s.params[1]), string(s.params[2])
	if !protocol.ValidName(topicName) {
		return nil, fatalErr("E_BAD_TOPIC", "SUB topic name %q is not valid", topicName)
	}
	if !protocol.ValidName(channelName) {
		return nil, fatalErr("E_BAD_CHANNEL", "SUB channel name %q is not valid", channelName)
	}
	if err := s.checkAuth("SUB", topicName, channelName); err != nil {
		return nil, err
	}
	// A topic or ephemeral channel may be going away as we subscribe; try
	// once more against its replacement, as upstream does.
	var channel *Channel
	for attempt := 0; ; attempt++ {
		topic, err := s.n.GetTopic(topicName)
		if err != nil {
			return nil, fatalErr("E_SUB_FAILED", "SUB failed %s", err)
		}
		channel, err = topic.GetChannel(channelName)
		if err == nil {
			err = channel.addClient(s.c)
		}
		if err == nil {
			break
		}
		if !errors.Is(err, errExiting) {
			return nil, fatalErr("E_SUB_FAILED", "SUB failed %s", err)
		}
		if attempt > 0 || s.n.exiting.Load() {
			return nil, fatalErr("E_SUB_FAILED", "SUB failed to deleted topic/channel")
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.c.channel.Store(channel)
	s.c.state.Store(stateSubscribed)
	s.c.signal()
	return protocol.OK, nil
}

func (s *v2Session) rdy() error {
	switch s.c.state.Load() {
	case stateClosing:
		return nil
	case stateSubscribed:
	default:
		return fatalErr("E_INVALID", "cannot RDY in current state")
	}
	count := int64(1)
	if len(s.params) > 1 {
		var ok bool
		if count, ok = protocol.ParseDigits(s.params[1]); !ok {
			return fatalErr("E_INVALID", "RDY could not parse count %s", s.params[1])
		}
	}
	if count > s.n.opts.MaxRdyCount {
		return fatalErr("E_INVALID", "RDY count %d out of range 0-%d", count, s.n.opts.MaxRdyCount)
	}
	s.c.readyCount.Store(count)
	s.c.readinessChanged()
	s.c.signal()
	return nil
}

// ackCommand checks the state and message ID shared by FIN, REQ and TOUCH.
func (s *v2Session) ackCommand(name string, minParams int) (protocol.MessageID, error) {
	var id protocol.MessageID
	if st := s.c.state.Load(); st != stateSubscribed && st != stateClosing {
		return id, fatalErr("E_INVALID", "cannot %s in current state", name)
	}
	if len(s.params) < minParams {
		return id, fatalErr("E_INVALID", "%s insufficient number of params", name)
	}
	if len(s.params[1]) != protocol.MsgIDLength {
		return id, fatalErr("E_INVALID", "invalid message ID")
	}
	copy(id[:], s.params[1])
	return id, nil
}

// notOwnedErr tells "not in flight" from "held by another consumer".
func (s *v2Session) notOwnedErr(code, name string, id protocol.MessageID) error {
	reason := errNotInFlight
	if ch := s.c.channel.Load(); ch != nil && ch.findOwner(id, s.c) {
		reason = errNotOwner
	}
	return clientErr(code, "%s %s failed %s", name, id[:], reason)
}

func (s *v2Session) fin() error {
	id, err := s.ackCommand("FIN", 2)
	if err != nil {
		// The FINs before it are answered first, as they came.
		if applyErr := s.applyFins(); applyErr != nil {
			return applyErr
		}
		return err
	}
	b := s.fins
	if b == nil {
		b = new(finBatch)
		s.fins = b
	}
	b.ids[b.n] = id
	b.n++
	// The FINs already buffered behind this one, in their plain form, are
	// taken here without the general parse: they pass the checks this one
	// passed (state changes only on this goroutine, by SUB and CLS), and
	// protocol.ParseFinLine takes only lines the general parser reads as
	// the same FIN. A full batch is applied and the next one begun.
	for {
		next, ok := protocol.ParseFinLine(s.bufferedLine())
		if !ok {
			break
		}
		if b.n == finBatchLen {
			if err := s.applyFins(); err != nil {
				return err
			}
		}
		copy(b.ids[b.n][:], next)
		b.n++
		s.c.reader.Discard(protocol.FinLineLength)
	}
	if b.n < finBatchLen && s.nextIsFin() {
		return nil
	}
	return s.applyFins()
}

// bufferedLine returns the read buffer's next FinLineLength bytes when it
// holds that many, without reading the socket; nil otherwise.
func (s *v2Session) bufferedLine() []byte {
	r := s.c.reader
	if r.Buffered() < protocol.FinLineLength {
		return nil
	}
	b, _ := r.Peek(protocol.FinLineLength)
	return b
}

// finBatch is a burst of FINs that arrived together, applied with one lock
// of the client's in-flight set per finApplyChunk (inFlight.removeEach) and
// one update of the counters, instead of one of each per FIN: a consumer
// FINs every message, and its FINs come in bursts of a socket read each.
// Allocated at a connection's first FIN.
type finBatch struct {
	ids   [finBatchLen]protocol.MessageID
	found [finBatchLen]bool
	n     int // FINs waiting in ids
}

// finBatchLen bounds a batch: the session keeps 1 KB of IDs. The messages
// a batch removes pass through a scratch array on applyFins' stack,
// finApplyChunk at a time, which stays in the core's cache: a per-session
// array of removed messages was one more cold area per connection to
// write, among hundreds of consumers.
const (
	finBatchLen   = 64
	finApplyChunk = 16
)

// nextIsFin reports whether the read buffer already holds the whole next
// command and it is a FIN ("FIN <id>\n"). Only then does a FIN wait in the
// batch: the command after it is read without a socket read, so a FIN is
// never held while the reader waits for bytes (its credit and its record's
// acknowledgement would wait with it), and whatever else comes next runs
// after every FIN before it was applied.
func (s *v2Session) nextIsFin() bool {
	next := s.bufferedLine()
	return next != nil && next[protocol.FinLineLength-1] == '\n' && string(next[:4]) == "FIN "
}

// applyFins applies the waiting FINs in the order they came: each held
// message is finished, and each ID not held is answered with
// E_FIN_FAILED, as a FIN applied alone would be.
func (s *v2Session) applyFins() error {
	b := s.fins
	if b == nil || b.n == 0 {
		return nil
	}
	n := b.n
	b.n = 0
	var scratch [finApplyChunk]Message
	finished := 0
	for start := 0; start < n; start += finApplyChunk {
		end := min(start+finApplyChunk, n)
		msgs := s.c.inFlight.removeEach(b.ids[start:end], b.found[start:end], scratch[:0])
		if len(msgs) == 0 {
			continue
		}
		ch := s.c.channel.Load()
		now := s.finTime(ch)
		ch.finishedEach(msgs, now)
		clear(msgs) // drops the bodies
		finished += len(msgs)
	}
	if finished > 0 {
		// The in-flight count drops last: a reader of /stats that waits
		// for it finds every other count of these FINs already made.
		s.c.finishCount.Add(uint64(finished))
		s.c.channel.Load().inFlightCount.Add(-int64(finished))
		s.c.creditPending = true
	}
	if finished == n {
		return nil
	}
	for i, held := range b.found[:n] {
		if held {
			continue
		}
		err := s.notOwnedErr("E_FIN_FAILED", "FIN", b.ids[i])
		if sendErr := s.c.sendFrame(protocol.FrameTypeError, []byte(err.Error())); sendErr != nil {
			return sendErr
		}
	}
	return nil
}

// finTime is the time a FIN's latency is recorded at: the daemon's clock,
// read by the first FIN after each socket read and shared by every FIN that
// read brought (deadlineConn.Read forgets it before reading again). A clock
// read costs about 75 ns on a VM, as much as the rest of a FIN, and a
// consumer sends its FINs in bursts. The time is never earlier than the
// arrival of the bytes that carried the FIN; a later FIN of the same read
// is stamped earlier than its turn by at most the time spent on the FINs
// before it in that buffer (tens of microseconds for a full 16 KB buffer,
// well inside the smallest 1 ms bucket of
// nsqd/metrics/prometheus/histogram.go). A channel that records no latency
// costs no clock read.
func (s *v2Session) finTime(ch *Channel) int64 {
	if !ch.latency.recording() {
		return 0
	}
	c := s.c
	if !c.finTimeRead {
		c.finTime = s.n.clock.Now().UnixNano()
		c.finTimeRead = true
	}
	return c.finTime
}

func (s *v2Session) req() error {
	id, err := s.ackCommand("REQ", 3)
	if err != nil {
		return err
	}
	delayMs, ok := protocol.ParseDigits(s.params[2])
	if !ok {
		return fatalErr("E_INVALID", "REQ could not parse timeout %s", s.params[2])
	}
	delay := time.Duration(delayMs) * time.Millisecond
	if max := s.n.opts.MaxReqTimeout; delay > max {
		s.n.logf(debugLevel, "[%s] REQ timeout %s clamped to %s", s.c.remoteAddr, delay, max)
		delay = max
	}
	msg, ok := s.c.inFlight.remove(id)
	if !ok {
		return s.notOwnedErr("E_REQ_FAILED", "REQ", id)
	}
	ch := s.c.channel.Load()
	ch.inFlightCount.Add(-1)
	ch.requeueCount.Add(1)
	s.c.requeueCount.Add(1)
	if delay > 0 {
		msg.DeliverAt = s.n.clock.Now().Add(delay).UnixNano()
		ch.deferMessage(msg)
	} else {
		msg.DeliverAt = 0
		ch.requeue([]Message{msg})
	}
	s.c.creditPending = true
	return nil
}

func (s *v2Session) touch() error {
	id, err := s.ackCommand("TOUCH", 2)
	if err != nil {
		return err
	}
	now := s.n.clock.Nanotime() // in-flight deadlines are monotonic (timeouts.go)
	if !s.c.inFlight.touch(id, now, s.c.msgTimeout.Load(), int64(s.n.opts.MaxMsgTimeout)) {
		return s.notOwnedErr("E_TOUCH_FAILED", "TOUCH", id)
	}
	return nil
}

func (s *v2Session) cls() ([]byte, error) {
	if s.c.state.Load() != stateSubscribed {
		return nil, fatalErr("E_INVALID", "cannot CLS in current state")
	}
	s.c.readyCount.Store(0)
	s.c.readinessChanged()
	s.c.state.Store(stateClosing)
	s.c.signal()
	return protocol.CloseWait, nil
}

func (s *v2Session) auth() ([]byte, error) {
	if s.c.state.Load() != stateInit {
		return nil, fatalErr("E_INVALID", "cannot AUTH in current state")
	}
	if len(s.params) != 1 {
		return nil, fatalErr("E_INVALID", "AUTH invalid number of parameters")
	}
	size, err := s.readSize()
	if err != nil {
		return nil, fatalErr("E_BAD_BODY", "AUTH failed to read body size")
	}
	if int64(size) > s.n.opts.MaxBodySize {
		return nil, fatalErr("E_BAD_BODY", "AUTH body too big %d > %d", size, s.n.opts.MaxBodySize)
	}
	if size <= 0 {
		return nil, fatalErr("E_BAD_BODY", "AUTH invalid body size %d", size)
	}
	secret, err := readAppend(s.c.reader, nil, int(size), int(size))
	if err != nil {
		return nil, fatalErr("E_BAD_BODY", "AUTH failed to read body")
	}
	return s.authenticate(secret)
}

// topicName turns a name parameter into a string that outlives the read
// buffer, without allocating while a connection keeps publishing to one topic.
func (s *v2Session) topicName(param []byte) string {
	if t := s.lastTopic; t != nil && t.name == string(param) {
		return t.name
	}
	return string(param)
}

// topicFor returns the topic to publish to, reusing the last one while the
// name matches; putMessages notices when that one has since been deleted.
func (s *v2Session) topicFor(name string) (*Topic, error) {
	if t := s.lastTopic; t != nil && t.name == name {
		return t, nil
	}
	t, err := s.n.GetTopic(name)
	if err != nil {
		return nil, err
	}
	s.lastTopic = t
	return t, nil
}

// putMessages publishes the batch. PutMessages is the one place that checks
// whether a topic is exiting; if the cached topic was deleted meanwhile, the
// batch goes to the topic of that name now, as a fresh lookup would.
//
// The batch's body memory is reused for the next one only when the topic
// said that nothing kept any of its bodies (Topic.publish); otherwise it
// is left to the messages (body_alloc.go).
func (s *v2Session) putMessages(topic *Topic, delay time.Duration) (*Topic, error) {
	kept, err := topic.publish(s.batch, delay)
	if errors.Is(err, errExiting) && !s.n.exiting.Load() {
		s.lastTopic = nil
		if topic, err = s.topicFor(topic.name); err == nil {
			var keptAgain bool
			keptAgain, err = topic.publish(s.batch, delay)
			kept = kept || keptAgain
		}
	}
	clear(s.batch) // drop body references held by the scratch slice
	if kept || err != nil {
		s.bodies.forget()
	} else {
		s.bodies.recycle()
	}
	return topic, err
}

func (s *v2Session) pub() ([]byte, error) {
	return s.publishOne("PUB", "E_PUB_FAILED", 0)
}

func (s *v2Session) dpub() ([]byte, error) {
	if len(s.params) < 3 {
		return nil, fatalErr("E_INVALID", "DPUB insufficient number of parameters")
	}
	if !protocol.ValidName(string(s.params[1])) {
		return nil, fatalErr("E_BAD_TOPIC", "DPUB topic name %q is not valid", s.params[1])
	}
	delayMs, ok := protocol.ParseDigits(s.params[2])
	if !ok {
		return nil, fatalErr("E_INVALID", "DPUB could not parse timeout %s", s.params[2])
	}
	maxMs := s.n.opts.MaxReqTimeout.Milliseconds()
	if delayMs > maxMs {
		return nil, fatalErr("E_INVALID", "DPUB timeout %d out of range 0-%d", delayMs, maxMs)
	}
	return s.publishOne("DPUB", "E_DPUB_FAILED", time.Duration(delayMs)*time.Millisecond)
}

// publishOne is PUB and DPUB: one length-prefixed body.
func (s *v2Session) publishOne(name, failCode string, delay time.Duration) ([]byte, error) {
	if len(s.params) < 2 {
		return nil, fatalErr("E_INVALID", "%s insufficient number of parameters", name)
	}
	// The parameter aliases the read buffer, which the body read reuses.
	topicName := s.topicName(s.params[1])
	if !protocol.ValidName(topicName) {
		return nil, fatalErr("E_BAD_TOPIC", "%s topic name %q is not valid", name, topicName)
	}
	size, err := s.readSize()
	if err != nil {
		return nil, fatalErr("E_BAD_MESSAGE", "%s failed to read message body size", name)
	}
	if size <= 0 {
		return nil, fatalErr("E_BAD_MESSAGE", "%s invalid message body size %d", name, size)
	}
	if int64(size) > s.n.opts.MaxMsgSize {
		return nil, fatalErr("E_BAD_MESSAGE", "%s message too big %d > %d", name, size, s.n.opts.MaxMsgSize)
	}
	s.bodies.reset()
	body, err := s.bodies.readBody(s.bodyReader(size), 0, int(size), int(size))
	if err != nil {
		return nil, fatalErr("E_BAD_MESSAGE", "%s failed to read message body", name)
	}
	if err := s.checkAuth(name, topicName, ""); err != nil {
		return nil, err
	}
	topic, err := s.topicFor(topicName)
	if err != nil {
		return nil, fatalErr(failCode, "%s failed %s", name, err)
	}
	s.batch = append(s.batch[:0], Message{Body: body})
	s.bodies.shrink(s.batch)
	if topic, err = s.putMessages(topic, delay); err != nil {
		return nil, publishFailed(failCode, name, err)
	}
	s.c.addPubCount(topic.name, 1)
	return protocol.OK, nil
}

func (s *v2Session) mpub() ([]byte, error) {
	if len(s.params) < 2 {
		return nil, fatalErr("E_INVALID", "MPUB insufficient number of parameters")
	}
	if !protocol.ValidName(string(s.params[1])) {
		return nil, fatalErr("E_BAD_TOPIC", "E_BAD_TOPIC MPUB topic name %q is not valid", s.params[1])
	}
	topicName := s.topicName(s.params[1])
	if err := s.checkAuth("MPUB", topicName, ""); err != nil {
		return nil, err
	}
	// Upstream creates the topic before reading the body.
	topic, err := s.topicFor(topicName)
	if err != nil {
		return nil, fatalErr("E_MPUB_FAILED", "MPUB failed %s", err)
	}
	bodySize, err := s.readSize()
	if err != nil {
		return nil, fatalErr("E_BAD_BODY", "MPUB failed to read body size")
	}
	if bodySize <= 0 {
		return nil, fatalErr("E_BAD_BODY", "MPUB invalid body size %d", bodySize)
	}
	if int64(bodySize) > s.n.opts.MaxBodySize {
		return nil, fatalErr("E_BAD_BODY", "MPUB body too big %d > %d", bodySize, s.n.opts.MaxBodySize)
	}
	count, err := s.readSize()
	if err != nil {
		return nil, fatalErr("E_BAD_BODY", "MPUB failed to read message count")
	}
	if count <= 0 || int64(count) > (s.n.opts.MaxBodySize-4)/5 {
		return nil, fatalErr("E_BAD_BODY", "MPUB invalid message count %d", count)
	}
	// The messages are gathered in a scratch slice of the daemon's pool
	// rather than the session's own: with many publishing connections, the
	// one this P used last is likely still in the CPU's cache, where a
	// connection's own (14 KB for 200 messages) was last written a hundred
	// batches ago; and the daemon keeps a few scratch slices instead of
	// one per publisher (NSQD.mpubBatches). BenchmarkPublishTopics: 0.96x
	// the CPU per message (README, "100 topics: where the publish time
	// goes").
	pooled, _ := s.n.mpubBatches.Get().(*[]Message)
	if pooled == nil {
		pooled = new([]Message)
	}
	own := s.batch
	s.batch = (*pooled)[:0]
	defer func() {
		clear(s.batch) // a failed read leaves bodies in it
		*pooled = s.batch[:0]
		s.n.mpubBatches.Put(pooled)
		s.batch = own
	}()
	// Bodies share slabs as their bytes arrive (body_alloc.go): an honest
	// batch of small messages is one allocation per 64 KiB, and a size field
	// that lies reserves nothing the bytes do not fill.
	remaining := int(bodySize) - 4 - 4*int(count)
	s.bodies.reset()
	// After a big body, read past the empty buffer: the next size alone,
	// rather than the next body's first 16 KB read ahead to be copied out
	// of the buffer again (bodyReader).
	sizeReader := io.Reader(s.c.reader)
	s.ahead.n = 0
	r := s.c.reader
	for i := 0; i < int(count); i++ {
		// A size field the read buffer holds is looked at in place, and a
		// small body it holds whole is copied from it in place (the same
		// bytes a read through the buffer would take, without the calls
		// of io.ReadFull per field and per body).
		inBuffer := s.ahead.n == 0 && r.Buffered() >= 4
		var size int32
		if inBuffer {
			field, _ := r.Peek(4)
			size = int32(binary.BigEndian.Uint32(field))
		} else if size, err = s.readSizeFrom(sizeReader); err != nil {
			return nil, fatalErr("E_BAD_MESSAGE", "MPUB failed to read message(%d) body size", i)
		}
		if size <= 0 {
			return nil, fatalErr("E_BAD_MESSAGE", "MPUB invalid message(%d) body size %d", i, size)
		}
		if int64(size) > s.n.opts.MaxMsgSize {
			return nil, fatalErr("E_BAD_MESSAGE", "MPUB message too big %d > %d", size, s.n.opts.MaxMsgSize)
		}
		var body []byte
		if inBuffer && size <= slabMaxBody && r.Buffered() >= 4+int(size) {
			framed, _ := r.Peek(4 + int(size))
			body = s.bodies.alloc(i, int(size), remaining)
			copy(body, framed[4:])
			r.Discard(4 + int(size))
		} else {
			if inBuffer {
				r.Discard(4)
			}
			if body, err = s.bodies.readBody(s.mpubBodyReader(size, i, int(count)), i, int(size), remaining); err != nil {
				return nil, fatalErr("E_BAD_MESSAGE", "MPUB failed to read message body")
			}
		}
		sizeReader = s.bodyReader(size)
		remaining -= int(size)
		// Appended zero, then the body set in place: appending
		// Message{Body: body} built the message on the stack and copied it
		// with 16-byte loads over the body's 8-byte stores, a stalled
		// store forwarding that was most of mpub's own time in profiles.
		s.batch = append(s.batch, Message{})
		s.batch[len(s.batch)-1].Body = body
	}
	s.bodies.shrink(s.batch)
	topic, err = s.putMessages(topic, 0)
	s.batch = s.batch[:0] // cleared by putMessages
	if err != nil {
		return nil, publishFailed("E_MPUB_FAILED", "MPUB", err)
	}
	s.c.addPubCount(topic.name, int(count))
	return protocol.OK, nil
}

// isClosedErr reports errors that just mean the peer went away.
func isClosedErr(err error) bool {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	return strings.Contains(err.Error(), "connection reset by peer")
}
