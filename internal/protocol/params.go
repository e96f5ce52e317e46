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
