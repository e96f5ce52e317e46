//go:build linux

package exepages

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// exeResident is how much of this test binary's read-only mappings is
// resident now.
func exeResident(t *testing.T) int64 {
	t.Helper()
	exe, err := os.Readlink("/proc/self/exe")
	require.NoError(t, err)
	f, err := os.Open("/proc/self/smaps")
	require.NoError(t, err)
	defer f.Close()
	spans, err := selectSpans(f, exe)
	require.NoError(t, err)
	require.NotEmpty(t, spans, "no read-only mapping of %s found", exe)
	var rss int64
	for _, s := range spans {
		rss += s.rssBytes
	}
	return rss
}

// dataWritten is a package variable set at run time: Release must leave the
// executable's writable mappings, and so this value, alone.
var dataWritten = []int{1, 2, 3}

func TestReleaseDropsResidentExecutablePages(t *testing.T) {
	dataWritten[1] = 42
	before := exeResident(t)
	released, err := Release()
	require.NoError(t, err)
	require.Greater(t, released, int64(0))
	after := exeResident(t)
	// Reading smaps again faults back in what that code needs, far less
	// than what the testing package's start-up left resident.
	require.Less(t, after, before, "resident before %d, after %d", before, after)
	// The process runs on: code and data come back as they are used.
	require.Equal(t, []int{1, 42, 3}, dataWritten)
	require.NotEmpty(t, t.Name())
}

// BenchmarkRelease is what one of the trimmer's calls costs (trim.go): the
// smaps read, the madvise calls, and the faults that bring back what the
// loop itself runs.
func BenchmarkRelease(b *testing.B) {
	for b.Loop() {
		if _, err := Release(); err != nil {
			b.Fatal(err)
		}
	}
}
