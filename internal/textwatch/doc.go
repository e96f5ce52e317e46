// Package textwatch owns one test aid: a writer that keeps everything
// written to it, so that a test can await text another goroutine writes
// (a daemon's log line that follows a change of its state, a tool's
// output) instead of polling or sleeping. It imports only the standard
// library, so any package's tests can use it without an import cycle.
package textwatch
