package protocol

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

func TestReadDeclaredGrowsOnlyAsBytesArrive(t *testing.T) {
	// A peer declares 5 MB and sends 10 bytes: one chunk at most is held.
	got, err := ReadDeclared(nil, bytes.NewReader([]byte("0123456789")), nil, 5<<20, 5<<20)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.Equal(t, "0123456789", string(got))
	require.LessOrEqual(t, cap(got), DeclaredChunk)
}

func TestReadDeclaredReadsEveryByteAndShowsEachAllocation(t *testing.T) {
	data := bytes.Repeat([]byte("abcdefgh"), 40000) // 320,000 bytes: several chunks
	var shown int
	got, err := ReadDeclared(func(b []byte) {
		require.LessOrEqual(t, cap(b)-len(b), max(len(b), DeclaredChunk), "room grows by at most a chunk or the length read")
		shown++
	}, iotest.HalfReader(bytes.NewReader(data)), []byte("x"), len(data), len(data))
	require.NoError(t, err)
	require.Equal(t, append([]byte("x"), data...), got)
	require.Greater(t, shown, 1, "each growth is shown to fresh")
}
