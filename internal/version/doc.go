// Package version owns the version every binary reports. It reads 1.3.0,
// upstream's, because nsqadmin and the tools parse it as semver to decide
// which protocol features a node has; --version and the start-up line add
// this project's name and the commit it was built from, so a build of ours
// can be told from upstream's.
//
// It is a leaf: it imports nothing of this module.
package version
