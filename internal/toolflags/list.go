package toolflags

import "strings"

// StringList is a repeatable string flag: each occurrence adds a value,
// in command-line order (upstream's app.StringArray).
type StringList []string

// Set appends one occurrence.
func (s *StringList) Set(value string) error {
	*s = append(*s, value)
	return nil
}

// String joins the values, for --help.
func (s *StringList) String() string { return strings.Join(*s, ",") }
