package protocol

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// generalFin is what the general command parser makes of the first line of
// b: TrimLine and SplitParams, as nsqd's protocol loop reads a command.
// It reports the ID when the line is FIN with exactly one ID-sized
// parameter.
func generalFin(b []byte) ([]byte, bool) {
	end := bytes.IndexByte(b, '\n')
	if end < 0 {
		return nil, false
	}
	params := SplitParams(TrimLine(b[:end+1]), nil)
	if len(params) != 2 || string(params[0]) != "FIN" || len(params[1]) != MsgIDLength {
		return nil, false
	}
	return params[1], true
}

const testID = "0a1b2c3d4e5f6071"

func TestParseFinLineAcceptsOnlyThePlainForm(t *testing.T) {
	id, ok := ParseFinLine([]byte("FIN " + testID + "\nNOP\n"))
	require.True(t, ok)
	require.Equal(t, testID, string(id))
	for _, line := range []string{
		"FIN " + testID, // no line end yet
		"FIN " + testID[:15] + "\r\n",
		"FIN " + testID + "\r\n",
		"FIN " + testID[:7] + " " + testID[8:] + "\n",
		"FIN " + testID[:7] + "\n" + testID[8:] + "\n",
		"fin " + testID + "\n",
		"FIN  " + testID[1:] + "\n",
		"REQ " + testID + "\n",
		"FIN " + testID + "x\n",
	} {
		_, ok := ParseFinLine([]byte(line))
		require.False(t, ok, "%q", line)
	}
}

// FuzzParseFinLine: whatever the bytes, the plain-form parser accepts a
// line only where the general parser reads the same FIN and ID, and
// whenever the general parser reads a FIN and an ID from a line of exactly
// that length, so the fast path neither changes an answer nor misses
// the FINs consumers send.
func FuzzParseFinLine(f *testing.F) {
	for _, seed := range []string{
		"FIN " + testID + "\n",
		"FIN " + testID + "\nFIN " + testID + "\n",
		"FIN " + testID[:15] + "\r\n",
		"FIN " + testID[:7] + " " + testID[8:] + "\n",
		"FIN " + testID[:7] + "\n" + testID[8:] + "\n",
		"FIN " + testID,
		"NOP\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, ok := ParseFinLine(b)
		want, wantOK := generalFin(b)
		lineLen := bytes.IndexByte(b, '\n') + 1
		if ok {
			require.True(t, wantOK, "%q", b)
			require.Equal(t, want, id)
			require.Equal(t, FinLineLength, lineLen)
			return
		}
		require.False(t, wantOK && lineLen == FinLineLength, "plain FIN line %q not taken", b)
	})
}
