//go:build race

package commands

// raceEnabled: this test binary was built with -race, and so are the
// commands it runs (see Set).
const raceEnabled = true
