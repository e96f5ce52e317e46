package diskqueue

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
func (m meta) encode() []byte {
	b := fmt.Appendf(nil, "%s 1\ndepth %d\nread %d,%d\nwrite %d,%d\nlegacy-end %d\n",
		metaMagic, m.depth, m.readFile, m.readPos, m.writeFile, m.writePos, m.legacyEnd)
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
	body, sumLine, ok := cutLastLine(b)
	if !ok {
		return m, errors.New("no checksum line")
	}
	hex, ok := strings.CutPrefix(sumLine, "crc32c ")
	if !ok || len(hex) != 8 {
		return m, fmt.Errorf("bad checksum line %q", sumLine)
	}
	want, err := strconv.ParseUint(hex, 16, 32)
	if err != nil {
		return m, fmt.Errorf("bad checksum line %q", sumLine)
	}
	if got := checksum(body); uint32(want) != got {
		return m, fmt.Errorf("checksum mismatch: file says %08x, content is %08x", want, got)
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if len(lines) != 5 {
		return m, fmt.Errorf("%d lines, want 6", len(lines)+1)
	}
	if lines[0] != metaMagic+" 1" {
		v, _ := strings.CutPrefix(lines[0], metaMagic+" ")
		return m, fmt.Errorf("version %q: %w", v, errMetaNewer)
	}
	fields := []struct {
		key  string
		a, b *int64
	}{
		{"depth", &m.depth, nil},
		{"read", &m.readFile, &m.readPos},
		{"write", &m.writeFile, &m.writePos},
		{"legacy-end", &m.legacyEnd, nil},
	}
	for i, f := range fields {
		v, ok := strings.CutPrefix(lines[i+1], f.key+" ")
		if !ok {
			return m, fmt.Errorf("line %d: want %q", i+2, f.key)
		}
		if err := parseInts(v, f.a, f.b); err != nil {
			return m, fmt.Errorf("line %d (%s): %w", i+2, f.key, err)
		}
	}
	return m, m.check()
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
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write metadata: %w", err)
	}
	_, err = tmp.Write(m.encode())
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
