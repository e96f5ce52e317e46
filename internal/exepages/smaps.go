package exepages

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
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
	perms      string
	path       string
	rssBytes   int64
	anonBytes  int64
	anonSeen   bool
}

// droppable says whether dropping the entry's pages loses nothing: a
// mapping of exe that is neither writable nor holds any anonymous
// (copy-on-write) page. An entry whose Anonymous line was missing is not
// trusted.
func (e *smapsEntry) droppable(exe string) bool {
	return e.path == exe && len(e.perms) >= 2 && e.perms[0] == 'r' && e.perms[1] != 'w' &&
		e.anonSeen && e.anonBytes == 0 && e.end > e.start
}

// selectSpans reads a /proc/PID/smaps listing and returns the mappings of
// exe (an absolute path, as the listing names it) that are droppable.
func selectSpans(r io.Reader, exe string) ([]span, error) {
	var spans []span
	var cur *smapsEntry
	finish := func() {
		if cur != nil && cur.droppable(exe) {
			spans = append(spans, span{start: cur.start, end: cur.end, rssBytes: cur.rssBytes})
		}
		cur = nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if e, ok := parseHeader(line); ok {
			finish()
			cur = &e
			continue
		}
		if cur == nil {
			continue
		}
		// Only the two lines read are converted: the listing has a few
		// thousand lines, and their garbage would be fresh heap pages.
		key, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch string(key) {
		case "Rss", "Anonymous":
			n, err := parseKB(string(value))
			if err != nil {
				return nil, fmt.Errorf("exepages: smaps %s line %q: %w", key, line, err)
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
func parseHeader(line []byte) (smapsEntry, bool) {
	// A header starts with an address in lower-case hex; every other line
	// with a capitalised key ("Rss:", "VmFlags:").
	if len(line) == 0 || !isHex(line[0]) {
		return smapsEntry{}, false
	}
	fields := strings.Fields(string(line))
	if len(fields) < 5 {
		return smapsEntry{}, false
	}
	lo, hi, ok := strings.Cut(fields[0], "-")
	if !ok {
		return smapsEntry{}, false
	}
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	if err1 != nil || err2 != nil {
		return smapsEntry{}, false
	}
	e := smapsEntry{start: start, end: end, perms: fields[1]}
	if len(fields) >= 6 {
		// A path may hold spaces; the kernel writes it last.
		e.path = strings.Join(fields[5:], " ")
	}
	return e, true
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// parseKB reads " 1234 kB" as bytes.
func parseKB(value string) (int64, error) {
	num, unit, _ := strings.Cut(strings.TrimSpace(value), " ")
	if unit != "kB" {
		return 0, fmt.Errorf("unit %q, want kB", unit)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, err
	}
	return n << 10, nil
}
