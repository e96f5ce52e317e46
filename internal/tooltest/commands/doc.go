// Package commands gives process-level tests the repository's commands
// (apps/<name>) as executables. `make test` builds every command once, before
// any package's tests run, and names the directory in $NSQGO_TEST_BIN (and a
// -race build of those the race pass needs in $NSQGO_TEST_RACE_BIN), so that
// the packages running side by side do not each link their own copy of nsqd;
// a plain `go test` of one package builds what it asks for, once per test
// binary. It is imported only by tests.
package commands
