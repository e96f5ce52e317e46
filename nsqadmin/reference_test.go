package nsqadmin

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/lookupdhttp"
)

// referenceDir is where the compatibility reference is kept, outside the
// repository; without it the test below is skipped.
var referenceDir = filepath.Join("..", "..", "shared", "reference")

// jsonNames is every JSON field name of the struct types given, nested
// struct fields included.
func jsonNames(types ...reflect.Type) []string {
	var out []string
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" {
				out = append(out, name)
			}
			walk(f.Type)
		}
	}
	for _, t := range types {
		walk(t)
	}
	return out
}

// TestFieldsReadFromNodesAreTheReferences checks that every field
// nsqadmin reads from nsqd's /stats and /info and from nsqlookupd's
// answers is named as the reference names it, so that nsqadmin reads
// upstream daemons as well as ours.
func TestFieldsReadFromNodesAreTheReferences(t *testing.T) {
	nsqdDoc, err := os.ReadFile(filepath.Join(referenceDir, "nsqd-http.md"))
	if os.IsNotExist(err) {
		t.Skipf("no compatibility reference at %s", referenceDir)
	}
	require.NoError(t, err)
	lookupdDoc, err := os.ReadFile(filepath.Join(referenceDir, "nsqlookupd.md"))
	require.NoError(t, err)

	for _, name := range jsonNames(reflect.TypeOf(nsqdStats{}), reflect.TypeOf(nsqdInfo{})) {
		require.True(t, strings.Contains(string(nsqdDoc), `"`+name+`"`) || strings.Contains(string(nsqdDoc), "`"+name+"`"),
			"nsqd field %q is not in the reference's nsqd-http.md", name)
	}
	for _, name := range jsonNames(reflect.TypeOf(lookupdhttp.Node{})) {
		require.True(t, strings.Contains(string(lookupdDoc), `"`+name+`"`) || strings.Contains(string(lookupdDoc), "`"+name+"`"),
			"lookupd field %q is not in the reference's nsqlookupd.md", name)
	}
}
