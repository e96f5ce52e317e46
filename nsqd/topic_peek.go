package nsqd

import (
	"bytes"
	"fmt"

	"github.com/nsqgo/nsq/nsqd/queue"
)

// peekHeld returns up to n of the messages the topic holds (while it has no
// channel or is paused), without taking them: memory first, then its disk
// backlog, each in the order they would be handed over (GET /topic/peek).
func (t *Topic) peekHeld(n int) ([]Message, error) {
	out := make([]Message, 0, min(n, int(t.held.MemoryLen())))
	t.held.EachInMemory(func(m *Message) {
		if len(out) < n {
			out = append(out, Message{ID: m.ID, Body: m.Body, Timestamp: m.Timestamp, DeliverAt: m.DeliverAt, Attempts: m.Attempts})
		}
	})
	if len(out) >= n {
		return out, nil
	}
	err := t.held.ScanBacklog(func(data []byte, legacy bool) bool {
		m, err := queue.DecodeRecord(data, legacy)
		if err == nil {
			m.Body = bytes.Clone(m.Body)
			out = append(out, m)
		}
		return len(out) < n
	})
	if err != nil {
		return out, fmt.Errorf("peek disk backlog: %w", err)
	}
	return out, nil
}
