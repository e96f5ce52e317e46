package diskqueue

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRandomDamageNeverDeliversGarbage damages a queue's files at random
// (flipped bits, cut and grown segments, inserted noise, zeroed ranges, lost
// segments and metadata) and checks what comes back: only records that were
// written, each intact, in order, never twice; and the queue still works.
func TestRandomDamageNeverDeliversGarbage(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			o, _ := testOptions(t, t.TempDir())
			o.MaxBytesPerFile = 2048
			q := mustOpen(t, o)
			const n = 150
			for i := 0; i < n; {
				var batch [][]byte
				for range 1 + rng.IntN(6) {
					if i < n {
						batch = append(batch, payload(i, 8+rng.IntN(300)))
						i++
					}
				}
				require.NoError(t, putErr(q.Put(batch)))
			}
			if rng.IntN(2) == 0 {
				require.NoError(t, q.Close())
			} else {
				crash(q)
			}

			segs := segments(t, o)
			for range 1 + rng.IntN(4) {
				damageAtRandom(t, rng, o, segs)
			}

			q, err := Open(o)
			require.NoError(t, err)
			defer q.Close()
			last := -1
			for _, r := range readAll(t, q) {
				i := payloadIndex(t, r.Data) // intact, or the test fails
				require.Greater(t, i, last, "order")
				require.Less(t, i, n)
				last = i
			}
			putRange(t, q, 1000, 1010, 50, 3)
			require.Equal(t, seq(1000, 1010), indexes(t, readAll(t, q)), "queue still works")
		})
	}
}

func damageAtRandom(t *testing.T, rng *rand.Rand, o Options, segs []int64) {
	t.Helper()
	if len(segs) == 0 {
		return
	}
	path := segPath(o, segs[rng.IntN(len(segs))])
	if _, err := os.Stat(path); err != nil {
		return // removed by an earlier damage
	}
	switch rng.IntN(7) {
	case 0: // flip bits
		modifyFile(t, path, func(b []byte) []byte {
			for range 1 + rng.IntN(5) {
				if len(b) > 0 {
					b[rng.IntN(len(b))] ^= 1 << rng.IntN(8)
				}
			}
			return b
		})
	case 1: // cut
		modifyFile(t, path, func(b []byte) []byte { return b[:rng.IntN(len(b)+1)] })
	case 2: // insert noise
		modifyFile(t, path, func(b []byte) []byte {
			at := rng.IntN(len(b) + 1)
			noise := make([]byte, 1+rng.IntN(400))
			for i := range noise {
				noise[i] = byte(rng.Uint32())
			}
			return append(b[:at:at], append(noise, b[at:]...)...)
		})
	case 3: // zero a range
		modifyFile(t, path, func(b []byte) []byte {
			if len(b) == 0 {
				return b
			}
			at := rng.IntN(len(b))
			clear(b[at:min(len(b), at+1+rng.IntN(200))])
			return b
		})
	case 4: // grow with zeros, as a crash can leave a file
		modifyFile(t, path, func(b []byte) []byte { return append(b, make([]byte, rng.IntN(9000))...) })
	case 5: // lose the segment
		require.NoError(t, os.Remove(path))
	case 6: // lose or damage the metadata
		mp := o.Dir + "/" + metaFileName(o.Name)
		if rng.IntN(2) == 0 {
			os.Remove(mp)
		} else if _, err := os.Stat(mp); err == nil {
			modifyFile(t, mp, func(b []byte) []byte { b[rng.IntN(len(b))] ^= 0x04; return b })
		}
	}
}
