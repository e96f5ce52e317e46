package protocol

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// FormatID renders exactly what %016x does, for the values where digit
// boundaries lie (every nibble 9 or a, f, 0, carries) and random ones.
func TestFormatIDIsSixteenLowerHexDigits(t *testing.T) {
	values := []uint64{0, 1, 9, 10, 15, 16, 0x99999999aaaaaaaa, 0xaaaaaaaa99999999,
		0x0123456789abcdef, 0xfedcba9876543210, math.MaxUint64, math.MaxUint32, 1 << 32,
		0x0f0f0f0f0f0f0f0f, 0xf0f0f0f0f0f0f0f0}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		values = append(values, rng.Uint64())
	}
	for _, v := range values {
		var id MessageID
		FormatID(v, &id)
		if want := fmt.Sprintf("%016x", v); string(id[:]) != want {
			t.Fatalf("FormatID(%#x) = %q, want %q", v, id[:], want)
		}
	}
}

func BenchmarkFormatID(b *testing.B) {
	var id MessageID
	for i := range b.N {
		FormatID(uint64(i)*0x9e3779b97f4a7c15, &id)
	}
}
