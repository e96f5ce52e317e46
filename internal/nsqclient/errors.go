package nsqclient

import (
	"errors"
	"strings"
)

var (
	// ErrStopped is returned by a Producer or Consumer after Stop, and is
	// the result of publishes still outstanding when a Producer stops.
	ErrStopped = errors.New("stopped")
	// ErrClosed is the result of publishes outstanding when their
	// connection failed; the publish may or may not have happened.
	ErrClosed = errors.New("connection closed")
	// ErrNoHandler is returned by Connect* when no handler was added.
	ErrNoHandler = errors.New("no handlers")
	// ErrAlreadyConnected is returned when an address is added twice.
	ErrAlreadyConnected = errors.New("already connected")
)

// ProtocolError is an error frame from nsqd, "<CODE> <description>".
type ProtocolError struct {
	Code string
	Desc string
}

func (e *ProtocolError) Error() string {
	if e.Desc == "" {
		return e.Code
	}
	return e.Code + " " + e.Desc
}

// parseProtocolError splits an error frame's data.
func parseProtocolError(data []byte) *ProtocolError {
	code, desc, _ := strings.Cut(string(data), " ")
	return &ProtocolError{Code: code, Desc: desc}
}

// fatal reports whether nsqd closes the connection after sending e: every
// code is fatal except the three message-ack failures.
func (e *ProtocolError) fatal() bool {
	switch e.Code {
	case "E_FIN_FAILED", "E_REQ_FAILED", "E_TOUCH_FAILED":
		return false
	}
	return true
}
