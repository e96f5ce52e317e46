package config

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// sampleKeyLine is a "key = value" line of a sample config, set or
// commented out ("# key = value"); prose comments never start that way.
var sampleKeyLine = regexp.MustCompile(`^(# )?([a-z0-9_]+) = `)

// SampleKeys lists the keys a sample config (contrib/*.toml) sets and the
// ones it shows commented out, for tests that check every key is one the
// binary reads. It also returns the file with those lines uncommented.
func SampleKeys(path string) (set, commented []string, uncommented string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, "", err
	}
	defer f.Close()
	var out strings.Builder
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		line := lines.Text()
		if m := sampleKeyLine.FindStringSubmatch(line); m != nil {
			if m[1] == "" {
				set = append(set, m[2])
			} else {
				commented = append(commented, m[2])
				line = strings.TrimPrefix(line, "# ")
			}
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	if err := lines.Err(); err != nil {
		return nil, nil, "", fmt.Errorf("read %s: %w", path, err)
	}
	return set, commented, out.String(), nil
}
