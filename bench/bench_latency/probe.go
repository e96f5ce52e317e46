package main

import "time"

// probe measures the tool's own scheduling delay until stop is closed: it
// sleeps period at a time and records every sleep that overran by at
// least minStall, from when the sleep should have ended. On a machine
// short of CPU the tool's goroutines wait for a core as the daemon's do,
// so a latency spike that coincides with a stall of the tool is (at least
// partly) the machine's, not the daemon's. The stalls are in start order.
func probe(period, minStall time.Duration, stop <-chan struct{}) []stall {
	var stalls []stall
	t := time.NewTimer(period)
	defer t.Stop()
	due := time.Now().Add(period)
	for {
		select {
		case <-stop:
			return stalls
		case <-t.C:
		}
		now := time.Now()
		if late := now.Sub(due); late >= minStall {
			stalls = append(stalls, stall{start: due.UnixNano(), length: late})
		}
		due = now.Add(period)
		t.Reset(period)
	}
}
