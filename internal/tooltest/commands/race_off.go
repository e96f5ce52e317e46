//go:build !race

package commands

// raceEnabled: this test binary was built without -race.
const raceEnabled = false
