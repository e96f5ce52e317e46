package diskqueue

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Record framing of format version 1 (see FORMAT.md):
//
//	0  uint32 BE  length n of the record bytes
//	4  uint32 BE  CRC32C of the n record bytes
//	8  uint32 BE  CRC32C of bytes 0..7 (header check)
//	12 n bytes    record
//
// The header carries its own checksum so that a scan for the next intact
// record after damage can reject a candidate position from 12 bytes, without
// touching (or buffering) the length it claims.
const recHeaderSize = 12

// legacyHeaderSize is the int32 length prefix of upstream's framing.
const legacyHeaderSize = 4

// readCeiling bounds the length of a version-1 record accepted on read when
// it exceeds MaxMsgSize. Checksums make an intact record trustworthy whatever
// the current limits, so lowering --max-msg-size does not turn stored
// records into damage; the ceiling only bounds memory.
const readCeiling = 64 << 20

// castagnoli is the CRC32C table; crc32 uses the SSE4.2/ARMv8 instruction
// when available. It is written once at init and only read afterwards.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// appendRecord appends the framed form of data to dst.
func appendRecord(dst, data []byte) []byte {
	// The header is built in place: a local array would escape to the heap
	// through the checksum call, one allocation per record.
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(data)))
	dst = binary.BigEndian.AppendUint32(dst, checksum(data))
	dst = binary.BigEndian.AppendUint32(dst, checksum(dst[start:start+8]))
	return append(dst, data...)
}

// recordHeader is a decoded version-1 record header.
type recordHeader struct {
	length  uint32
	dataCRC uint32
}

// parseRecordHeader decodes b[0:12]; ok is false when the header checksum
// does not match (the length cannot be trusted then).
func parseRecordHeader(b []byte) (h recordHeader, ok bool) {
	_ = b[recHeaderSize-1]
	if binary.BigEndian.Uint32(b[8:12]) != checksum(b[0:8]) {
		return h, false
	}
	h.length = binary.BigEndian.Uint32(b[0:4])
	h.dataCRC = binary.BigEndian.Uint32(b[4:8])
	return h, true
}

// appendLegacyRecord appends a record in upstream's framing (int32 BE length
// + payload). The queue never writes it; tests and tools use it to build
// upstream data.
func appendLegacyRecord(dst, data []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(data)))
	return append(dst, data...)
}

// appendRecordOf appends the framed form of req's record i to dst.
func appendRecordOf(dst []byte, req *putReq, i int) ([]byte, error) {
	if req.batch == nil {
		return appendRecord(dst, req.records[i]), nil
	}
	return appendBatchRecord(dst, req.batch, i)
}

// appendBatchRecord appends the framed form of b's record i to dst. The
// record is encoded in place after room for its header, which is filled in
// once the record's bytes are there; one whose length differs from what
// Size said is an error, with dst as it was (the size checks used Size).
func appendBatchRecord(dst []byte, b Batch, i int) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, recHeaderSize)...)
	dst = b.Append(dst, i)
	data := dst[start+recHeaderSize:]
	if want := b.Size(i); len(data) != want {
		return dst[:start], fmt.Errorf("put: record %d: Append gave %d bytes, Size said %d", i+1, len(data), want)
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(len(data)))
	binary.BigEndian.PutUint32(dst[start+4:], checksum(data))
	binary.BigEndian.PutUint32(dst[start+8:], checksum(dst[start:start+8]))
	return dst, nil
}
