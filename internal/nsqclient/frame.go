package nsqclient

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/nsqgo/nsq/internal/protocol"
)

// ErrBadFrame reports bytes from nsqd that are not a valid V2 frame.
var ErrBadFrame = errors.New("bad frame")

// eagerFrameLimit is the largest frame whose buffer is allocated up front;
// beyond it the buffer grows only as bytes actually arrive, so a corrupt
// size word cannot make us allocate gigabytes.
const eagerFrameLimit = 1 << 20

// readFrame reads one server frame: int32 size, int32 type, data. The data
// slice is freshly allocated, so it may be kept (message bodies are).
func readFrame(r io.Reader) (frameType int32, data []byte, err error) {
	var head [8]byte
	if _, err := io.ReadFull(r, head[:4]); err != nil {
		return 0, nil, err
	}
	size := int32(binary.BigEndian.Uint32(head[:4]))
	if size < 4 {
		return 0, nil, fmt.Errorf("%w: size %d", ErrBadFrame, size)
	}
	if _, err := io.ReadFull(r, head[4:8]); err != nil {
		return 0, nil, unexpectedEOF(err)
	}
	frameType = int32(binary.BigEndian.Uint32(head[4:8]))
	n := int64(size) - 4
	if n <= eagerFrameLimit {
		data = make([]byte, n)
		if _, err := io.ReadFull(r, data); err != nil {
			return 0, nil, unexpectedEOF(err)
		}
	} else {
		var buf bytes.Buffer
		buf.Grow(eagerFrameLimit)
		if _, err := io.CopyN(&buf, r, n); err != nil {
			return 0, nil, unexpectedEOF(err)
		}
		data = buf.Bytes()
	}
	if err := checkFrame(frameType, data); err != nil {
		return 0, nil, err
	}
	return frameType, data, nil
}

// checkFrame rejects what go-nsq treats as an I/O error: an unknown frame
// type, or a message shorter than its header.
func checkFrame(frameType int32, data []byte) error {
	switch frameType {
	case protocol.FrameTypeResponse, protocol.FrameTypeError:
		return nil
	case protocol.FrameTypeMessage:
		if len(data) < protocol.MessageHeaderLength {
			return fmt.Errorf("%w: message of %d bytes", ErrBadFrame, len(data))
		}
		return nil
	}
	return fmt.Errorf("%w: unknown frame type %d", ErrBadFrame, frameType)
}

// unexpectedEOF turns a clean EOF inside a frame into ErrUnexpectedEOF: the
// stream ended mid-frame, which is never a clean close.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
