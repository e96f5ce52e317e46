package nsqclient

// Handler processes messages. Returning nil finishes the message, an
// error requeues it (with backoff), unless the handler disabled the
// automatic response.
type Handler interface {
	HandleMessage(m *Message) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(m *Message) error

// HandleMessage calls f(m).
func (f HandlerFunc) HandleMessage(m *Message) error { return f(m) }

// FailedMessageLogger is implemented by handlers that want to see a
// message the Consumer gives up on after max_attempts, before it is
// finished.
type FailedMessageLogger interface {
	LogFailedMessage(m *Message)
}
