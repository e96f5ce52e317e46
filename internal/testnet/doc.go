// Package testnet owns small network fixtures for tests: addresses whose
// behaviour is fixed for as long as a test runs. It imports nothing of the
// project.
package testnet
