package httpserver

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func FuzzPeekParams(f *testing.F) {
	for _, seed := range []string{
		"", "state=ready", "state=dead&after=5&n=10", "n=0", "n=-1", "n=99999999999999999999",
		"state=in_flight&n=1000", "after=1", "state=deferred&state=dead", "n=%zz", "state=",
	} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	f.Fuzz(func(t *testing.T, rawQuery string, channel bool) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		p, err := parsePeekParams(q, channel)
		if err != nil {
			return
		}
		require.GreaterOrEqual(t, p.n, 1)
		require.LessOrEqual(t, p.n, peekMaxN)
		require.Less(t, int(p.state), len(peekStateNames))
		if !channel {
			require.Equal(t, PeekReady, p.state)
		}
		if p.after != 0 {
			require.Equal(t, PeekDead, p.state)
		}
	})
}
