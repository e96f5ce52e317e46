// Package clock owns where the daemons' time comes from. Core logic takes a
// Clock instead of calling the time package, so that a test can build it
// with a Fake and move time forward by hand: what happens at a deadline is
// then tested by advancing to it, not by sleeping until it and hoping the
// scheduler agrees.
//
// Real is the wall clock. Fake is a manual clock whose timers fire in the
// goroutine that calls Advance, in deadline order, one at a time.
//
// A Clock has two readings, as the runtime has: Now, the wall clock, which
// steps when the system's clock is set, and Nanotime, monotonic, which
// timers wait on. A deadline that must hold whatever the wall clock does
// is kept on Nanotime; Fake.StepWall sets the wall clock to test that.
package clock
