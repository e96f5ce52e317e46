package exepages

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// SmapsScanner reads a /proc/PID/smaps listing line by line: each mapping
// is a header line, "start-end perms offset dev inode [path]", followed by
// "Key: value" lines ("Rss:", "Anonymous:", "THPeligible:", "VmFlags:").
// It is the one reader of that format in the module: Release's (below)
// and internal/hugepage's Marked use it. It converts no line to a string:
// the listing has a few thousand lines, and Release runs in the process it
// means to shrink, where their garbage would be fresh heap pages.
type SmapsScanner struct {
	sc     *bufio.Scanner
	header SmapsHeader
	isHead bool
	key    []byte
	value  []byte
}

// SmapsHeader is a mapping's header line. Perms and Path point into the
// scanner's buffer: they hold until the next Scan.
type SmapsHeader struct {
	Start, End uint64
	Perms      []byte // "r-xp": at least two letters, read and write first
	Path       []byte // the rest of the line, which may hold spaces; empty for an anonymous mapping
}

// Readable and Writable read the header's permissions.
func (h *SmapsHeader) Readable() bool { return h.Perms[0] == 'r' }
func (h *SmapsHeader) Writable() bool { return h.Perms[1] == 'w' }

// NewSmapsScanner reads the listing r.
func NewSmapsScanner(r io.Reader) *SmapsScanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	return &SmapsScanner{sc: sc}
}

// Scan moves to the next line; false at the end of the listing or on a
// read error (Err).
func (s *SmapsScanner) Scan() bool {
	if !s.sc.Scan() {
		return false
	}
	line := s.sc.Bytes()
	s.header, s.isHead = parseHeader(line)
	s.key, s.value = nil, nil
	if !s.isHead {
		if k, v, ok := bytes.Cut(line, []byte(":")); ok {
			s.key, s.value = k, v
		}
	}
	return true
}

// Header is the line's mapping header; ok is false for any other line.
func (s *SmapsScanner) Header() (h *SmapsHeader, ok bool) { return &s.header, s.isHead }

// Field is the line's "Key: value" (value as written, spaces and all); ok
// is false for a header and for a line with no colon.
func (s *SmapsScanner) Field() (key, value []byte, ok bool) {
	return s.key, s.value, s.key != nil
}

// Line is the line as read, for error messages.
func (s *SmapsScanner) Line() []byte { return s.sc.Bytes() }

// Err is the read error that ended Scan, if any.
func (s *SmapsScanner) Err() error {
	if err := s.sc.Err(); err != nil {
		return fmt.Errorf("reading smaps: %w", err)
	}
	return nil
}

// span is one mapping Release may drop: [start, end) and how much of it is
// resident.
type span struct {
	start, end uint64
	rssBytes   int64
}

// smapsEntry is what selectSpans reads of one /proc/PID/smaps mapping.
type smapsEntry struct {
	start, end uint64
	readable   bool
	writable   bool
	ofExe      bool // the mapping's path is the executable's
	rssBytes   int64
	anonBytes  int64
	anonSeen   bool
}

// droppable says whether dropping the entry's pages loses nothing: a
// mapping of the executable that is neither writable nor holds any
// anonymous (copy-on-write) page. An entry whose Anonymous line was
// missing is not trusted.
func (e *smapsEntry) droppable() bool {
	return e.ofExe && e.readable && !e.writable && e.anonSeen && e.anonBytes == 0 && e.end > e.start
}

// selectSpans reads a /proc/PID/smaps listing and returns the mappings of
// exe (an absolute path, as the listing names it) that are droppable.
func selectSpans(r io.Reader, exe string) ([]span, error) {
	var spans []span
	var cur smapsEntry
	open := false
	finish := func() {
		if open && cur.droppable() {
			spans = append(spans, span{start: cur.start, end: cur.end, rssBytes: cur.rssBytes})
		}
		open = false
	}
	sc := NewSmapsScanner(r)
	for sc.Scan() {
		if h, ok := sc.Header(); ok {
			finish()
			cur = smapsEntry{
				start:    h.Start,
				end:      h.End,
				readable: h.Readable(),
				writable: h.Writable(),
				ofExe:    string(h.Path) == exe,
			}
			open = true
			continue
		}
		key, value, ok := sc.Field()
		if !open || !ok {
			continue
		}
		switch string(key) {
		case "Rss", "Anonymous":
			n, err := parseKB(value)
			if err != nil {
				return nil, fmt.Errorf("exepages: smaps line %q: %w", sc.Line(), err)
			}
			if string(key) == "Rss" {
				cur.rssBytes = n
			} else {
				cur.anonBytes, cur.anonSeen = n, true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("exepages: %w", err)
	}
	finish()
	return spans, nil
}

// parseHeader reads a mapping's first line, "start-end perms offset dev
// inode [path]"; ok is false for any other line (the "Key: value" ones).
func parseHeader(line []byte) (SmapsHeader, bool) {
	// A header starts with an address in lower-case hex; every other line
	// with a capitalised key ("Rss:", "VmFlags:").
	if len(line) == 0 || !isHex(line[0]) {
		return SmapsHeader{}, false
	}
	var fields [5][]byte
	rest := line
	for i := range fields {
		rest = bytes.TrimLeft(rest, " ")
		end := bytes.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		fields[i], rest = rest[:end], rest[end:]
		if len(fields[i]) == 0 {
			return SmapsHeader{}, false
		}
	}
	lo, hi, ok := bytes.Cut(fields[0], []byte("-"))
	start, okLo := parseHex(lo)
	end, okHi := parseHex(hi)
	if !ok || !okLo || !okHi || len(fields[1]) < 2 {
		return SmapsHeader{}, false
	}
	return SmapsHeader{Start: start, End: end, Perms: fields[1], Path: bytes.TrimLeft(rest, " ")}, true
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// parseHex reads a lower-case hex number of at most 16 digits.
func parseHex(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			n = n<<4 | uint64(c-'0')
		case 'a' <= c && c <= 'f':
			n = n<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return n, true
}

// parseKB reads a size field's value, " 1234 kB", as bytes.
func parseKB(value []byte) (int64, error) {
	num, unit, _ := bytes.Cut(bytes.TrimSpace(value), []byte(" "))
	if string(unit) != "kB" {
		return 0, fmt.Errorf("unit %q, want kB", unit)
	}
	if len(num) == 0 || len(num) > 15 {
		return 0, fmt.Errorf("size %q", num)
	}
	var n int64
	for _, c := range num {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("size %q", num)
		}
		n = n*10 + int64(c-'0')
	}
	return n << 10, nil
}
