package queue

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Transcript tests, in the style of etcd raft's data-driven tests: each
// file under testdata/ is a script of commands, each followed by "----"
// and the output expected after it, ending at a blank line. Lines starting
// with '#' between commands are comments. Run with -rewrite to write the
// actual outputs into the files (then read the diff before committing it).

var rewrite = flag.Bool("rewrite", false, "rewrite the transcripts' expected outputs")

type step struct {
	pos      string // file:line of the command
	command  string
	expected string
}

// parseTranscript reads a transcript; comments are kept verbatim in
// front of the command they precede, for rewriting.
func parseTranscript(t *testing.T, path string) (steps []step, comments []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var comment []string
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		switch {
		case strings.TrimSpace(line) == "":
			if len(comment) > 0 {
				comment = append(comment, "")
			}
			continue
		case strings.HasPrefix(line, "#"):
			comment = append(comment, line)
			continue
		}
		s := step{pos: fmt.Sprintf("%s:%d", path, i+1), command: line}
		i++
		if i >= len(lines) || lines[i] != "----" {
			t.Fatalf("%s: command %q is not followed by ----", s.pos, line)
		}
		var out []string
		for i+1 < len(lines) && lines[i+1] != "" {
			i++
			out = append(out, lines[i])
		}
		s.expected = strings.Join(out, "\n")
		steps = append(steps, s)
		comments = append(comments, strings.Join(comment, "\n"))
		comment = nil
	}
	return steps, comments
}

func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			steps, comments := parseTranscript(t, path)
			var h interface{ run(line string) string } = newHarness(t)
			if strings.HasPrefix(filepath.Base(path), "held") {
				h = newHeldHarness(t) // the topic's held messages (held.go)
			}
			var rewritten strings.Builder
			for i, s := range steps {
				got := strings.TrimRight(h.run(s.command), "\n")
				if *rewrite {
					if comments[i] != "" {
						rewritten.WriteString(strings.TrimRight(comments[i], "\n") + "\n")
					}
					fmt.Fprintf(&rewritten, "%s\n----\n%s\n\n", s.command, got)
					continue
				}
				if got != s.expected {
					t.Fatalf("%s: %s\nexpected:\n%s\ngot:\n%s", s.pos, s.command, s.expected, got)
				}
			}
			if *rewrite {
				if err := os.WriteFile(path, []byte(rewritten.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
