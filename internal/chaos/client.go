package chaos

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// conn is a bare NSQ V2 connection: the harness speaks the wire protocol
// itself so that every byte it sends, and when, is under its control (a
// client library would retry, batch or hide what the checker must see).
type conn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

const (
	frameResponse = 0
	frameError    = 1
	frameMessage  = 2
	// maxFrame bounds what the harness accepts from the daemon under test.
	maxFrame = 16 << 20
)

func dial(addr string, timeout time.Duration) (*conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	k := &conn{c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 64<<10)}
	c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := k.w.WriteString("  V2"); err == nil {
		err = k.w.Flush()
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("magic: %w", err)
	}
	return k, nil
}

func (k *conn) close() { k.c.Close() }

// send writes and flushes one or more commands with a write deadline.
func (k *conn) send(timeout time.Duration, b []byte) error {
	k.c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := k.w.Write(b); err != nil {
		return err
	}
	return k.w.Flush()
}

// frame reads one frame.
func (k *conn) frame(timeout time.Duration) (int32, []byte, error) {
	k.c.SetReadDeadline(time.Now().Add(timeout))
	var hdr [8]byte
	if _, err := io.ReadFull(k.r, hdr[:]); err != nil {
		return 0, nil, err
	}
	size := int32(binary.BigEndian.Uint32(hdr[:4]))
	if size < 4 || size > maxFrame {
		return 0, nil, fmt.Errorf("frame size %d", size)
	}
	data := make([]byte, size-4)
	if _, err := io.ReadFull(k.r, data); err != nil {
		return 0, nil, err
	}
	return int32(binary.BigEndian.Uint32(hdr[4:])), data, nil
}

// answer reads the response to a command, answering heartbeats on the way.
// A message frame here is a protocol violation (publishers never SUB).
func (k *conn) answer(timeout time.Duration) (string, error) {
	for {
		kind, data, err := k.frame(timeout)
		if err != nil {
			return "", err
		}
		switch kind {
		case frameResponse:
			if string(data) == "_heartbeat_" {
				if err := k.send(timeout, []byte("NOP\n")); err != nil {
					return "", err
				}
				continue
			}
			return string(data), nil
		case frameError:
			return "", &errFrame{string(data)}
		default:
			return "", fmt.Errorf("unexpected frame type %d awaiting a response", kind)
		}
	}
}

// errFrame is an E_* answer: the command was refused, a definite outcome.
type errFrame struct{ text string }

func (e *errFrame) Error() string { return e.text }

func isRefusal(err error) bool {
	var e *errFrame
	return errors.As(err, &e)
}

func appendSized(dst, body []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...)
}

func pubCommand(topic string, body []byte) []byte {
	return appendSized([]byte("PUB "+topic+"\n"), body)
}

func dpubCommand(topic string, delay time.Duration, body []byte) []byte {
	return appendSized([]byte("DPUB "+topic+" "+strconv.FormatInt(delay.Milliseconds(), 10)+"\n"), body)
}

func mpubCommand(topic string, bodies [][]byte) []byte {
	size := 4
	for _, b := range bodies {
		size += 4 + len(b)
	}
	cmd := []byte("MPUB " + topic + "\n")
	cmd = binary.BigEndian.AppendUint32(cmd, uint32(size))
	cmd = binary.BigEndian.AppendUint32(cmd, uint32(len(bodies)))
	for _, b := range bodies {
		cmd = appendSized(cmd, b)
	}
	return cmd
}

// message is a decoded message frame.
type message struct {
	id       string
	attempts uint16
	body     []byte
}

func decodeMessage(data []byte) (message, error) {
	if len(data) < 26 {
		return message{}, fmt.Errorf("message frame of %d bytes", len(data))
	}
	return message{
		attempts: binary.BigEndian.Uint16(data[8:10]),
		id:       string(data[10:26]),
		body:     data[26:],
	}, nil
}
