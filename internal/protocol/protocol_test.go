package protocol

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestValidNameFollowsUpstreamRules(t *testing.T) {
	valid := []string{"a", "t.1_x-y", strings.Repeat("a", 64), "c#ephemeral", strings.Repeat("a", 54) + "#ephemeral"}
	invalid := []string{"", "#ephemeral", "c#ephemeralx", strings.Repeat("a", 65), "a b", "t/1", "é", strings.Repeat("a", 55) + "#ephemeral"}
	for _, name := range valid {
		require.True(t, ValidName(name), name)
	}
	for _, name := range invalid {
		require.False(t, ValidName(name), name)
	}
}

func TestSplitParamsSplitsOnEverySpace(t *testing.T) {
	parts := SplitParams([]byte("SUB  t c"), nil)
	require.Equal(t, [][]byte{[]byte("SUB"), {}, []byte("t"), []byte("c")}, parts)
	require.Equal(t, []byte("SUB t c"), TrimLine([]byte("SUB t c\r\n")))
}

func TestParseDigitsAcceptsOnlyDigits(t *testing.T) {
	n, ok := ParseDigits([]byte("1500"))
	require.True(t, ok)
	require.Equal(t, int64(1500), n)
	n, ok = ParseDigits(nil)
	require.True(t, ok, "empty parses as 0")
	require.Zero(t, n)
	for _, bad := range []string{"-1", "+1", "1.5", "x", "99999999999999999999"} {
		_, ok := ParseDigits([]byte(bad))
		require.False(t, ok, bad)
	}
}

func TestIDGeneratorNeverRepeatsWithinATimeUnit(t *testing.T) {
	gen := NewIDGenerator(617)
	now := time.Now()
	seen := map[MessageID]bool{}
	ids := make([]MessageID, 5000)
	for round := 0; round < 3; round++ {
		gen.Fill(ids, now)
		for _, id := range ids {
			require.False(t, seen[id], "duplicate id %s", id[:])
			seen[id] = true
		}
	}
	first := make([]MessageID, 1)
	NewIDGenerator(617).Fill(first, now)
	value, err := strconv.ParseUint(string(first[0][:]), 16, 64)
	require.NoError(t, err)
	require.Equal(t, uint64(617), (value>>12)&0x3ff, "node id sits in bits 12..21")
	require.Zero(t, value&0xfff, "first sequence of a time unit is 0")
}

func TestMessageRoundTrip(t *testing.T) {
	id := MessageID{'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'}
	payload := AppendMessage(nil, 12345, 3, &id, []byte("hello"))
	msg, err := DecodeMessage(payload)
	require.NoError(t, err)
	require.Equal(t, int64(12345), msg.Timestamp)
	require.Equal(t, uint16(3), msg.Attempts)
	require.Equal(t, id, msg.ID)
	require.Equal(t, []byte("hello"), msg.Body)
	_, err = DecodeMessage(payload[:25])
	require.ErrorIs(t, err, ErrShortMessage)
}

func FuzzDecodeMessage(f *testing.F) {
	id := MessageID{}
	f.Add(AppendMessage(nil, 1, 1, &id, []byte("x")))
	f.Add([]byte{})
	f.Add(make([]byte, 26))
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := DecodeMessage(b)
		if err != nil {
			require.Less(t, len(b), MessageHeaderLength)
			return
		}
		again := AppendMessage(nil, msg.Timestamp, msg.Attempts, &msg.ID, msg.Body)
		require.Equal(t, b, again)
	})
}
