package hugepage

// THPMode is the kernel's transparent huge page policy for anonymous
// memory.
type THPMode int

const (
	// ModeUnavailable: no transparent huge pages (another OS, or a kernel
	// built without them).
	ModeUnavailable THPMode = iota
	// ModeNever: turned off by the administrator.
	ModeNever
	// ModeMadvise: only ranges marked MADV_HUGEPAGE get them; the one mode
	// in which an Advisor acts.
	ModeMadvise
	// ModeAlways: every anonymous mapping gets them already.
	ModeAlways
)

func (m THPMode) String() string {
	switch m {
	case ModeNever:
		return "never"
	case ModeMadvise:
		return "madvise"
	case ModeAlways:
		return "always"
	}
	return "unavailable"
}

// parseMode reads a sysfs policy file's content such as
// "always [madvise] never" (the bracketed word is the one in force);
// "inherit" is reported as ok=false, meaning "ask the parent setting".
func parseMode(content string) (mode THPMode, ok bool) {
	start, end := -1, -1
	for i := 0; i < len(content); i++ {
		switch content[i] {
		case '[':
			start = i + 1
		case ']':
			end = i
		}
	}
	if start < 0 || end < start {
		return ModeUnavailable, true
	}
	switch content[start:end] {
	case "always":
		return ModeAlways, true
	case "madvise":
		return ModeMadvise, true
	case "never":
		return ModeNever, true
	case "inherit":
		return ModeUnavailable, false
	}
	return ModeUnavailable, true
}
