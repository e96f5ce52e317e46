//go:build !race

package nsqd

// raceEnabled: this test binary was built without -race.
const raceEnabled = false
