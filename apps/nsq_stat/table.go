package main

import (
	"fmt"
	"io"
	"time"
)

// headerEvery is how many polls apart the header is printed, as upstream
// (the first poll only primes the rates, so the first block has one row
// fewer).
const headerEvery = 25

// writeHeader prints upstream's two header lines.
func writeHeader(w io.Writer) {
	fmt.Fprintf(w, "%s+%s+%s\n",
		"------rate------",
		"----------------depth----------------",
		"--------------metadata---------------")
	fmt.Fprintf(w, "%7s %7s | %7s %7s %7s %5s %5s | %7s %7s %12s %7s\n",
		"ingress", "egress",
		"total", "mem", "disk", "inflt", "def",
		"req", "t-o", "msgs", "clients")
}

// writeRow prints one report line: the rates over the last interval
// (ingress: messages that arrived a second; egress: arrivals minus the
// depth's growth, i.e. messages that left) and the current totals.
func writeRow(w io.Writer, prev, cur channelTotals, interval time.Duration) {
	secs := interval.Seconds()
	arrived := cur.MessageCount - prev.MessageCount
	fmt.Fprintf(w, "%7d %7d | %7d %7d %7d %5d %5d | %7d %7d %12d %7d\n",
		int64(float64(arrived)/secs),
		int64(float64(arrived-(cur.Depth-prev.Depth))/secs),
		cur.Depth,
		cur.MemoryDepth,
		cur.BackendDepth,
		cur.InFlightCount,
		cur.DeferredCount,
		cur.RequeueCount,
		cur.TimeoutCount,
		cur.MessageCount,
		cur.ClientCount)
}
