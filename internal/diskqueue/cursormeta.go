package diskqueue

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// A cursor's metadata file (FORMAT.md, "Cursor metadata file"): its read
// position (the frontier, as the queue's metadata has it), FIN progress
// past it, and the intervals of write positions it is joined over.

// interval is a range of write positions a cursor was joined over: a record
// is the cursor's when its start lies in [start, end). An open interval
// (the cursor is joined now) has no end yet.
type interval struct {
	start, end position
	open       bool
}

// after reports whether the interval still holds positions at or after p.
func (iv interval) after(p position) bool { return iv.open || p.less(iv.end) }

// limit is where a read of the interval stops when the write end is
// write: its end, or the write end when that comes first (or it is open).
func (iv interval) limit(write position) position {
	if !iv.open && iv.end.less(write) {
		return iv.end
	}
	return write
}

// cursorMeta is the persistent state of one cursor.
type cursorMeta struct {
	depth int64
	read  position // the frontier: oldest outstanding record, or the next to read
	// readEnd and unfinished: FIN progress past read, as meta's (progress.go).
	readEnd    position
	unfinished []span
	intervals  []interval // sorted, disjoint; only the last may be open
}

func (m cursorMeta) progress() bool { return m.readEnd != (position{}) }

func (m cursorMeta) joined() bool {
	return len(m.intervals) > 0 && m.intervals[len(m.intervals)-1].open
}

func (m cursorMeta) equal(o cursorMeta) bool {
	if m.depth != o.depth || m.read != o.read || m.readEnd != o.readEnd ||
		len(m.unfinished) != len(o.unfinished) || len(m.intervals) != len(o.intervals) {
		return false
	}
	for i := range m.unfinished {
		if m.unfinished[i] != o.unfinished[i] {
			return false
		}
	}
	for i := range m.intervals {
		if m.intervals[i] != o.intervals[i] {
			return false
		}
	}
	return true
}

const cursorMetaMagic = "nsqgo-diskqueue-cursor"

// encode renders m: a versioned first line, one key per line, the span and
// interval lists each after its count, and a checksum line over everything
// before it, as the queue's metadata (meta.go). An open interval's end is
// written "-1,-1".
func (m cursorMeta) encode() []byte {
	b := fmt.Appendf(nil, "%s 1\ndepth %d\nread %d,%d\nread-end %d,%d\nunfinished %d\n",
		cursorMetaMagic, m.depth, m.read.file, m.read.off, m.readEnd.file, m.readEnd.off, len(m.unfinished))
	for _, s := range m.unfinished {
		b = fmt.Appendf(b, "%d,%d,%d\n", s.file, s.first, s.last)
	}
	b = fmt.Appendf(b, "intervals %d\n", len(m.intervals))
	for _, iv := range m.intervals {
		end := iv.end
		if iv.open {
			end = position{-1, -1}
		}
		b = fmt.Appendf(b, "%d,%d,%d,%d\n", iv.start.file, iv.start.off, end.file, end.off)
	}
	return fmt.Appendf(b, "crc32c %08x\n", checksum(b))
}

// decodeCursorMeta parses a cursor's metadata file: outside bytes, checked
// line by line and then as a whole (check). Nothing is allocated by a
// declared count: each list is as long as its lines, which must match it.
func decodeCursorMeta(b []byte) (cursorMeta, error) {
	var m cursorMeta
	lines, err := checkedLines(b)
	if err != nil {
		return m, err
	}
	if lines[0] != cursorMetaMagic+" 1" {
		if v, ok := strings.CutPrefix(lines[0], cursorMetaMagic+" "); ok {
			return m, fmt.Errorf("version %q: %w", v, errMetaNewer)
		}
		return m, fmt.Errorf("first line %q is not a cursor's", lines[0])
	}
	if len(lines) < 6 {
		return m, fmt.Errorf("%d lines, want at least 7", len(lines)+1)
	}
	l := lineReader{lines: lines, next: 1}
	var nSpans, nIntervals int64
	l.field("depth", &m.depth, nil)
	l.field("read", &m.read.file, &m.read.off)
	l.field("read-end", &m.readEnd.file, &m.readEnd.off)
	l.field("unfinished", &nSpans, nil)
	if l.err != nil {
		return m, l.err
	}
	if m.unfinished, err = l.spans(nSpans); err != nil {
		return m, err
	}
	if l.field("intervals", &nIntervals, nil); l.err != nil {
		return m, l.err
	}
	if nIntervals != int64(len(lines)-l.next) {
		return m, fmt.Errorf("intervals %d, but %d interval lines", nIntervals, len(lines)-l.next)
	}
	for ; l.next < len(lines); l.next++ {
		var iv interval
		line := lines[l.next]
		a, rest, ok := strings.Cut(line, ",")
		b, c, ok2 := strings.Cut(rest, ",")
		if !ok || !ok2 {
			return m, fmt.Errorf("line %d: malformed interval %q", l.next+1, line)
		}
		if err := errors.Join(parseInts(a, &iv.start.file, nil), parseInts(b, &iv.start.off, nil),
			parseInts(c, &iv.end.file, &iv.end.off)); err != nil {
			return m, fmt.Errorf("line %d: %w", l.next+1, err)
		}
		if iv.end == (position{-1, -1}) {
			iv.open, iv.end = true, position{}
		}
		m.intervals = append(m.intervals, iv)
	}
	return m, m.check()
}

// check rejects states no writer produces.
func (m cursorMeta) check() error {
	switch {
	case m.depth < 0:
		return errors.New("negative depth")
	case m.read.file < 0 || m.read.off < 0 || m.readEnd.file < 0 || m.readEnd.off < 0:
		return errors.New("negative position")
	case m.progress() && !m.read.less(m.readEnd):
		return fmt.Errorf("read end %d,%d is not after the read position %d,%d",
			m.readEnd.file, m.readEnd.off, m.read.file, m.read.off)
	case !m.progress() && len(m.unfinished) > 0:
		return errors.New("unfinished records without a read end")
	}
	for i, s := range m.unfinished {
		if s.first < 0 || s.first > s.last || s.start().less(m.read) || !s.end().less(m.readEnd) ||
			i > 0 && !m.unfinished[i-1].end().less(s.start()) {
			return fmt.Errorf("unfinished span %d (%d,%d,%d) is out of order or outside %d,%d..%d,%d",
				i, s.file, s.first, s.last, m.read.file, m.read.off, m.readEnd.file, m.readEnd.off)
		}
	}
	for i, iv := range m.intervals {
		switch {
		case iv.start.file < 0 || iv.start.off < 0 || iv.end.file < 0 || iv.end.off < 0:
			return fmt.Errorf("interval %d: negative position", i)
		case iv.open && i != len(m.intervals)-1:
			return fmt.Errorf("interval %d is open but not the last", i)
		case !iv.open && !iv.start.less(iv.end):
			return fmt.Errorf("interval %d is empty or reversed", i)
		case i > 0 && iv.start.less(m.intervals[i-1].end):
			return fmt.Errorf("interval %d overlaps the one before", i)
		}
	}
	return nil
}

// readCursorMeta loads a cursor's metadata file.
func readCursorMeta(path string) (cursorMeta, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return cursorMeta{}, fmt.Errorf("read cursor metadata: %w", err)
	}
	m, err := decodeCursorMeta(b)
	if err != nil {
		return m, fmt.Errorf("cursor metadata %s: %w", path, err)
	}
	return m, nil
}

// writeCursorMeta replaces a cursor's metadata file atomically, as
// writeMeta does the queue's.
func writeCursorMeta(path string, m cursorMeta) error {
	return writeFileAtomic(path, m.encode())
}

// cursorMetaFileName names cursor c's metadata file of queue name.
func cursorMetaFileName(name, c string) string {
	return name + ".diskqueue.cursor." + c + ".meta.dat"
}

// maxCursorName is nsqd's longest channel name.
const maxCursorName = 64

// validCursorName accepts nsqd's channel names ([.a-zA-Z0-9_-], 1 to 64
// bytes, optionally ending "#ephemeral") except those holding ".diskqueue":
// with it, another queue's files could parse as a cursor's of this one
// (a queue named "t.diskqueue.cursor.x" has "t.diskqueue.cursor.x.diskqueue.meta.dat").
func validCursorName(c string) error {
	base := strings.TrimSuffix(c, "#ephemeral")
	if base == "" || len(c) > maxCursorName {
		return fmt.Errorf("cursor name %q: want 1 to %d bytes", c, maxCursorName)
	}
	for i := 0; i < len(base); i++ {
		ch := base[i]
		if !(ch == '.' || ch == '_' || ch == '-' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9') {
			return fmt.Errorf("cursor name %q: byte %q not allowed", c, ch)
		}
	}
	if strings.Contains(c, ".diskqueue") {
		return fmt.Errorf("cursor name %q: must not contain \".diskqueue\"", c)
	}
	return nil
}

// writeFileAtomic replaces the file at path with b: temp file, fsync,
// rename, fsync of the directory.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write metadata: %w", err)
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write metadata %s: %w", path, err)
	}
	return syncDir(dir)
}
