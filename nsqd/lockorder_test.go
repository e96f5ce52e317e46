package nsqd

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// lockDocument is the lock-order document, and lockDocumentPackages the
// packages whose mutexes it must account for.
var (
	lockDocument         = "LOCKS.md"
	lockDocumentPackages = []string{".", "queue", filepath.Join("..", "internal", "diskqueue"), filepath.Join("metrics", "e2e"), filepath.Join("metrics", "prometheus"), "auth"}
)

// mutexFields lists every sync.Mutex or sync.RWMutex field of a named
// struct type in the non-test Go files of dir, as "Type.field".
func mutexFields(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	var out []string
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			spec, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := spec.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, field := range st.Fields.List {
				sel, ok := field.Type.(*ast.SelectorExpr)
				if !ok {
					continue
				}
				pkg, ok := sel.X.(*ast.Ident)
				if !ok || pkg.Name != "sync" || (sel.Sel.Name != "Mutex" && sel.Sel.Name != "RWMutex") {
					continue
				}
				if len(field.Names) == 0 { // embedded: promoted as Lock/Unlock
					out = append(out, spec.Name.Name+"."+sel.Sel.Name)
				}
				for _, name := range field.Names {
					out = append(out, spec.Name.Name+"."+name.Name)
				}
			}
			return true
		})
	}
	return out
}

// documentedLocks is the first column of the document's lock table: rows
// that start with "| `Type.field`".
func documentedLocks(t *testing.T) []string {
	t.Helper()
	doc, err := os.ReadFile(lockDocument)
	require.NoError(t, err)
	row := regexp.MustCompile("(?m)^\\| `([A-Za-z0-9_]+\\.[A-Za-z0-9_]+)`")
	var out []string
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		out = append(out, m[1])
	}
	return out
}

// TestLockDocumentNamesEveryMutex keeps LOCKS.md whole: a new mutex in nsqd
// or the disk queue needs a row saying what it guards and what may be taken
// under it, and a row whose mutex is gone must go too.
func TestLockDocumentNamesEveryMutex(t *testing.T) {
	var inCode []string
	for _, dir := range lockDocumentPackages {
		inCode = append(inCode, mutexFields(t, dir)...)
	}
	documented := documentedLocks(t)
	require.NotEmpty(t, inCode, "no mutex found: the parser is looking in the wrong place")
	for _, name := range inCode {
		require.Contains(t, documented, name,
			"%s is a mutex with no row in nsqd/%s: say what it guards, who takes it and what may be taken under it", name, lockDocument)
	}
	for _, name := range documented {
		require.True(t, slices.Contains(inCode, name),
			"nsqd/%s has a row for %s, which is no mutex field in nsqd or internal/diskqueue", lockDocument, name)
	}
}

// TestLockDocumentIsLinkedFromThePackageDoc: the document is found from
// the package documentation, where a reader starts.
func TestLockDocumentIsLinkedFromThePackageDoc(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	require.Contains(t, string(doc), lockDocument)
}

// TestLockOrderNamesOnlyDocumentedLocks: every lock the "Order" section
// puts in a chain has a row in the table, so an order line cannot outlive
// its mutex or name one the table does not explain.
func TestLockOrderNamesOnlyDocumentedLocks(t *testing.T) {
	doc, err := os.ReadFile(lockDocument)
	require.NoError(t, err)
	text := string(doc)
	start := strings.Index(text, "\n## Order\n")
	require.NotEqual(t, -1, start, "no Order section")
	end := strings.Index(text[start+1:], "\n## ")
	require.NotEqual(t, -1, end, "the Order section has no end")
	section := text[start : start+1+end]
	documented := documentedLocks(t)
	lock := regexp.MustCompile(`\b[A-Za-z]+\.[A-Za-z]+\b`)
	var named int
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "    ") {
			continue // only the indented chains, not the prose
		}
		for _, name := range lock.FindAllString(line, -1) {
			named++
			require.Contains(t, documented, name, "the Order section names %s, which has no row in the table", name)
		}
	}
	require.Greater(t, named, 10, "no chain found: the parser is looking in the wrong place")
}
