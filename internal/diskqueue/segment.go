package diskqueue

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Segment header of our format (see FORMAT.md):
//
//	0  8 bytes    magic "\x89NSQDQ\r\n"
//	8  uint16 BE  format version (1)
//	10 uint16 BE  flags (0; reserved)
//	12 uint32 BE  CRC32C of bytes 0..11
//
// The first magic byte has its high bit set: read as upstream's int32 length
// prefix it is negative, which no upstream segment can start with, so the
// magic alone tells the two formats apart.
const segHeaderSize = 16

const formatVersion = 1

var segMagic = [8]byte{0x89, 'N', 'S', 'Q', 'D', 'Q', '\r', '\n'}

// format is the framing of one segment file.
type format int

const (
	formatV1     format = iota + 1 // ours: header + checksummed records
	formatLegacy                   // upstream nsqd 1.3: int32 length + payload
)

func appendSegmentHeader(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, segMagic[:]...)
	dst = binary.BigEndian.AppendUint16(dst, formatVersion)
	dst = binary.BigEndian.AppendUint16(dst, 0)
	return binary.BigEndian.AppendUint32(dst, checksum(dst[start:]))
}

// headerState is what the first bytes of a version-1 segment say.
type headerState int

const (
	headerOK          headerState = iota
	headerTorn                    // fewer than segHeaderSize bytes
	headerNoMagic                 // magic absent: damaged, or never written
	headerBadChecksum             // magic present, checksum wrong
	headerNewer                   // intact header naming a version we cannot read
)

// checkSegmentHeader classifies b, the first bytes of a segment (up to
// segHeaderSize of them).
func checkSegmentHeader(b []byte) (headerState, uint16) {
	if len(b) < len(segMagic) {
		if bytes.HasPrefix(segMagic[:], b) {
			return headerTorn, 0
		}
		return headerNoMagic, 0
	}
	if !bytes.Equal(b[:len(segMagic)], segMagic[:]) {
		return headerNoMagic, 0
	}
	if len(b) < segHeaderSize {
		return headerTorn, 0
	}
	if binary.BigEndian.Uint32(b[12:16]) != checksum(b[:12]) {
		return headerBadChecksum, 0
	}
	v := binary.BigEndian.Uint16(b[8:10])
	if v != formatVersion {
		return headerNewer, v
	}
	return headerOK, v
}

// hasMagic reports whether b starts with our segment magic.
func hasMagic(b []byte) bool {
	return len(b) >= len(segMagic) && bytes.Equal(b[:len(segMagic)], segMagic[:])
}

// sniffFormat decides the framing of a segment from its first bytes.
// Segments numbered below the queue's legacy boundary are upstream's unless
// they carry our magic; every other segment is ours, even with a damaged or
// missing header (the record scan then finds its records).
func sniffFormat(src io.ReaderAt, legacyHint bool) (format, error) {
	var b [len(segMagic)]byte
	n, err := src.ReadAt(b[:], 0)
	if err != nil && err != io.EOF {
		return 0, err
	}
	if hasMagic(b[:n]) || !legacyHint {
		return formatV1, nil
	}
	return formatLegacy, nil
}

// File names. Upstream names a queue's files "<name>.diskqueue.%06d.dat" and
// "<name>.diskqueue.meta.dat"; we keep both so that an upstream directory is
// adopted in place.

func segmentFileName(name string, n int64) string {
	return fmt.Sprintf("%s.diskqueue.%06d.dat", name, n)
}

func metaFileName(name string) string { return name + ".diskqueue.meta.dat" }

// damagedFileName names the side file that keeps the bytes of a damaged
// region starting at off of segment n.
func damagedFileName(name string, n, off int64) string {
	return fmt.Sprintf("%s.%d.damaged", segmentFileName(name, n), off)
}

// fileKind classifies a directory entry that belongs to a queue.
type fileKind int

const (
	kindOther      fileKind = iota // not one of this queue's files
	kindSegment                    // <name>.diskqueue.<n>.dat
	kindMeta                       // <name>.diskqueue.meta.dat
	kindMetaTemp                   // <name>.diskqueue.meta.dat.<digits>.tmp (atomic-write leftover)
	kindDamaged                    // <name>.diskqueue.<n>.dat.<off>.damaged (our side files)
	kindBad                        // <name>.diskqueue.<n>.dat.bad (upstream's quarantine)
	kindCursorMeta                 // <name>.diskqueue.cursor.<cursor>.meta.dat (cursor.go)
	kindCursorTemp                 // <name>.diskqueue.cursor.<cursor>.meta.dat.<digits>.tmp
)

// classify reports whether file (a base name) is one of queue name's files.
// The match is exact on every part, so the files of a queue whose name
// happens to start with "<name>.diskqueue." are never taken for ours.
func classify(name, file string) (fileKind, int64) {
	rest, ok := strings.CutPrefix(file, name+".diskqueue.")
	if !ok {
		return kindOther, 0
	}
	if rest == "meta.dat" {
		return kindMeta, 0
	}
	if c, ok := strings.CutPrefix(rest, "cursor."); ok {
		return classifyCursor(c), 0
	}
	if t, ok := strings.CutPrefix(rest, "meta.dat."); ok {
		if d, ok := strings.CutSuffix(t, ".tmp"); ok && isDigits(d) {
			return kindMetaTemp, 0
		}
		return kindOther, 0
	}
	digits, tail, ok := strings.Cut(rest, ".")
	if !ok || !isDigits(digits) {
		return kindOther, 0
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || fmt.Sprintf("%06d", n) != digits {
		// Only the canonical spelling is ours: two spellings of one number
		// must never both count as that segment.
		return kindOther, 0
	}
	switch {
	case tail == "dat":
		return kindSegment, n
	case tail == "dat.bad":
		return kindBad, n
	}
	if off, ok := strings.CutPrefix(tail, "dat."); ok {
		if d, ok := strings.CutSuffix(off, ".damaged"); ok && isDigits(d) {
			return kindDamaged, n
		}
	}
	return kindOther, 0
}

// classifyCursor classifies rest, a file name after
// "<name>.diskqueue.cursor.": a cursor's metadata or its atomic-write
// leftover, when the cursor name in it is valid (validCursorName, whose
// ".diskqueue" rule keeps another queue's files from matching).
func classifyCursor(rest string) fileKind {
	if c, ok := strings.CutSuffix(rest, ".meta.dat"); ok {
		if validCursorName(c) == nil {
			return kindCursorMeta
		}
		return kindOther
	}
	if c, ok := strings.CutSuffix(rest, ".meta.dat.damaged"); ok {
		if validCursorName(c) == nil {
			return kindDamaged // an unreadable cursor metadata file, kept
		}
		return kindOther
	}
	if t, ok := strings.CutSuffix(rest, ".tmp"); ok {
		i := strings.LastIndex(t, ".meta.dat.")
		if i > 0 && isDigits(t[i+len(".meta.dat."):]) && validCursorName(t[:i]) == nil {
			return kindCursorTemp
		}
	}
	return kindOther
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// queueFiles is a listing of one queue's files in its directory.
type queueFiles struct {
	segments []int64  // sorted ascending
	temps    []string // stale metadata temporaries
	extra    []string // side files (damaged, bad)
	cursors  []string // cursor names with a metadata file (cursor.go)
}

func listQueueFiles(dir, name string) (queueFiles, error) {
	var qf queueFiles
	entries, err := os.ReadDir(dir)
	if err != nil {
		return qf, fmt.Errorf("list %s: %w", dir, err)
	}
	for _, e := range entries {
		kind, n := classify(name, e.Name())
		switch kind {
		case kindSegment:
			if e.Type().IsRegular() {
				qf.segments = append(qf.segments, n)
			}
		case kindMetaTemp, kindCursorTemp:
			qf.temps = append(qf.temps, e.Name())
		case kindCursorMeta:
			c := strings.TrimSuffix(strings.TrimPrefix(e.Name(), name+".diskqueue.cursor."), ".meta.dat")
			qf.cursors = append(qf.cursors, c)
		case kindDamaged, kindBad:
			qf.extra = append(qf.extra, e.Name())
		}
	}
	slices.Sort(qf.segments)
	return qf, nil
}

func segmentPath(dir, name string, n int64) string {
	return filepath.Join(dir, segmentFileName(name, n))
}

// Exists reports whether queue name has metadata or segments in dir, so a
// caller can leave a queue it may never need unopened until it does.
func Exists(dir, name string) (bool, error) {
	if _, err := os.Stat(filepath.Join(dir, metaFileName(name))); err == nil {
		return true, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("diskqueue %s: %w", name, err)
	}
	files, err := listQueueFiles(dir, name)
	if err != nil {
		return false, fmt.Errorf("diskqueue %s: %w", name, err)
	}
	return len(files.segments) > 0, nil
}
