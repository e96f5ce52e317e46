package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is reported by /info, /stats, IDENTIFY replies and --version.
const Version = "1.3.0"

// Project names this implementation in --version.
const Project = "nsqgo"

// linkedCommit is set by the Makefile's builds with -ldflags -X, for the
// builds Go cannot stamp itself: go does not recognise a git worktree (whose
// .git is a file) as a repository, and GOFLAGS may say -buildvcs=false. It
// is never written at run time.
var linkedCommit string

// Commit is the VCS revision the running binary was built from (12 hex
// digits, "+dirty" when the tree had local changes): Go's own VCS stamp
// (debug.ReadBuildInfo) when there is one, else what the Makefile linked
// in, else "unknown" (go test, go run, a build outside git).
func Commit() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		if c := commitOf(info.Settings); c != "unknown" {
			return c
		}
	}
	if linkedCommit != "" {
		return linkedCommit
	}
	return "unknown"
}

func commitOf(settings []debug.BuildSetting) string {
	revision, modified := "", false
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if revision == "" {
		return "unknown"
	}
	if len(revision) > 12 {
		revision = revision[:12]
	}
	if modified {
		revision += "+dirty"
	}
	return revision
}

// String is the --version line of app: upstream's "<app> v1.3.0 (built
// w/<go version>)" followed by "nsqgo <commit>". Scripts that match
// upstream's "v<semver>" still find it.
func String(app string) string {
	return fmt.Sprintf("%s v%s (built w/%s) %s %s", app, Version, runtime.Version(), Project, Commit())
}
