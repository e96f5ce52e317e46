//go:build race

package nsqd

// raceEnabled: this test binary was built with -race, whose sync.Pool drops
// one Put in four on purpose.
const raceEnabled = true
