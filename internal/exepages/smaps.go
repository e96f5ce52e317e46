package exepages

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

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
// exe (an absolute path, as the listing names it) that are droppable. It
// converts no line to a string: the listing has a few thousand lines, and
// their garbage would be fresh heap pages of the process it means to
// shrink.
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
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if e, ok := parseHeader(line, exe); ok {
			finish()
			cur, open = e, true
			continue
		}
		if !open {
			continue
		}
		key, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch string(key) {
		case "Rss", "Anonymous":
			n, err := parseKB(value)
			if err != nil {
				return nil, fmt.Errorf("exepages: smaps line %q: %w", line, err)
			}
			if string(key) == "Rss" {
				cur.rssBytes = n
			} else {
				cur.anonBytes, cur.anonSeen = n, true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("exepages: reading smaps: %w", err)
	}
	finish()
	return spans, nil
}

// parseHeader reads a mapping's first line, "start-end perms offset dev
// inode [path]"; ok is false for any other line (the "Key: value" ones).
func parseHeader(line []byte, exe string) (smapsEntry, bool) {
	// A header starts with an address in lower-case hex; every other line
	// with a capitalised key ("Rss:", "VmFlags:").
	if len(line) == 0 || !isHex(line[0]) {
		return smapsEntry{}, false
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
			return smapsEntry{}, false
		}
	}
	lo, hi, ok := bytes.Cut(fields[0], []byte("-"))
	start, okLo := parseHex(lo)
	end, okHi := parseHex(hi)
	if !ok || !okLo || !okHi || len(fields[1]) < 2 {
		return smapsEntry{}, false
	}
	// The path is the rest of the line, which may hold spaces.
	path := bytes.TrimLeft(rest, " ")
	return smapsEntry{
		start:    start,
		end:      end,
		readable: fields[1][0] == 'r',
		writable: fields[1][1] == 'w',
		ofExe:    string(path) == exe,
	}, true
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

// parseKB reads " 1234 kB" as bytes.
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
