//go:build linux

// Linux only: the test mounts a small tmpfs to fill the disk, and reads the
// free space with Linux's statfs.

package diskqueue

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// A group whose later pieces cannot be written (the disk fills up after its
// first pieces are out) stores nothing: the segment is cut back to where
// the group began, the queue's depth is unchanged, and neither a reader now
// nor a reopen after it finds any of the group's records.
func TestGroupFailingAfterItsFirstPiecesStoresNothing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs for a full disk")
	}
	dir := filepath.Join(t.TempDir(), "full")
	require.NoError(t, os.Mkdir(dir, 0o700))
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%s): %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %s: %s", dir, err, out)
		}
	})

	o, _ := testOptions(t, dir)
	o.MaxBytesPerFile = 1 << 20
	q := mustOpen(t, o)
	q.writePiece = 4096
	putRange(t, q, 0, 3, 1000, 1)
	segSize := func() int64 {
		fi, err := os.Stat(segPath(o, 0))
		require.NoError(t, err)
		return fi.Size()
	}
	before := segSize()

	// Leave between 8 and 24 KB free: room for the group's first pieces of
	// 4 KB, not for the whole 40 KB group.
	filler := filepath.Join(dir, "filler")
	var st syscall.Statfs_t
	require.NoError(t, syscall.Statfs(dir, &st))
	free := int64(st.Bavail) * st.Bsize
	require.NoError(t, os.WriteFile(filler, make([]byte, free-16<<10), 0o600))
	require.NoError(t, syscall.Statfs(dir, &st))
	free = int64(st.Bavail) * st.Bsize
	require.True(t, free >= 8<<10 && free <= 24<<10, "free space %d", free)

	var batch [][]byte
	for i := 100; i < 140; i++ {
		batch = append(batch, payload(i, 1000))
	}
	require.Error(t, putErr(q.Put(batch)))
	require.Equal(t, int64(3), q.Depth(), "a refused group counted")
	require.Equal(t, before, segSize(), "the refused group's pieces stayed in the segment")

	require.NoError(t, os.Remove(filler))
	putRange(t, q, 200, 202, 1000, 1)
	want := append(seq(0, 3), seq(200, 202)...)
	require.Equal(t, want, indexes(t, readAllNoAck(t, q)))
	require.NoError(t, q.Close())

	q = mustOpen(t, o)
	defer q.Close()
	require.Equal(t, want, indexes(t, readAllNoAck(t, q)))
}
