package diskqueue

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCrashReplaysOnlyUnfinishedRecords is a model check over several crash
// cycles: records are put, read, acknowledged in random order (some held
// across crashes), the metadata synced at random moments, the queue crashed
// and reopened, and reading goes on, sometimes only part way through what a
// reopen replays before the next crash. Each record is unfinished (not
// acknowledged since it was last delivered), finished since the last sync,
// finished before it, or finished with the ack lost to a crash. Then:
//   - a record finished before the last sync is never delivered again;
//   - every unfinished record is delivered after the last reopen (none is
//     lost), once, in order; a record finished since the last sync may be.
func TestCrashReplaysOnlyUnfinishedRecords(t *testing.T) {
	const (
		unfinished = iota
		finishedUnsynced
		finishedSynced
		ackLost // finished, unsynced at a crash: may come back, a sync does not change that
	)
	for seed := range uint64(16) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			o, _ := testOptions(t, t.TempDir())
			q := mustOpen(t, o)
			defer func() { q.Close() }()
			var state []int
			delivered := func(i int) {
				require.NotEqual(t, finishedSynced, state[i], "record %d was finished before the last sync and came back", i)
				state[i] = unfinished
			}
			for range 6 {
				more := 20 + rng.IntN(60)
				putRange(t, q, len(state), len(state)+more, 20+rng.IntN(60), 1+rng.IntN(9))
				state = append(state, make([]int, more)...)
				held := map[uint64]int{} // seq -> index, outstanding
				for range 5 + rng.IntN(15) {
					recs, err := q.Read(1 + rng.IntN(12))
					require.NoError(t, err)
					for _, r := range recs {
						i := payloadIndex(t, r.Data)
						delivered(i)
						held[r.Seq] = i
					}
					for _, s := range slices.Sorted(maps.Keys(held)) {
						if rng.IntN(3) > 0 {
							q.Ack(s)
							state[held[s]] = finishedUnsynced
							delete(held, s)
						}
					}
					if rng.IntN(4) == 0 {
						require.NoError(t, q.Sync())
						for i, st := range state {
							if st == finishedUnsynced {
								state[i] = finishedSynced
							}
						}
					}
				}
				crash(q)
				for i, st := range state {
					if st == finishedUnsynced {
						state[i] = ackLost
					}
				}
				q = mustOpen(t, o)
			}
			got := indexes(t, readAll(t, q))
			require.True(t, slices.IsSorted(got), "in order: %v", got)
			require.Equal(t, len(got), len(slices.Compact(slices.Clone(got))), "once: %v", got)
			for _, i := range got {
				delivered(i)
			}
			for i, st := range state {
				if st == unfinished {
					require.Contains(t, got, i, "record %d was never finished and is lost", i)
				}
			}
		})
	}
}

// TestProgressSurvivesAReplayCutShort: after a reopen, a crash part way
// through the replay keeps what the replay still had to skip. A finished
// record between two unfinished ones is not merged into their span.
func TestProgressSurvivesAReplayCutShort(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	q := mustOpen(t, o)
	putRange(t, q, 0, 30, 40, 30)
	recs := readAllNoAck(t, q)
	unfinished := []int{0, 2, 3, 10, 17, 18, 19, 29}
	for i, r := range recs {
		if !slices.Contains(unfinished, i) {
			q.Ack(r.Seq)
		}
	}
	require.NoError(t, q.Sync())
	m, kind, err := readMeta(q.metaPath)
	require.NoError(t, err)
	require.Equal(t, metaOurs, kind)
	require.Len(t, m.unfinished, 5, "runs 0, 2-3, 10, 17-19 and 29: %v", m.unfinished)
	crash(q)

	// Replay part of it, leaving 2 unacked and skipping finished 1, then
	// crash again.
	q = mustOpen(t, o)
	require.EqualValues(t, len(unfinished), q.Depth())
	part, err := q.Read(2)
	require.NoError(t, err)
	require.Equal(t, []int{0, 2}, indexes(t, part))
	q.Ack(part[0].Seq)
	require.NoError(t, q.Sync())
	m, _, err = readMeta(q.metaPath)
	require.NoError(t, err)
	require.Equal(t, span{0, int64(recs[2].pos(t, o)), int64(recs[2].pos(t, o))}, m.unfinished[0],
		"record 2 alone: 1 and 0 are finished")
	crash(q)

	q = mustOpen(t, o)
	defer q.Close()
	require.EqualValues(t, len(unfinished)-1, q.Depth())
	require.Equal(t, unfinished[1:], indexes(t, readAll(t, q)))
}

// pos finds where record r starts, from its payload index and the layout
// putRange produced (one segment, equal sizes).
func (r Record) pos(t *testing.T, o Options) int {
	t.Helper()
	return segHeaderSize + payloadIndex(t, r.Data)*(recHeaderSize+len(r.Data))
}

// TestCloseWithNothingOutstandingWritesVersion1 keeps a cleanly closed queue
// readable by builds that know only version 1 of the metadata, and a queue
// with records in flight records them in version 2.
func TestCloseWithNothingOutstandingWritesVersion1(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	q := mustOpen(t, o)
	putRange(t, q, 0, 10, 30, 10)
	recs, err := q.Read(5)
	require.NoError(t, err)
	q.Ack(recs[1].Seq)
	require.NoError(t, q.Sync())
	b, err := os.ReadFile(q.metaPath)
	require.NoError(t, err)
	require.Contains(t, string(b), metaMagic+" 2\n")
	require.Contains(t, string(b), "unfinished 2\n")

	q.Ack(seqsOf(recs)...)
	require.NoError(t, q.Close())
	b, err = os.ReadFile(q.metaPath)
	require.NoError(t, err)
	require.Contains(t, string(b), metaMagic+" 1\n")
	q = mustOpen(t, o)
	defer q.Close()
	require.Equal(t, seq(5, 10), indexes(t, readAll(t, q)))
}

// TestVersion1MetadataStillLoads: a data directory written before FIN
// progress existed (version 1, read position at the oldest outstanding
// record) replays everything from that position on, as it always did.
func TestVersion1MetadataStillLoads(t *testing.T) {
	o, _ := testOptions(t, t.TempDir())
	o.MaxBytesPerFile = 1 << 20
	q := mustOpen(t, o)
	putRange(t, q, 0, 10, 30, 10)
	require.NoError(t, q.Close())
	size := int64(segHeaderSize + 10*(recHeaderSize+30))
	read := int64(segHeaderSize + 4*(recHeaderSize+30))
	v1 := []byte(fmt.Sprintf("%s 1\ndepth 6\nread 0,%d\nwrite 0,%d\nlegacy-end 0\n", metaMagic, read, size))
	v1 = append(v1, fmtCRC(checksum(v1))...)
	require.NoError(t, os.WriteFile(q.metaPath, v1, 0o600))
	q = mustOpen(t, o)
	defer q.Close()
	require.EqualValues(t, 6, q.Depth())
	require.Equal(t, seq(4, 10), indexes(t, readAll(t, q)))
}

// TestProgressIsCutAtTheWriteEnd: when the data the metadata described is
// shorter after a crash (the tail truncated), progress past the recovered
// write end is dropped, so records written there later are delivered; a
// span that straddles the end keeps its records before it.
func TestProgressIsCutAtTheWriteEnd(t *testing.T) {
	q := &Queue{opts: Options{Name: "q", Logf: func(string, ...any) {}}}
	m := meta{readFile: 1, readPos: 16, writeFile: 1, writePos: 100,
		readEnd:    position{1, 300},
		unfinished: []span{{1, 16, 16}, {1, 80, 200}, {1, 250, 260}}}
	rp := q.recoverProgress(&m)
	require.Equal(t, position{1, 100}, rp.end)
	require.Equal(t, []span{{1, 16, 16}, {1, 80, 99}}, rp.spans)
	require.NoError(t, m.check())
	require.False(t, rp.finished(position{1, 16}))
	require.True(t, rp.finished(position{1, 50}))
	require.False(t, rp.finished(position{1, 90}))
	require.False(t, rp.finished(position{1, 100}), "at the write end: new records")
	require.False(t, rp.active())

	// A read position moved forward by recovery drops the spans before it.
	m = meta{readFile: 2, readPos: 0, writeFile: 3, writePos: 100,
		readEnd: position{3, 50}, unfinished: []span{{2, 40, 60}, {3, 20, 20}}}
	m.readFile, m.readPos = 2, 50
	rp = q.recoverProgress(&m)
	require.Equal(t, []span{{2, 50, 60}, {3, 20, 20}}, rp.spans)
	require.NoError(t, m.check())
}

// TestReplayFinished checks the replay filter against a direct reading of
// its definition on random spans and positions.
func TestReplayFinished(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		var spans []span
		p := position{0, 0}
		for range rng.IntN(6) {
			p.file += int64(rng.IntN(2))
			first := p.off + int64(1+rng.IntN(20))
			if rng.IntN(2) == 0 && len(spans) > 0 {
				p.file++
				first = int64(rng.IntN(20))
			}
			last := first + int64(rng.IntN(30))
			spans = append(spans, span{p.file, first, last})
			p.off = last
		}
		end := position{p.file + 1, int64(rng.IntN(20)) + 1}
		r := replay{end: end, spans: spans}
		for f := int64(0); f <= end.file+1; f++ {
			for off := int64(0); off < 200; off += int64(1 + rng.IntN(6)) {
				at := position{f, off}
				want := false
				if at.less(end) {
					want = true
					for _, s := range spans {
						if s.file == f && s.first <= off && off <= s.last {
							want = false
						}
					}
				}
				require.Equal(t, want, r.finished(at), "%v in %v until %v", at, spans, end)
			}
		}
	}
}

func TestMetaVersion2RoundTrip(t *testing.T) {
	m := meta{depth: 3, readFile: 2, readPos: 16, writeFile: 4, writePos: 900, legacyEnd: 1,
		readEnd: position{3, 500}, unfinished: []span{{2, 16, 16}, {2, 400, 700}, {3, 16, 16}}}
	b := m.encode()
	require.Contains(t, string(b), metaMagic+" 2\ndepth 3\nread 2,16\nwrite 4,900\nlegacy-end 1\n"+
		"read-end 3,500\nunfinished 3\n2,16,16\n2,400,700\n3,16,16\ncrc32c ")
	got, kind, err := decodeMeta(b)
	require.NoError(t, err)
	require.Equal(t, metaOurs, kind)
	require.True(t, m.equal(got))
}

func TestBrokenMetaVersion2IsCorrupt(t *testing.T) {
	base := meta{readFile: 1, readPos: 16, writeFile: 2, writePos: 100,
		readEnd: position{2, 50}, unfinished: []span{{1, 16, 30}, {2, 16, 16}}}
	for name, mod := range map[string]func(*meta){
		"read end before read":   func(m *meta) { m.readEnd = position{1, 10}; m.unfinished = nil },
		"read end equals read":   func(m *meta) { m.readEnd = position{1, 16}; m.unfinished = nil },
		"read end past write":    func(m *meta) { m.readEnd = position{2, 101} },
		"span before read":       func(m *meta) { m.unfinished[0].first = 8 },
		"span at read end":       func(m *meta) { m.unfinished[1] = span{2, 50, 50} },
		"span reversed":          func(m *meta) { m.unfinished[0] = span{1, 30, 16} },
		"spans overlap":          func(m *meta) { m.unfinished[1] = span{1, 30, 40} },
		"spans out of order":     func(m *meta) { m.unfinished[0], m.unfinished[1] = m.unfinished[1], m.unfinished[0] },
		"negative offset":        func(m *meta) { m.unfinished[1].first = -1 },
		"spans without read end": func(m *meta) { m.readEnd = position{} },
	} {
		m := base
		m.unfinished = slices.Clone(base.unfinished)
		mod(&m)
		require.Error(t, m.check(), name)
		b := rawEncodeV2(m)
		_, kind, err := decodeMeta(b)
		require.Error(t, err, name)
		require.Equal(t, metaCorrupt, kind, name)
	}
	good := base.encode()
	for name, in := range map[string]string{
		"count larger than lines": "unfinished 3\n",
		"count smaller":           "unfinished 1\n",
		"count huge":              "unfinished 99999999999\n",
		"count negative":          "unfinished -2\n",
	} {
		b := []byte(string(good[:len(good)-len("crc32c 00000000\n")]))
		b = []byte(replaceLine(string(b), "unfinished ", in))
		b = append(b, fmtCRC(checksum(b))...)
		_, kind, err := decodeMeta(b)
		require.Error(t, err, name)
		require.Equal(t, metaCorrupt, kind, name)
	}
}

// rawEncodeV2 writes m as version 2 whatever it holds, so that the decoder
// can be shown states encode never produces.
func rawEncodeV2(m meta) []byte {
	b := fmt.Appendf(nil, "%s 2\ndepth %d\nread %d,%d\nwrite %d,%d\nlegacy-end %d\nread-end %d,%d\nunfinished %d\n",
		metaMagic, m.depth, m.readFile, m.readPos, m.writeFile, m.writePos, m.legacyEnd,
		m.readEnd.file, m.readEnd.off, len(m.unfinished))
	for _, s := range m.unfinished {
		b = fmt.Appendf(b, "%d,%d,%d\n", s.file, s.first, s.last)
	}
	return append(b, fmtCRC(checksum(b))...)
}

func replaceLine(s, prefix, with string) string {
	lines := []byte{}
	for _, l := range splitKeep(s) {
		if len(l) >= len(prefix) && l[:len(prefix)] == prefix {
			l = with
		}
		lines = append(lines, l...)
	}
	return string(lines)
}

func splitKeep(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		if i < len(s) {
			i++
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}
