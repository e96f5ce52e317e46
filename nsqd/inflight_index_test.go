package nsqd

import (
	"math/rand/v2"
	"testing"

	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/stretchr/testify/require"
)

// checkIDIndex verifies idIndex's invariants: every occupied position is
// reachable from its entry's home through occupied positions (linear
// probing), runs are in home order (Robin Hood: an entry sits at most one
// further from its home than the entry before it), each entry names a live
// slot whose ID hashes to the stored hash, and the table is at most half
// full. find relies on the order to stop early, deleteAt to stop at an entry
// at its home.
func checkIDIndex(t *testing.T, f *inFlight) {
	t.Helper()
	x := &f.index
	if len(x.table) == 0 {
		require.Zero(t, f.count.Load())
		return
	}
	entries := 0
	for pos := range uint64(len(x.table)) {
		e := x.table[pos]
		if e.slot == 0 {
			continue
		}
		entries++
		s := f.slots.at(e.slot - 1)
		require.True(t, s.live, "entry at %d names a free slot", pos)
		require.Equal(t, hashID(&s.id), e.hash, "entry at %d: stored hash", pos)
		d := x.dist(pos, e)
		if d == 0 {
			continue
		}
		prev := x.table[(pos-1)&x.mask]
		require.NotZero(t, prev.slot, "entry at %d is %d past its home after an empty position", pos, d)
		require.LessOrEqual(t, d, x.dist((pos-1)&x.mask, prev)+1, "entry at %d out of home order", pos)
	}
	require.Equal(t, int(f.count.Load()), entries)
	require.LessOrEqual(t, 2*entries, len(x.table))
}

// Sixteen IDs that differ only in their last hex digit take sixteen
// neighbouring positions, so a consumer's run of consecutive IDs is
// delivered and FINned through a few cache lines of the table. (A plain
// hash scatters them: this fails without hashID's grouping.)
func TestIDIndexKeepsConsecutiveIDsTogether(t *testing.T) {
	for _, first := range []uint64{0, 1 << 40, 0x5f3a_9c00_0000_1230} {
		var f inFlight
		f.add(testMessages(16, first&^0xf), 0, 1000)
		var positions []uint64
		for pos, e := range f.index.table {
			if e.slot != 0 {
				positions = append(positions, uint64(pos))
			}
		}
		require.Len(t, positions, 16)
		// Neighbours cyclically: one gap at most, and it is the wrap.
		breaks := 0
		for i := 1; i < len(positions); i++ {
			if positions[i] != positions[i-1]+1 {
				breaks++
			}
		}
		require.LessOrEqual(t, breaks, 1, "IDs from %x spread over %v", first, positions)
		if breaks == 1 {
			require.Equal(t, uint64(0), positions[0])
			require.Equal(t, uint64(len(f.index.table)-1), positions[len(positions)-1])
		}
		checkIDIndex(t, &f)
	}
}

func TestHexDigitValue(t *testing.T) {
	for v, c := range []byte("0123456789abcdef") {
		require.Equal(t, uint32(v), hexDigitValue(c))
	}
	for v, c := range []byte("ABCDEF") {
		require.Equal(t, uint32(10+v), hexDigitValue(c))
	}
	for c := range 256 {
		require.Less(t, hexDigitValue(byte(c)), uint32(16))
	}
}

// The index against a map, under the patterns consumers produce: runs of
// consecutive IDs FINned in order, back to front or at random; IDs with a
// stride, so that all share a last digit (the group's one position) or a
// group; arbitrary bytes; growth from empty in one batch or many. After
// every step each held ID is found, each finished one is not, and the
// table keeps its invariants.
func TestIDIndexMatchesAMapUnderPatterns(t *testing.T) {
	type pattern struct {
		name   string
		stride uint64
		random bool // arbitrary bytes instead of hex counters
	}
	patterns := []pattern{
		{"consecutive", 1, false},
		{"stride16", 16, false},   // one position per group: every ID collides
		{"stride256", 256, false}, // also the same second-last digit
		{"stride17", 17, false},
		{"arbitrary", 0, true},
	}
	orders := []string{"ordered", "reversed", "random"}
	for _, p := range patterns {
		for _, order := range orders {
			t.Run(p.name+"/"+order, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(len(p.name)), uint64(len(order))))
				var f inFlight
				held := map[protocol.MessageID]bool{}
				var finished []protocol.MessageID
				next := uint64(1 << 40)
				newBatch := func(n int) []Message {
					msgs := make([]Message, n)
					for i := range msgs {
						if p.random {
							for j := range msgs[i].ID {
								msgs[i].ID[j] = byte(rng.IntN(256))
							}
						} else {
							protocol.FormatID(next, &msgs[i].ID)
							next += p.stride
						}
					}
					return msgs
				}
				for round := range 12 {
					// Grow in one batch or in many small ones.
					n := 1 + rng.IntN(600)
					var batch []Message
					if round%2 == 0 {
						batch = newBatch(n)
						require.Equal(t, n, f.add(batch, int64(round), 1<<40))
					} else {
						for len(batch) < n {
							b := newBatch(min(1+rng.IntN(20), n-len(batch)))
							require.Equal(t, len(b), f.add(b, int64(round), 1<<40))
							batch = append(batch, b...)
						}
					}
					for _, m := range batch {
						held[m.ID] = true
					}
					checkIDIndex(t, &f)
					// Finish most of this batch in the order under test.
					k := len(batch) * 3 / 4
					var ids []protocol.MessageID
					for _, m := range batch[:k] {
						ids = append(ids, m.ID)
					}
					switch order {
					case "reversed":
						for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
							ids[i], ids[j] = ids[j], ids[i]
						}
					case "random":
						rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
					}
					for i, id := range ids {
						msg, ok := f.remove(id)
						require.True(t, ok)
						require.Equal(t, id, msg.ID)
						delete(held, id)
						finished = append(finished, id)
						if i%50 == 0 {
							checkIDIndex(t, &f)
						}
					}
					checkIDIndex(t, &f)
					for id := range held {
						require.True(t, f.has(id), "held ID %s lost", id[:])
					}
					for _, id := range finished {
						require.False(t, f.has(id), "finished ID %s still found", id[:])
					}
					require.Equal(t, int64(len(held)), f.count.Load())
				}
				// A second copy of a held ID is still told apart.
				for id := range held {
					dup := []Message{{ID: id}}
					require.Zero(t, f.add(dup, 100, 1<<40))
					break
				}
				require.Len(t, f.drain(), len(held))
			})
		}
	}
}
