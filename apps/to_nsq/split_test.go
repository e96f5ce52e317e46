package main

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func splitAll(t *testing.T, r io.Reader, delim byte) ([]string, error) {
	t.Helper()
	s := newSplitter(r, delim)
	var out []string
	for {
		piece, err := s.next()
		if err != nil {
			return out, err
		}
		out = append(out, string(piece))
	}
}

func TestSplitterKeepsTheLastCharacterOfAnUnterminatedPiece(t *testing.T) {
	got, err := splitAll(t, strings.NewReader("one\ntwo\n\nthree"), '\n')
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, []string{"one", "two", "three"}, got)
}

func TestSplitterUsesTheGivenDelimiterAndSkipsEmptyPieces(t *testing.T) {
	got, err := splitAll(t, strings.NewReader(",a,,b\nc,"), ',')
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, []string{"a", "b\nc"}, got)
}

// errAfter yields data and then fails with err.
type errAfter struct {
	data string
	err  error
}

func (r *errAfter) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestSplitterReportsAReadErrorAfterTheDataBeforeIt(t *testing.T) {
	boom := errors.New("boom")
	got, err := splitAll(t, &errAfter{data: "x\ny", err: boom}, '\n')
	require.ErrorIs(t, err, boom)
	require.Equal(t, []string{"x", "y"}, got)
}

// countingReader counts reads past the end of its data.
type countingReader struct {
	r            io.Reader
	readsAfterEO int
	ended        bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.ended {
		c.readsAfterEO++
	}
	n, err := c.r.Read(p)
	if err != nil {
		c.ended = true
	}
	return n, err
}

func TestSplitterDoesNotReadAgainAfterTheEnd(t *testing.T) {
	cr := &countingReader{r: strings.NewReader("a\nb")}
	s := newSplitter(cr, '\n')
	for range 2 {
		_, err := s.next()
		require.NoError(t, err)
	}
	for range 2 {
		_, err := s.next()
		require.ErrorIs(t, err, io.EOF)
	}
	require.Zero(t, cr.readsAfterEO)
}
