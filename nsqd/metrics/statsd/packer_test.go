package statsd

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPackerFillsDatagramsWithWholeLines(t *testing.T) {
	const size = 50
	p := newPacker(size)
	var lines []string
	for i := range 40 {
		line := fmt.Sprintf("nsq.topic.t%d.depth:%d|g\n", i, i*i)
		lines = append(lines, line)
		p.add([]byte(line))
	}
	packets := p.finish()
	require.Greater(t, len(packets), 1)
	var joined strings.Builder
	for i, packet := range packets {
		require.LessOrEqual(t, len(packet), size)
		require.True(t, strings.HasSuffix(string(packet), "\n"), "packet %d ends mid-line", i)
		if i < len(packets)-1 {
			// Full: the next packet's first line would not have fitted.
			next := strings.SplitAfter(string(packets[i+1]), "\n")[0]
			require.Greater(t, len(packet)+len(next), size)
		}
		joined.Write(packet)
	}
	require.Equal(t, strings.Join(lines, ""), joined.String(), "every line, in order")
}

func TestPackerLineOfExactlyThePacketSizeFits(t *testing.T) {
	p := newPacker(10)
	p.add([]byte("a:1|c\n"))
	p.add([]byte("abcde:1|c\n"))
	require.Equal(t, [][]byte{[]byte("a:1|c\n"), []byte("abcde:1|c\n")}, p.finish())
	require.Zero(t, p.dropped)
}

func TestPackerDropsLineLongerThanAPacket(t *testing.T) {
	p := newPacker(12)
	p.add([]byte("a:1|c\n"))
	p.add([]byte("abcdefgh:1|c\n"))
	p.add([]byte("b:2|g\n"))
	require.Equal(t, [][]byte{[]byte("a:1|c\nb:2|g\n")}, p.finish())
	require.Equal(t, 1, p.dropped)
}

func TestPackerWithNothingGivesNoDatagram(t *testing.T) {
	require.Empty(t, newPacker(10).finish())
}
