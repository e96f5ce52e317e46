package diskqueue

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// meta is the persistent state of a queue (see FORMAT.md, "Metadata file").
type meta struct {
	depth               int64
	readFile, readPos   int64
	writeFile, writePos int64
	// legacyEnd: segments numbered below it were written by upstream nsqd
	// (unless they carry our magic); 0 for a queue that never adopted any.
	legacyEnd int64
	// FIN progress (version 2, progress.go): records starting between the
	// read position and readEnd were read, and are finished unless they
	// start in one of unfinished. Zero (version 1): nothing is known past
	// the read position; unfinished is then empty.
	readEnd    position
	unfinished []span
}

// progress reports whether m carries anything version 1 cannot say.
func (m meta) progress() bool { return m.readEnd != (position{}) }

// equal compares two metadata states, spans included.
func (m meta) equal(o meta) bool {
	if len(m.unfinished) != len(o.unfinished) {
		return false
	}
	for i := range m.unfinished {
		if m.unfinished[i] != o.unfinished[i] {
			return false
		}
	}
	return m.depth == o.depth && m.readFile == o.readFile && m.readPos == o.readPos &&
		m.writeFile == o.writeFile && m.writePos == o.writePos &&
		m.legacyEnd == o.legacyEnd && m.readEnd == o.readEnd
}

type metaKind int

const (
	metaMissing  metaKind = iota // no metadata file
	metaOurs                     // our format, checksum verified
	metaUpstream                 // upstream nsqd's three-line format
	metaCorrupt                  // present but unreadable as either
)

const metaMagic = "nsqgo-diskqueue-meta"

// encode renders m in our format: a versioned first line, one key per line,
// and a checksum line over everything before it. Text, so an operator can
// read it; checksummed, so a damaged file is detected rather than trusted.
// Version 1 when there is no progress past the read position to record (a
// queue with nothing in flight, as after a clean Close), so that builds
// which know only version 1 can still open it; version 2 otherwise.
func (m meta) encode() []byte {
	version := 1
	if m.progress() {
		version = 2
	}
	b := fmt.Appendf(nil, "%s %d\ndepth %d\nread %d,%d\nwrite %d,%d\nlegacy-end %d\n",
		metaMagic, version, m.depth, m.readFile, m.readPos, m.writeFile, m.writePos, m.legacyEnd)
	if version == 2 {
		b = fmt.Appendf(b, "read-end %d,%d\nunfinished %d\n", m.readEnd.file, m.readEnd.off, len(m.unfinished))
		for _, s := range m.unfinished {
			b = strconv.AppendInt(b, s.file, 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, s.first, 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, s.last, 10)
			b = append(b, '\n')
		}
	}
	return fmt.Appendf(b, "crc32c %08x\n", checksum(b))
}

// errMetaNewer marks metadata written by a newer version of this package;
// it is refused, never treated as damage.
var errMetaNewer = errors.New("metadata format is newer than this build")

// decodeMeta parses either format. Upstream's is told apart by its first
// line, a bare integer, where ours starts with metaMagic.
func decodeMeta(b []byte) (meta, metaKind, error) {
	if bytes.HasPrefix(b, []byte(metaMagic+" ")) {
		m, err := decodeOurMeta(b)
		if err != nil {
			return m, metaCorrupt, err
		}
		return m, metaOurs, nil
	}
	m, err := decodeUpstreamMeta(b)
	if err != nil {
		return m, metaCorrupt, err
	}
	return m, metaUpstream, nil
}

func decodeOurMeta(b []byte) (meta, error) {
	var m meta
	lines, err := checkedLines(b)
	if err != nil {
		return m, err
	}
	var version int
	switch lines[0] {
	case metaMagic + " 1":
		version = 1
		if len(lines) != 5 {
			return m, fmt.Errorf("%d lines, want 6", len(lines)+1)
		}
	case metaMagic + " 2":
		version = 2
		if len(lines) < 7 {
			return m, fmt.Errorf("%d lines, want at least 8", len(lines)+1)
		}
	default:
		v, _ := strings.CutPrefix(lines[0], metaMagic+" ")
		return m, fmt.Errorf("version %q: %w", v, errMetaNewer)
	}
	l := lineReader{lines: lines, next: 1}
	l.field("depth", &m.depth, nil)
	l.field("read", &m.readFile, &m.readPos)
	l.field("write", &m.writeFile, &m.writePos)
	l.field("legacy-end", &m.legacyEnd, nil)
	if l.err != nil {
		return m, l.err
	}
	if version == 2 {
		// Version 2's FIN progress: "read-end f,p", "unfinished k" and the
		// k span lines, the last lines of the file.
		var k int64
		l.field("read-end", &m.readEnd.file, &m.readEnd.off)
		l.field("unfinished", &k, nil)
		if l.err != nil {
			return m, l.err
		}
		if k != int64(len(lines)-l.next) {
			return m, fmt.Errorf("unfinished %d, but %d span lines", k, len(lines)-l.next)
		}
		if m.unfinished, err = l.spans(k); err != nil {
			return m, err
		}
		if !m.progress() {
			// encode would write version 1: not a file this package writes.
			return m, errors.New("version 2 without progress")
		}
	}
	return m, m.check()
}

// checkedLines verifies the checksum line that ends our metadata files
// (the queue's and a cursor's, cursormeta.go) and returns the lines before
// it.
func checkedLines(b []byte) ([]string, error) {
	body, sumLine, ok := cutLastLine(b)
	if !ok {
		return nil, errors.New("no checksum line")
	}
	hex, ok := strings.CutPrefix(sumLine, "crc32c ")
	if !ok || len(hex) != 8 {
		return nil, fmt.Errorf("bad checksum line %q", sumLine)
	}
	want, err := strconv.ParseUint(hex, 16, 32)
	if err != nil {
		return nil, fmt.Errorf("bad checksum line %q", sumLine)
	}
	if got := checksum(body); uint32(want) != got {
		return nil, fmt.Errorf("checksum mismatch: file says %08x, content is %08x", want, got)
	}
	return strings.Split(strings.TrimSuffix(string(body), "\n"), "\n"), nil
}

// lineReader reads the lines of a metadata file in order: lines[next] is
// the next, line next+1 of the file. err is the first error of field,
// after which field does nothing.
type lineReader struct {
	lines []string
	next  int
	err   error
}

// field reads the line "key a" (b nil) or "key a,b".
func (l *lineReader) field(key string, a, b *int64) {
	if l.err != nil {
		return
	}
	if l.next >= len(l.lines) {
		l.err = fmt.Errorf("line %d: want %q, file ends", l.next+1, key)
		return
	}
	v, ok := strings.CutPrefix(l.lines[l.next], key+" ")
	if !ok {
		l.err = fmt.Errorf("line %d: want %q", l.next+1, key)
		return
	}
	if err := parseInts(v, a, b); err != nil {
		l.err = fmt.Errorf("line %d (%s): %w", l.next+1, key, err)
		return
	}
	l.next++
}

// spans reads n span lines "file,first,last" (FIN progress, progress.go).
// Nothing is allocated by a declared count: n must not exceed the lines
// left, so the spans are as many as the lines present.
func (l *lineReader) spans(n int64) ([]span, error) {
	if n < 0 || n > int64(len(l.lines)-l.next) {
		return nil, fmt.Errorf("unfinished %d, but %d lines left", n, len(l.lines)-l.next)
	}
	if n == 0 {
		return nil, nil
	}
	out := make([]span, 0, n)
	for range n {
		var s span
		line := l.lines[l.next]
		f, rest, ok := strings.Cut(line, ",")
		if !ok {
			return nil, fmt.Errorf("line %d: malformed span %q", l.next+1, line)
		}
		if err := errors.Join(parseInts(f, &s.file, nil), parseInts(rest, &s.first, &s.last)); err != nil {
			return nil, fmt.Errorf("line %d: %w", l.next+1, err)
		}
		out = append(out, s)
		l.next++
	}
	return out, nil
}

// decodeUpstreamMeta parses upstream's "%d\n%d,%d\n%d,%d\n".
func decodeUpstreamMeta(b []byte) (meta, error) {
	var m meta
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) != 3 {
		return m, fmt.Errorf("%d lines, want 3", len(lines))
	}
	if err := parseInts(lines[0], &m.depth, nil); err != nil {
		return m, fmt.Errorf("depth: %w", err)
	}
	if err := parseInts(lines[1], &m.readFile, &m.readPos); err != nil {
		return m, fmt.Errorf("read position: %w", err)
	}
	if err := parseInts(lines[2], &m.writeFile, &m.writePos); err != nil {
		return m, fmt.Errorf("write position: %w", err)
	}
	// Upstream's depth can drift below zero; ours is reconciled at the tail.
	m.depth = max(m.depth, 0)
	return m, m.check()
}

// parseInts parses "a" (b nil) or "a,b" as decimal int64s.
func parseInts(s string, a, b *int64) error {
	s = strings.TrimSpace(s)
	first, second, comma := strings.Cut(s, ",")
	if comma != (b != nil) {
		return fmt.Errorf("malformed %q", s)
	}
	v, err := strconv.ParseInt(first, 10, 64)
	if err != nil {
		return fmt.Errorf("malformed %q", s)
	}
	*a = v
	if b != nil {
		if *b, err = strconv.ParseInt(second, 10, 64); err != nil {
			return fmt.Errorf("malformed %q", s)
		}
	}
	return nil
}

// check rejects states no writer produces: negative positions, or a read
// position past the write position.
func (m meta) check() error {
	switch {
	case m.readFile < 0 || m.readPos < 0 || m.writeFile < 0 || m.writePos < 0 || m.legacyEnd < 0:
		return errors.New("negative position")
	case m.readFile > m.writeFile || (m.readFile == m.writeFile && m.readPos > m.writePos):
		return fmt.Errorf("read position %d,%d is past write position %d,%d",
			m.readFile, m.readPos, m.writeFile, m.writePos)
	}
	if !m.progress() {
		if len(m.unfinished) > 0 {
			return errors.New("unfinished records without a read end")
		}
		return nil
	}
	read, write := position{m.readFile, m.readPos}, position{m.writeFile, m.writePos}
	if !read.less(m.readEnd) || write.less(m.readEnd) {
		return fmt.Errorf("read end %d,%d is not after the read position and within the write position", m.readEnd.file, m.readEnd.off)
	}
	// Spans: sorted, disjoint, each within [read, readEnd).
	for i, s := range m.unfinished {
		if s.first < 0 || s.first > s.last || s.start().less(read) || !s.end().less(m.readEnd) ||
			i > 0 && !m.unfinished[i-1].end().less(s.start()) {
			return fmt.Errorf("unfinished span %d (%d,%d,%d) is out of order or outside %d,%d..%d,%d",
				i, s.file, s.first, s.last, m.readFile, m.readPos, m.readEnd.file, m.readEnd.off)
		}
	}
	return nil
}

func cutLastLine(b []byte) (body []byte, last string, ok bool) {
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return nil, "", false
	}
	i := bytes.LastIndexByte(b[:len(b)-1], '\n')
	if i < 0 {
		return nil, "", false
	}
	return b[:i+1], string(b[i+1 : len(b)-1]), true
}

// readMeta loads the metadata file. A missing file is metaMissing with a nil
// error; an unreadable file is an error; undecodable content is metaCorrupt
// with the reason.
func readMeta(path string) (meta, metaKind, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return meta{}, metaMissing, nil
	}
	if err != nil {
		return meta{}, metaMissing, fmt.Errorf("read metadata: %w", err)
	}
	return decodeMeta(b)
}

// writeMeta replaces the metadata file atomically: temp file, fsync, rename,
// fsync of the directory. A crash leaves either the old or the new file
// (and perhaps a temp file, removed at the next Open).
func writeMeta(path string, m meta) error {
	return writeFileAtomic(path, m.encode())
}
