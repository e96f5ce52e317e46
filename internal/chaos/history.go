package chaos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Bodies. Every body the publishers send is derived from its id, "c<p>-<n>"
// (publisher p's n-th message), so the checker can tell a body that was
// published from one that was damaged or invented: the id is parsed from
// the body's start and the whole body must equal what that id generates.
func bodyFor(id string) []byte {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	size := 24 + int(h%180)
	b := make([]byte, 0, size)
	b = append(b, id...)
	b = append(b, '|')
	for len(b) < size {
		b = append(b, 'a'+byte(h%26))
		h = h*1103515245 + 12345
	}
	return b
}

func messageID(publisher, n int) string { return "c" + strconv.Itoa(publisher) + "-" + strconv.Itoa(n) }

var (
	idPattern  = regexp.MustCompile(`c[0-9]{1,4}-[0-9]{1,9}\|`)
	idAnchored = regexp.MustCompile(`^c[0-9]{1,4}-[0-9]{1,9}$`)
)

// idOf returns the id a body claims and whether the body is exactly the one
// published under it.
func idOf(body []byte) (id string, intact bool) {
	i := bytes.IndexByte(body, '|')
	if i <= 0 || !idAnchored.Match(body[:i]) {
		return "", false
	}
	id = string(body[:i])
	return id, bytes.Equal(body, bodyFor(id))
}

// idsIn finds the ids of every body-shaped byte string in b (a disk record
// or segment), for attributing damage the nemesis causes.
func idsIn(b []byte) []string {
	var out []string
	for _, m := range idPattern.FindAll(b, -1) {
		out = append(out, string(m[:len(m)-1]))
	}
	return out
}

// Outcome of a publish as the publisher saw it.
type Outcome int

const (
	OutcomeOK      Outcome = iota // OK: the daemon promised it
	OutcomeRefused                // an E_* answer: the daemon refused it
	OutcomeUnknown                // no answer (connection lost, timeout): either way
)

// Publish is one message sent by a publisher.
type Publish struct {
	ID      string
	Op      string // PUB, MPUB or DPUB
	Sent    time.Time
	Delay   time.Duration // DPUB only
	Outcome Outcome
}

// Action is what a consumer did with a delivery.
type Action int

const (
	ActionFin      Action = iota
	ActionReq             // REQ with no delay
	ActionReqDelay        // REQ with a delay
	ActionIgnore          // nothing: left to time out
	ActionLost            // the connection failed before the action was written
)

func (a Action) String() string {
	return [...]string{"FIN", "REQ", "REQ delayed", "ignored", "unsent"}[a]
}

// Delivery is one message frame a consumer received.
type Delivery struct {
	ID       string // parsed from the body; "" when the body has no id
	Intact   bool   // the body is exactly what the id generates
	Body     string // kept only when not intact, cut to 80 bytes
	At       time.Time
	Attempts uint16
	NSQID    string // the daemon's message id
	Consumer int    // which consumer received it
	Channel  string // the channel it came from ("" in histories of one unnamed channel)
	Action   Action
	ActedAt  time.Time     // when the FIN or REQ was written
	ReqDelay time.Duration // the delay of a delayed REQ
}

// Fault is one thing the nemesis did.
type Fault struct {
	Kind       string
	Start, End time.Time
	Detail     string
}

// History is everything that happened, recorded concurrently by the
// publishers, consumers and the nemesis.
type History struct {
	mu sync.Mutex
	// Channels are the topic's channels the run subscribed to: every
	// acknowledged publish must be finished on each of them. When empty the
	// checker takes the channels the deliveries name (or the one unnamed
	// channel "").
	Channels   []string
	Publishes  []Publish
	Deliveries []Delivery
	Faults     []Fault
	// Damaged holds the ids found in records the nemesis damaged: their
	// loss is reported apart, as loss to damage.
	Damaged map[string]bool
}

func (h *History) addPublishes(p []Publish) {
	h.mu.Lock()
	h.Publishes = append(h.Publishes, p...)
	h.mu.Unlock()
}

func (h *History) addDelivery(d Delivery) {
	h.mu.Lock()
	h.Deliveries = append(h.Deliveries, d)
	h.mu.Unlock()
}

func (h *History) addFault(f Fault) {
	h.mu.Lock()
	h.Faults = append(h.Faults, f)
	h.mu.Unlock()
}

func (h *History) addDamaged(ids []string) {
	h.mu.Lock()
	if h.Damaged == nil {
		h.Damaged = map[string]bool{}
	}
	for _, id := range ids {
		h.Damaged[id] = true
	}
	h.mu.Unlock()
}

func cut(b []byte, n int) string {
	if len(b) > n {
		return fmt.Sprintf("%q...", b[:n])
	}
	return fmt.Sprintf("%q", b)
}

// Dump writes the history as JSON lines (publishes, deliveries, faults), for
// a post-mortem of a failed run.
func (h *History) Dump(w io.Writer) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	enc := json.NewEncoder(w)
	for _, p := range h.Publishes {
		if err := enc.Encode(struct {
			Record string
			Publish
		}{"publish", p}); err != nil {
			return err
		}
	}
	for _, d := range h.Deliveries {
		if err := enc.Encode(struct {
			Record string
			Action string
			Delivery
		}{"delivery", d.Action.String(), d}); err != nil {
			return err
		}
	}
	for _, f := range h.Faults {
		if err := enc.Encode(struct {
			Record string
			Fault
		}{"fault", f}); err != nil {
			return err
		}
	}
	// The channels checked and the ids in damaged records: what the
	// checker's verdict also depends on.
	if err := enc.Encode(struct {
		Record   string
		Channels []string
		Damaged  []string
	}{"checked", h.Channels, slices.Sorted(maps.Keys(h.Damaged))}); err != nil {
		return err
	}
	return nil
}
