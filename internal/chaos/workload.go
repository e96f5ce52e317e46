package chaos

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// workload runs the publishers and consumers against whatever nsqd the
// node currently runs, reconnecting across restarts. Every publish and
// every delivery goes to the history.
type workload struct {
	node     *node
	hist     *History
	topic    string
	channels []string // consumer i reads channels[i%len(channels)]
	cfg      *Config

	stopPub  chan struct{} // closed to stop the publishers
	stopSub  chan struct{} // closed to stop the consumers
	pubs     sync.WaitGroup
	subs     sync.WaitGroup
	finAll   atomic.Bool // drain: consumers FIN every delivery
	errorsMu sync.Mutex
	errs     map[string]int // error frames consumers received, by text

	consMu sync.Mutex
	conns  map[int]*conn // each consumer's current connection

	// Flow control: publishers wait while the messages answered OK exceed
	// the FINs sent by more than cfg.MaxBacklog, so that the backlog (and
	// the disk, and the final drain) stays bounded however slow consumers
	// are under the faults. FINs are counted per channel and the slowest
	// channel rules: every message is owed to each.
	okCount  atomic.Int64
	finCount []atomic.Int64 // by index in channels
}

const ioTimeout = 5 * time.Second

func newWorkload(n *node, h *History, cfg *Config) *workload {
	channels := cfg.channelNames()
	return &workload{
		node: n, hist: h, topic: cfg.Topic, channels: channels, cfg: cfg,
		stopPub: make(chan struct{}), stopSub: make(chan struct{}),
		errs: map[string]int{}, conns: map[int]*conn{},
		finCount: make([]atomic.Int64, len(channels)),
	}
}

// backlog is how many messages answered OK the slowest channel has not
// FIN'd yet.
func (w *workload) backlog() int64 {
	fins := w.finCount[0].Load()
	for i := range w.finCount[1:] {
		fins = min(fins, w.finCount[i+1].Load())
	}
	return w.okCount.Load() - fins
}

func (w *workload) start(seed uint64) {
	for p := range w.cfg.Publishers {
		w.pubs.Add(1)
		go w.publisher(p, rand.New(rand.NewPCG(seed, uint64(p)+1)))
	}
	for c := range w.cfg.Consumers {
		w.subs.Add(1)
		go w.consumer(c, rand.New(rand.NewPCG(seed, uint64(c)+1001)))
	}
}

func (w *workload) stopPublishers() {
	close(w.stopPub)
	w.pubs.Wait()
}

func (w *workload) stopConsumers() {
	close(w.stopSub)
	w.consMu.Lock()
	for _, c := range w.conns {
		c.close()
	}
	w.consMu.Unlock()
	w.subs.Wait()
}

func stopped(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// pause waits d or until ch is closed.
func pause(ch <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	}
}

// publisher sends PUB, MPUB and DPUB one at a time, each answer awaited, so
// every OK belongs to exactly one command.
func (w *workload) publisher(p int, rng *rand.Rand) {
	defer w.pubs.Done()
	var c *conn
	defer func() {
		if c != nil {
			c.close()
		}
	}()
	n := 0
	for !stopped(w.stopPub) {
		if w.backlog() > int64(w.cfg.MaxBacklog) {
			pause(w.stopPub, 10*time.Millisecond)
			continue
		}
		if c == nil {
			addr := w.node.addr()
			if addr == "" {
				pause(w.stopPub, 20*time.Millisecond)
				continue
			}
			var err error
			if c, err = dial(addr, ioTimeout); err != nil {
				c = nil
				pause(w.stopPub, 20*time.Millisecond)
				continue
			}
		}
		var (
			pubs []Publish
			cmd  []byte
		)
		now := time.Now()
		switch r := rng.IntN(100); {
		case r < 60:
			id := messageID(p, n)
			n++
			pubs = []Publish{{ID: id, Op: "PUB", Sent: now}}
			cmd = pubCommand(w.topic, bodyFor(id))
		case r < 85:
			k := 2 + rng.IntN(19)
			bodies := make([][]byte, k)
			for i := range k {
				id := messageID(p, n)
				n++
				pubs = append(pubs, Publish{ID: id, Op: "MPUB", Sent: now})
				bodies[i] = bodyFor(id)
			}
			cmd = mpubCommand(w.topic, bodies)
		default:
			id := messageID(p, n)
			n++
			delay := time.Duration(100+rng.IntN(max(int(w.cfg.MaxDPUBDelay/time.Millisecond)-99, 1))) * time.Millisecond
			pubs = []Publish{{ID: id, Op: "DPUB", Sent: now, Delay: delay}}
			cmd = dpubCommand(w.topic, delay, bodyFor(id))
		}
		err := c.send(ioTimeout, cmd)
		var resp string
		if err == nil {
			resp, err = c.answer(ioTimeout)
		}
		outcome := OutcomeOK
		switch {
		case err == nil && resp == "OK":
		case isRefusal(err):
			outcome = OutcomeRefused
		default:
			outcome = OutcomeUnknown
		}
		for i := range pubs {
			pubs[i].Outcome = outcome
		}
		if outcome == OutcomeOK {
			w.okCount.Add(int64(len(pubs)))
		}
		w.hist.addPublishes(pubs)
		if outcome != OutcomeOK {
			// An E_* answer may close the connection (upstream makes most of
			// them fatal): start over on a new one either way.
			c.close()
			c = nil
			pause(w.stopPub, 10*time.Millisecond)
			continue
		}
		if w.cfg.PublishPause > 0 {
			pause(w.stopPub, time.Duration(rng.Int64N(int64(w.cfg.PublishPause)*2)))
		}
	}
}

// consumer subscribes with a random RDY and FINs most deliveries, REQs some
// with and without a delay and ignores some (they time out); in the drain it
// FINs everything.
func (w *workload) consumer(i int, rng *rand.Rand) {
	defer w.subs.Done()
	for !stopped(w.stopSub) {
		c := w.subscribe(i, rng)
		if c == nil {
			pause(w.stopSub, 20*time.Millisecond)
			continue
		}
		w.consume(i, c, rng)
		c.close()
	}
}

func (w *workload) subscribe(i int, rng *rand.Rand) *conn {
	addr := w.node.addr()
	if addr == "" {
		return nil
	}
	c, err := dial(addr, ioTimeout)
	if err != nil {
		return nil
	}
	w.consMu.Lock()
	if stopped(w.stopSub) {
		w.consMu.Unlock()
		c.close()
		return nil
	}
	w.conns[i] = c
	w.consMu.Unlock()
	rdy := 5 + rng.IntN(40)
	channel := w.channels[i%len(w.channels)]
	if err := c.send(ioTimeout, []byte("SUB "+w.topic+" "+channel+"\n")); err != nil {
		c.close()
		return nil
	}
	if resp, err := c.answer(ioTimeout); err != nil || resp != "OK" {
		c.close()
		return nil
	}
	if err := c.send(ioTimeout, []byte("RDY "+strconv.Itoa(rdy)+"\n")); err != nil {
		c.close()
		return nil
	}
	return c
}

func (w *workload) consume(i int, c *conn, rng *rand.Rand) {
	for {
		// Long: heartbeats arrive every 30 s by default; a stopped daemon
		// (SIGSTOP) sends nothing for a while. Closing the connection
		// stops the read at once.
		kind, data, err := c.frame(2 * time.Minute)
		if err != nil {
			return
		}
		switch kind {
		case frameResponse:
			if string(data) == "_heartbeat_" {
				if c.send(ioTimeout, []byte("NOP\n")) != nil {
					return
				}
			}
			continue
		case frameError:
			w.errorsMu.Lock()
			w.errs[string(data)]++
			w.errorsMu.Unlock()
			continue
		}
		m, err := decodeMessage(data)
		if err != nil {
			w.errorsMu.Lock()
			w.errs[err.Error()]++
			w.errorsMu.Unlock()
			return
		}
		d := Delivery{At: time.Now(), Attempts: m.attempts, NSQID: m.id, Consumer: i, Channel: w.channels[i%len(w.channels)]}
		d.ID, d.Intact = idOf(m.body)
		if !d.Intact {
			d.Body = cut(m.body, 80)
		}
		var cmd string
		switch r := rng.IntN(100); {
		case w.finAll.Load() || r < 82:
			d.Action, cmd = ActionFin, "FIN "+m.id+"\n"
		case r < 88:
			d.Action, cmd = ActionReq, "REQ "+m.id+" 0\n"
		case r < 94:
			d.ReqDelay = time.Duration(100+rng.IntN(1400)) * time.Millisecond
			d.Action, cmd = ActionReqDelay, fmt.Sprintf("REQ %s %d\n", m.id, d.ReqDelay.Milliseconds())
		default:
			d.Action = ActionIgnore
		}
		if cmd != "" {
			d.ActedAt = time.Now()
			if err := c.send(ioTimeout, []byte(cmd)); err != nil {
				d.Action = ActionLost
				w.hist.addDelivery(d)
				return
			}
			if d.Action == ActionFin {
				w.finCount[i%len(w.channels)].Add(1)
			}
		}
		w.hist.addDelivery(d)
	}
}

func (w *workload) errorCounts() map[string]int {
	w.errorsMu.Lock()
	defer w.errorsMu.Unlock()
	out := make(map[string]int, len(w.errs))
	for k, v := range w.errs {
		out[k] = v
	}
	return out
}
