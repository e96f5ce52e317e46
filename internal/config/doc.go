// Package config owns how a binary's settings are resolved: command-line
// flags first, then a TOML file (--config), then built-in defaults, with
// upstream's coercion rules (integer durations are milliseconds, lists may be
// arrays or comma-separated strings, booleans may be strings).
//
// It must never import a daemon or a command: the commands under apps/
// import it.
package config
