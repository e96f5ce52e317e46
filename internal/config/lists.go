package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// StringList is a repeatable string flag; each occurrence adds one value and
// a comma-separated value adds several.
type StringList []string

func (s *StringList) String() string { return strings.Join(*s, ",") }

// Set implements flag.Value.
func (s *StringList) Set(value string) error {
	for _, part := range strings.Split(value, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*s = append(*s, part)
		}
	}
	return nil
}

// Get implements flag.Getter.
func (s *StringList) Get() any { return []string(*s) }

// FloatList is a repeatable float flag (also comma-separated), kept sorted
// in descending order as upstream keeps its latency percentiles.
type FloatList []float64

func (f *FloatList) String() string {
	parts := make([]string, len(*f))
	for i, v := range *f {
		parts[i] = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strings.Join(parts, ",")
}

// Set implements flag.Value.
func (f *FloatList) Set(value string) error {
	for _, part := range strings.Split(value, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		v, err := strconv.ParseFloat(part, 64)
		if err != nil {
			return fmt.Errorf("parse float %q: %w", part, err)
		}
		*f = append(*f, v)
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(*f)))
	return nil
}

// Get implements flag.Getter.
func (f *FloatList) Get() any { return []float64(*f) }
