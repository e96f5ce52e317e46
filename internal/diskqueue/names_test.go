package diskqueue

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDotNamesAreFilesInDir: "." and ".." are valid NSQ topic names; their
// queues are plain files in Dir named as upstream names them, and the
// queues ".", "..", "..." and "a" never read each other's records.
func TestDotNamesAreFilesInDir(t *testing.T) {
	dir := t.TempDir()
	names := []string{".", "..", "...", "a", ".:."}
	for i, name := range names {
		o, _ := testOptions(t, dir)
		o.Name = name
		q := mustOpen(t, o)
		putRange(t, q, i*100, i*100+5, 16, 5)
		require.NoError(t, q.Close())
	}
	files := dirNames(t, dir)
	require.Contains(t, files, "..diskqueue.meta.dat")
	require.Contains(t, files, "..diskqueue.000000.dat")
	require.Contains(t, files, "...diskqueue.000000.dat")
	require.Contains(t, files, "....diskqueue.000000.dat")
	for i, name := range names {
		o, _ := testOptions(t, dir)
		o.Name = name
		q := mustOpen(t, o)
		require.Equal(t, seq(i*100, i*100+5), indexes(t, readAll(t, q)), "queue %q", name)
		require.NoError(t, q.Close())
	}
	// Deleting "." leaves the others whole.
	o, _ := testOptions(t, dir)
	o.Name = "."
	require.NoError(t, mustOpen(t, o).Delete())
	require.NotContains(t, dirNames(t, dir), "..diskqueue.meta.dat")
	require.Contains(t, dirNames(t, dir), "...diskqueue.meta.dat")
}
