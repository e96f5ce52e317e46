//go:build !unix

package nsqd

import "testing"

// processCPU is not measured here (no getrusage): the benchmarks' CPU
// metrics read 0.
func processCPU(b *testing.B) int64 { return 0 }
