package main

import (
	"bufio"
	"io"
)

// splitter cuts stdin into the pieces to publish.
//
// Deliberate difference from upstream: upstream drops the last byte of
// every piece, assuming it is the delimiter, so a final piece without a
// trailing delimiter loses its last character ("a,b,c" with
// --delimiter=, publishes a, b and an empty c that is skipped). Here the
// delimiter is removed only where it is present, so no input byte is
// lost; input that ends with the delimiter (the usual case) publishes
// exactly what upstream does.
type splitter struct {
	r     *bufio.Reader
	delim byte
	err   error // the error that ended the input, once seen
}

func newSplitter(r io.Reader, delim byte) *splitter {
	return &splitter{r: bufio.NewReader(r), delim: delim}
}

// next returns the next non-empty piece, or io.EOF at the end of the
// input, or the read error.
func (s *splitter) next() ([]byte, error) {
	for s.err == nil {
		piece, err := s.r.ReadBytes(s.delim)
		// Kept rather than read again: a terminal would wait for more
		// input after its end-of-file.
		s.err = err
		if n := len(piece); n > 0 && piece[n-1] == s.delim {
			piece = piece[:n-1]
		}
		if len(piece) > 0 {
			return piece, nil
		}
	}
	return nil, s.err
}
