// Package version owns the version every binary reports. It reads 1.3.0,
// upstream's, because nsqadmin and the tools parse it as semver to decide
// which protocol features a node has.
package version

// Version is reported by /info, /stats, IDENTIFY replies and --version.
const Version = "1.3.0"
