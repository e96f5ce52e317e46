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

// Well-known response bodies.
var (
	OK         = []byte("OK")
	CloseWait  = []byte("CLOSE_WAIT")
	Heartbeat  = []byte("_heartbeat_")
	FrameHead  = 8 // size + type words
	SizeLength = 4
)

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
