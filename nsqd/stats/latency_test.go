package stats

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNanosecondsToHumanUsesUpstreamThresholds(t *testing.T) {
	for v, want := range map[float64]string{
		0:      "0.0ns",
		999:    "999.0ns",
		1000:   "1000.0ns",
		1001:   "1.0us",
		1500:   "1.5us",
		1e6:    "1000.0us",
		2.25e6: "2.2ms",
		1e9:    "1000.0ms",
		2.5e9:  "2.5s",
	} {
		require.Equal(t, want, nanosecondsToHuman(v), "value %v", v)
	}
}
