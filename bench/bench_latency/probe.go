package main

import "time"

// probe measures the tool's own scheduling delay until stop is closed: it
// sleeps period at a time and records every sleep that overran by at
// least minStall, from when the sleep should have ended. On a machine
// short of CPU the tool's goroutines wait for a core as the daemon's do,
// so a latency spike that coincides with a stall of the tool is (at least
// partly) the machine's, not the daemon's. The stalls are in start order.
// now reads the clock (time.Now; a test's own readings).
func probe(period, minStall time.Duration, stop <-chan struct{}, now func() time.Time) []stall {
	var stalls []stall
	t := time.NewTimer(period)
	defer t.Stop()
	due := now().Add(period)
	for {
		select {
		case <-stop:
			return stalls
		case <-t.C:
		}
		woke := now()
		if late := woke.Sub(due); late >= minStall {
			stalls = append(stalls, stall{start: due.UnixNano(), length: late})
		}
		due = woke.Add(period)
		t.Reset(period)
	}
}
