package httpserver

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func FuzzRedriveParams(f *testing.F) {
	for _, seed := range []string{"", "n=1", "rate=10&n=5", "n=0", "rate=-1", "n=99999999999999999999", "rate=1e3", "n=&rate="} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		p, err := parseRedriveParams(q)
		if err != nil {
			return
		}
		require.GreaterOrEqual(t, p.n, 0)
		require.GreaterOrEqual(t, p.rate, 0)
		require.LessOrEqual(t, p.rate, redriveMaxRate)
	})
}
