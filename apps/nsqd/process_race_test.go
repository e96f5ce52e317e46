//go:build race

package main

// raceEnabled makes the process tests build nsqd with -race too, so that a
// data race in the daemon under crash and restart scenarios fails them.
const raceEnabled = true
