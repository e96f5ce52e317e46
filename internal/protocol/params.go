package protocol

import "bytes"

// SplitParams splits a command line on every single space, as upstream does
// ("SUB  t c" yields an empty parameter), appending the pieces to dst so a
// caller can reuse one slice for every command. The pieces alias line.
func SplitParams(line []byte, dst [][]byte) [][]byte {
	for {
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			return append(dst, line)
		}
		dst = append(dst, line[:i])
		line = line[i+1:]
	}
}

// TrimLine removes the trailing "\n" and one optional "\r" before it.
func TrimLine(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

// ParseDigits parses the protocol's numeric parameters: only [0-9]* is
// accepted (no sign), and the empty string is 0, as upstream does.
func ParseDigits(b []byte) (int64, bool) {
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (1<<62)/10 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// FinLineLength is the length of a FIN command in its plain form:
// "FIN <16-byte ID>\n".
const FinLineLength = len("FIN ") + MsgIDLength + len("\n")

// ParseFinLine reports whether b starts with a FIN command in its plain
// form, and returns its ID (aliasing b). It accepts exactly the lines that
// TrimLine and SplitParams read as the two parameters "FIN" and a
// MsgIDLength-byte ID: no space or line end inside the ID, and no "\r"
// before the "\n" (the general parser would trim it, leaving a short ID).
// Anything else is for the general parser, so every answer it gives,
// errors included, stays as it is. A consumer FINs every message it gets,
// and this spares each of those lines the general parse.
func ParseFinLine(b []byte) ([]byte, bool) {
	if len(b) < FinLineLength {
		return nil, false
	}
	line := b[:FinLineLength]
	if line[0] != 'F' || line[1] != 'I' || line[2] != 'N' || line[3] != ' ' || line[FinLineLength-1] != '\n' {
		return nil, false
	}
	id := line[4 : 4+MsgIDLength]
	if id[MsgIDLength-1] == '\r' {
		return nil, false
	}
	for _, c := range id {
		if c == ' ' || c == '\n' {
			return nil, false
		}
	}
	return id, true
}
