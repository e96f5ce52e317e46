//go:build !race

package main

// raceEnabled is false: the nsqd binary is built without -race.
const raceEnabled = false
