// Command chaos runs the fault harness (internal/chaos) against a built nsqd
// and prints the checker's table. make chaos runs it; see the README,
// "Fault harness".
//
// It imports internal/chaos only: the daemon under test is a separate
// process, never the nsqd package in this one.
package main
