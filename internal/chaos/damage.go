package chaos

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
)

// Segment layout (internal/diskqueue/FORMAT.md, "Segment, version 1"): a 16-byte header
// starting with the magic, then records of a 12-byte header (length, data
// CRC, header CRC) and the data. The harness reads it only to aim damage at
// one record and learn which message it held.
var (
	segMagic   = []byte("\x89NSQDQ\r\n")
	segPattern = regexp.MustCompile(`^(.*)\.diskqueue\.([0-9]{6,})\.dat$`)
)

const (
	segHeaderSize = 16
	recHeaderSize = 12
)

// closedSegments lists, per queue, every segment but the newest (the one
// being written): those are sealed and only ever read.
func closedSegments(dataDir string) ([]string, error) {
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return nil, err
	}
	newest := map[string]int64{}
	type seg struct {
		queue string
		num   int64
		path  string
	}
	var segs []seg
	for _, e := range entries {
		m := segPattern.FindStringSubmatch(e.Name())
		if m == nil || !e.Type().IsRegular() {
			continue
		}
		num, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			continue
		}
		segs = append(segs, seg{m[1], num, filepath.Join(dataDir, e.Name())})
		if cur, ok := newest[m[1]]; !ok || num > cur {
			newest[m[1]] = num
		}
	}
	var out []string
	for _, s := range segs {
		if s.num < newest[s.queue] {
			out = append(out, s.path)
		}
	}
	slices.Sort(out)
	return out, nil
}

// recordSpans returns [start, end) of each intact-looking record of one of
// our segments, in order, stopping at the first that does not fit.
func recordSpans(b []byte) [][2]int {
	if !bytes.HasPrefix(b, segMagic) {
		return nil
	}
	var out [][2]int
	for pos := segHeaderSize; pos+recHeaderSize <= len(b); {
		n := int(binary.BigEndian.Uint32(b[pos:]))
		end := pos + recHeaderSize + n
		if n < 0 || end > len(b) || end < pos {
			break
		}
		out = append(out, [2]int{pos, end})
		pos = end
	}
	return out
}

// flipClosedSegment flips one byte of one record of a random closed
// segment, with the daemon down, and returns the ids of the messages that
// record held (their loss is then allowed).
func flipClosedSegment(dataDir string, rng *rand.Rand) (detail string, ids []string, err error) {
	segs, err := closedSegments(dataDir)
	if err != nil {
		return "", nil, err
	}
	if len(segs) == 0 {
		return "no closed segment", nil, nil
	}
	path := segs[rng.IntN(len(segs))]
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	recs := recordSpans(b)
	if len(recs) == 0 {
		return filepath.Base(path) + ": no record", nil, nil
	}
	r := recs[rng.IntN(len(recs))]
	off := r[0] + rng.IntN(r[1]-r[0])
	ids = idsIn(b[r[0]:r[1]])
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return "", ids, err
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{b[off] ^ byte(1+rng.IntN(255))}, int64(off)); err != nil {
		return "", ids, err
	}
	if err := f.Sync(); err != nil {
		return "", ids, err
	}
	return fmt.Sprintf("%s offset %d (record at %d holding %v)", filepath.Base(path), off, r[0], ids), ids, nil
}
