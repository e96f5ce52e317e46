package diskqueue

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMetaRoundTrip(t *testing.T) {
	m := meta{depth: 42, readFile: 3, readPos: 16, writeFile: 7, writePos: 90210, legacyEnd: 2}
	got, kind, err := decodeMeta(m.encode())
	require.NoError(t, err)
	require.Equal(t, metaOurs, kind)
	require.Equal(t, m, got)
	require.Equal(t,
		"nsqgo-diskqueue-meta 1\ndepth 42\nread 3,16\nwrite 7,90210\nlegacy-end 2\ncrc32c "+
			fmtCRC(checksum([]byte("nsqgo-diskqueue-meta 1\ndepth 42\nread 3,16\nwrite 7,90210\nlegacy-end 2\n")))[7:],
		string(m.encode()))
}

func TestUpstreamMetaExamples(t *testing.T) {
	// Metadata files observed from upstream nsqd 1.3.
	for in, want := range map[string]meta{
		"4\n0,0\n0,147\n":   {depth: 4, writePos: 147},
		"0\n0,141\n0,141\n": {readPos: 141, writePos: 141},
		"10\n0,0\n2,94\n":   {depth: 10, writeFile: 2, writePos: 94},
		"0\n0,0\n0,0\n":     {},
		"-3\n0,0\n0,0\n":    {}, // upstream's depth can drift negative
	} {
		got, kind, err := decodeMeta([]byte(in))
		require.NoError(t, err, "%q", in)
		require.Equal(t, metaUpstream, kind, "%q", in)
		require.Equal(t, want, got, "%q", in)
	}
}

func TestBrokenMetaIsCorrupt(t *testing.T) {
	good := meta{depth: 1, writePos: 40}.encode()
	flipped := append([]byte(nil), good...)
	flipped[30] ^= 1
	for name, in := range map[string][]byte{
		"flipped bit":       flipped,
		"truncated":         good[:len(good)-5],
		"upstream, 2 lines": []byte("4\n0,0\n"),
		"upstream, garbage": []byte("4\n0;0\n0,147\n"),
		"read past write":   []byte("1\n3,0\n2,0\n"),
		"negative position": []byte("1\n0,-5\n0,10\n"),
		"empty":             {},
		"binary":            {0, 1, 2, 3},
	} {
		_, kind, err := decodeMeta(in)
		require.Error(t, err, name)
		require.Equal(t, metaCorrupt, kind, name)
	}
}

func TestWriteMetaIsAtomicAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, metaFileName("q"))
	require.NoError(t, writeMeta(path, meta{depth: 1, writePos: 10}))
	require.NoError(t, writeMeta(path, meta{depth: 2, writePos: 20}))
	m, kind, err := readMeta(path)
	require.NoError(t, err)
	require.Equal(t, metaOurs, kind)
	require.EqualValues(t, 2, m.depth)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temp files left behind")
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
}

func TestStaleMetaTempIsRemovedAtOpen(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	tmp := filepath.Join(o.Dir, metaFileName(o.Name)+".12345.tmp")
	require.NoError(t, os.WriteFile(tmp, []byte("half"), 0o600))
	q := mustOpen(t, o)
	defer q.Close()
	require.NoFileExists(t, tmp)
}

func TestClassifyFileNames(t *testing.T) {
	for file, want := range map[string]struct {
		kind fileKind
		n    int64
	}{
		"t:c.diskqueue.000000.dat":                  {kindSegment, 0},
		"t:c.diskqueue.000042.dat":                  {kindSegment, 42},
		"t:c.diskqueue.1234567.dat":                 {kindSegment, 1234567},
		"t:c.diskqueue.meta.dat":                    {kindMeta, 0},
		"t:c.diskqueue.meta.dat.889.tmp":            {kindMetaTemp, 0},
		"t:c.diskqueue.meta.dat.damaged":            {kindOther, 0},
		"t:c.diskqueue.000003.dat.bad":              {kindBad, 3},
		"t:c.diskqueue.000003.dat.816.damaged":      {kindDamaged, 3},
		"t:c.diskqueue.42.dat":                      {kindOther, 0}, // not the canonical spelling
		"t:c.diskqueue.000001.diskqueue.000000.dat": {kindOther, 0},
		"t:c2.diskqueue.000000.dat":                 {kindOther, 0},
		"t.diskqueue.000000.dat":                    {kindOther, 0},
		"t:c.diskqueue.00000x.dat":                  {kindOther, 0},
	} {
		kind, n := classify("t:c", file)
		require.Equal(t, want.kind, kind, file)
		require.Equal(t, want.n, n, file)
	}
	require.Equal(t, "t:c.diskqueue.000007.dat", segmentFileName("t:c", 7))
	require.Equal(t, "t:c.diskqueue.meta.dat", metaFileName("t:c"))
}
