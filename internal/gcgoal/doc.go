// Package gcgoal lowers the garbage collector's heap goal while a daemon's
// live heap is small.
//
// Why. With the default GOGC=100 the collector lets the heap grow to twice
// what the previous cycle found live, but never to less than 4 MB (the
// runtime's minimum heap, 4 MB x GOGC/100). An nsqd whose live heap is a
// megabyte or two (idle, or delivering a steady stream from memory, where
// each message's body is garbage once finished) therefore cycles its heap
// up to 4 MB and more between collections, and those pages count in its
// resident set: at bench/compare.sh's latency shape the live heap is under
// 1 MB and the heap still reaches 4 MB (README, "Peak RSS"). Collecting such
// a small heap is cheap (a cycle over 1 MB costs tens of microseconds of
// CPU), so collecting it twice as often costs nothing measurable, while
// collecting a big heap twice as often would.
//
// What it does. Start watches every collection (a finalizer re-armed each
// cycle: no goroutine, no timer, nothing between collections) and sets the
// GC percent to Policy.Small while the live heap the last cycle marked is
// under Policy.SmallBelow, and back to Policy.Normal (100, the default) once
// it is not. A heap that grows past the bound is thus collected exactly as
// without this package; only small heaps get the lower goal.
//
// A user who set GOGC or GOMEMLIMIT chose the collector's pacing: Start then
// changes nothing (Enabled reports it).
package gcgoal
