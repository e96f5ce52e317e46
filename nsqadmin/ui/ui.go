package ui

import (
	"bytes"
	"embed"
	"html"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var assets embed.FS

// Handler serves the app under basePath: any path that names an embedded
// asset gets that asset; every other path gets index.html, so deep links
// such as {basePath}/topics/foo load the app, which routes on the client.
// The backend mounts it for every GET under basePath that is not /api/.
func Handler(basePath string) http.Handler {
	base := normaliseBasePath(basePath)
	static, err := fs.Sub(assets, "static")
	if err != nil {
		// The embed directive above guarantees the directory exists.
		panic("ui: embedded static directory missing: " + err.Error())
	}
	index, err := fs.ReadFile(static, "index.html")
	if err != nil {
		panic("ui: embedded index.html missing: " + err.Error())
	}
	// The page needs the base path before it can ask the API anything, so
	// it is written into the document rather than fetched. It is written as
	// a prefix ("" for the root) so that URLs never start with "//", which a
	// browser would read as another host.
	prefix := base
	if prefix == "/" {
		prefix = ""
	}
	index = bytes.ReplaceAll(index, []byte("{{BASE_PATH}}"), []byte(html.EscapeString(prefix)))
	return &handler{base: base, static: static, index: index, modTime: time.Now()}
}

type handler struct {
	base    string
	static  fs.FS
	index   []byte
	modTime time.Time
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// Cleaned first, so that ".." cannot step out of the base path.
	rel := path.Clean("/" + r.URL.Path)
	if h.base != "/" {
		if !strings.HasPrefix(rel+"/", h.base+"/") {
			http.NotFound(w, r)
			return
		}
		rel = strings.TrimPrefix(rel, h.base)
	}
	rel = strings.TrimPrefix(rel, "/")
	if strings.HasPrefix(rel, "static/") {
		name := strings.TrimPrefix(rel, "static/")
		if b, err := fs.ReadFile(h.static, name); err == nil {
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			http.ServeContent(w, r, name, h.modTime, bytes.NewReader(b))
			return
		}
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	http.ServeContent(w, r, "index.html", h.modTime, bytes.NewReader(h.index))
}

// normaliseBasePath turns "", "/", "admin", "/admin/" into "/" or "/admin".
func normaliseBasePath(p string) string {
	p = path.Clean("/" + strings.TrimSpace(p))
	return p
}
