//go:build !unix

package diskqueue

import "time"

// userCPU is not measured here: the metric reads 0.
func userCPU() time.Duration { return 0 }

// processCPU is not measured here: the metric reads 0.
func processCPU() time.Duration { return 0 }
