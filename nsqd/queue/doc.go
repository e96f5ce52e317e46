// Package queue owns where a channel keeps its messages: the ready ring,
// the deferred heap, the disk backlog, the deferred store and the dead set,
// behind one small API with no goroutines, no locks callers must know
// about and no wall clock (time comes in as a parameter). The nsqd package
// keeps the channel's lock, its consumers and their wake-ups.
package queue
