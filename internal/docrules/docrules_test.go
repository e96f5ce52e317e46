package docrules

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/nsqgo/nsq/"

// repoRoot is the directory holding go.mod, found from the test's own
// directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.mod above the test")
		dir = parent
	}
}

// goFile is one parsed Go file of the repository.
type goFile struct {
	rel  string // slash-separated, from the repository root
	dir  string // its package directory, slash-separated
	test bool
	ast  *ast.File
}

// goFiles parses every Go file of the repository with its comments, leaving
// out testdata, hidden directories and node_modules.
func goFiles(t *testing.T, root string) []goFile {
	t.Helper()
	var out []goFile
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		out = append(out, goFile{rel: rel, dir: filepath.ToSlash(filepath.Dir(rel)), test: strings.HasSuffix(name, "_test.go"), ast: f})
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, out)
	return out
}

// markdownNames is every Markdown file of the repository, by path from the
// root and by base name.
func markdownNames(t *testing.T, root string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".md") {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			names[filepath.ToSlash(rel)] = true
			names[d.Name()] = true
		}
		return nil
	})
	require.NoError(t, err)
	return names
}

var citedMarkdown = regexp.MustCompile(`[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b`)

// citationProblems is what is wrong with one comment's citations.
func citationProblems(text string, markdown map[string]bool) []string {
	var out []string
	if strings.Contains(text, "§") {
		out = append(out, `cites a section by "§": name the file and its heading, or say the fact`)
	}
	for _, banned := range []string{"shared/reference", "design-notes"} {
		if strings.Contains(text, banned) {
			out = append(out, "cites "+banned+", which is not in the repository")
		}
	}
	for _, name := range citedMarkdown.FindAllString(text, -1) {
		name = strings.TrimPrefix(strings.TrimPrefix(name, "./"), "../")
		if !markdown[name] && !markdown[filepath.Base(name)] {
			out = append(out, "cites "+name+", which is not in the repository")
		}
	}
	return out
}

func TestCitationRulesCatchWhatTheyShould(t *testing.T) {
	markdown := map[string]bool{"README.md": true, "internal/diskqueue/FORMAT.md": true, "FORMAT.md": true}
	require.Empty(t, citationProblems(`see internal/diskqueue/FORMAT.md, "Recovery at Open", and the README.md`, markdown))
	require.Empty(t, citationProblems("the .md files of the repository", markdown))
	require.Len(t, citationProblems("reference §6.2", markdown), 1)
	require.Len(t, citationProblems("(tcp-protocol.md)", markdown), 1)
	require.Len(t, citationProblems("options.md §4.1", markdown), 2)
	require.Len(t, citationProblems("../shared/reference", markdown), 1)
}

// TestCommentsCiteOnlyFilesInTheRepository: a reader of a comment can open
// whatever it cites. Facts from documents kept outside the repository are
// written out where they are used.
func TestCommentsCiteOnlyFilesInTheRepository(t *testing.T) {
	root := repoRoot(t)
	markdown := markdownNames(t, root)
	var problems []string
	for _, f := range goFiles(t, root) {
		for _, group := range f.ast.Comments {
			for _, c := range group.List {
				for _, p := range citationProblems(c.Text, markdown) {
					problems = append(problems, f.rel+": "+p+": "+c.Text)
				}
			}
		}
	}
	require.Empty(t, problems)
}

// documentedDirs are the directories each of whose packages needs a doc.go.
var documentedDirs = []string{"nsqd", "nsqlookupd", "nsqadmin", "internal", "bench/internal", "test"}

func needsDocGo(dir string) bool {
	for _, d := range documentedDirs {
		if dir == d || strings.HasPrefix(dir, d+"/") {
			return true
		}
	}
	return false
}

// TestEveryPackageHasADocGo: a reader finds what a package owns, and what
// it must not import, in one known place.
func TestEveryPackageHasADocGo(t *testing.T) {
	root := repoRoot(t)
	packages := map[string]bool{} // directory → has a doc.go with a package comment
	for _, f := range goFiles(t, root) {
		if !needsDocGo(f.dir) || f.test {
			continue
		}
		hasDoc := strings.HasSuffix(f.rel, "/doc.go") && f.ast.Doc != nil && strings.TrimSpace(f.ast.Doc.Text()) != ""
		packages[f.dir] = packages[f.dir] || hasDoc
	}
	require.Contains(t, packages, "nsqd", "the walk missed the daemon")
	var missing []string
	for dir, ok := range packages {
		if !ok {
			missing = append(missing, dir)
		}
	}
	slices.Sort(missing)
	require.Empty(t, missing, "packages without a doc.go saying what they own")
}

// imports is, per package directory, what its non-test files import from
// this module (slash-separated directories).
func imports(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, f := range goFiles(t, root) {
		if f.test {
			continue
		}
		if _, ok := out[f.dir]; !ok {
			out[f.dir] = nil
		}
		for _, spec := range f.ast.Imports {
			path, err := strconv.Unquote(spec.Path.Value)
			require.NoError(t, err)
			if dep, ok := strings.CutPrefix(path, module); ok && !slices.Contains(out[f.dir], dep) {
				out[f.dir] = append(out[f.dir], dep)
			}
		}
	}
	return out
}

func under(dir, prefix string) bool { return dir == prefix || strings.HasPrefix(dir, prefix+"/") }

// leaves import nothing of this module (their doc.go files say why).
var leaves = []string{
	"internal/logging", "internal/version", "internal/hostpool", "internal/timermetrics",
	"internal/protocol", "internal/diskqueue", "internal/chaos", "bench/internal/benchutil",
	"nsqadmin/ui", "internal/docrules", "internal/authclient",
}

// importProblems is what is wrong with an import graph (package directory
// → the module's directories it imports): shared pieces never reach up
// into a daemon, the daemons stay independent of each other, the leaves
// stay leaves, and no package imports the package it sits under (nsqd/auth
// never imports nsqd: the parent depends on its parts, through small
// interfaces where a part needs something of the whole).
func importProblems(graph map[string][]string) []string {
	daemons := []string{"nsqd", "nsqlookupd", "nsqadmin"}
	var problems []string
	for dir, deps := range graph {
		for _, dep := range deps {
			switch {
			case dir != dep && under(dir, dep):
				problems = append(problems, dir+" imports "+dep+", the package it sits under: an import pointing back up")
			case under(dep, "apps") || under(dep, "test"):
				problems = append(problems, dir+" imports the command "+dep)
			case under(dir, "internal") && dir != "internal/tooltest/daemons" && slices.ContainsFunc(daemons, func(d string) bool { return under(dep, d) }):
				problems = append(problems, dir+" (a shared piece) imports the daemon "+dep)
			case slices.ContainsFunc(daemons, func(d string) bool {
				return under(dir, d) && !under(dep, d) && slices.ContainsFunc(daemons, func(o string) bool { return under(dep, o) })
			}):
				problems = append(problems, dir+" imports another daemon, "+dep)
			case slices.Contains(leaves, dir):
				problems = append(problems, dir+" is a leaf but imports "+dep)
			case under(dep, "internal/tooltest") && !under(dir, "internal/tooltest"):
				problems = append(problems, dir+" imports the test helper "+dep+" outside its tests")
			case dir == "internal/tooltest/daemons" && dep == "internal/nsqclient":
				problems = append(problems, "internal/tooltest/daemons imports internal/nsqclient, whose tests use it")
			}
		}
	}
	slices.Sort(problems)
	return problems
}

func TestImportRulesCatchWhatTheyShould(t *testing.T) {
	require.Empty(t, importProblems(map[string][]string{
		"nsqd":                {"nsqd/auth", "nsqd/metrics/statsd", "internal/authclient"},
		"nsqd/auth":           {"internal/authclient"},
		"nsqd/metrics/statsd": {"nsqd/metrics/e2e", "internal/clock"},
		"nsqadmin":            {"internal/authclient"},
	}))
	require.Len(t, importProblems(map[string][]string{"nsqd/auth": {"nsqd"}}), 1, "a part importing its parent")
	require.Len(t, importProblems(map[string][]string{"nsqd/metrics/e2e": {"nsqd/metrics"}}), 1, "any level up")
	require.Len(t, importProblems(map[string][]string{"internal/authclient": {"nsqd/auth"}}), 1, "a shared piece importing a daemon's part")
	require.Len(t, importProblems(map[string][]string{"nsqadmin": {"nsqd/auth"}}), 1, "a daemon importing another's part")
	require.Len(t, importProblems(map[string][]string{"internal/authclient": {"internal/clock"}}), 1, "a leaf importing")
}

// TestImportsPointOneWay applies importProblems to the repository.
func TestImportsPointOneWay(t *testing.T) {
	root := repoRoot(t)
	graph := imports(t, root)
	require.Contains(t, graph, "nsqd", "the walk missed the daemon")
	require.Empty(t, importProblems(graph))
}
