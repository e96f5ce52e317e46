package protocol

import (
	"encoding/binary"
	"io"
)

// Frame types of the V2 server-to-client framing.
const (
	FrameTypeResponse int32 = 0
	FrameTypeError    int32 = 1
	FrameTypeMessage  int32 = 2
)

// MagicV2 opens every nsqd TCP connection; MagicV1 every lookupd one.
const (
	MagicV2 = "  V2"
	MagicV1 = "  V1"
)

// Well-known response bodies. They are sent as they are and never
// modified.
var (
	OK        = []byte("OK")
	CloseWait = []byte("CLOSE_WAIT")
	Heartbeat = []byte("_heartbeat_")
)

// FrameHead is the size and type words that precede a frame's data.
const FrameHead = 8

// AppendFrame appends one frame (size, type, data) to dst.
func AppendFrame(dst []byte, frameType int32, data []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(data)+4))
	dst = binary.BigEndian.AppendUint32(dst, uint32(frameType))
	return append(dst, data...)
}

// WriteFrame writes one frame with a single Write call.
func WriteFrame(w io.Writer, frameType int32, data []byte) error {
	buf := make([]byte, 0, FrameHead+len(data))
	_, err := w.Write(AppendFrame(buf, frameType, data))
	return err
}
