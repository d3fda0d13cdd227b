// Package web serves atende's single-page app: the agent desktop, and later
// the supervisor and admin views, built by Vite from web/src into web/dist and
// embedded in the binary.
//
// A fresh clone has only dist/placeholder.html (committed), which says the app
// is not built; `make web` writes the real app next to it, and Vite copies the
// same placeholder from public/ on every build, so `git status` stays clean.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed dist
var dist embed.FS

// WidgetScript is the customer chat widget, built by vite.widget.config.ts
// under a stable name that customers' pages embed.
const WidgetScript = "widget.js"

// CSP allows only the app's own scripts, styles and connections (the event
// WebSocket is same-origin): no inline scripts, nothing from other origins.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"font-src 'self'; connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// Handler serves the built app. Files under /assets/ are named by their
// content hash and cached for a year; every other file, and index.html
// served for client-side routes, must be revalidated.
func Handler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // dist is embedded at compile time; it is always there
	}
	return handlerFS(sub)
}

func handlerFS(files fs.FS) http.Handler {
	index := "index.html"
	if _, err := fs.Stat(files, index); err != nil {
		index = "placeholder.html"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		if p == "/api" || strings.HasPrefix(p, "/api/") {
			// The API answers its own misses; never hand it the app.
			http.NotFound(w, r)
			return
		}
		name := strings.TrimPrefix(p, "/")
		if name != "" && name != index {
			if st, err := fs.Stat(files, name); err == nil && !st.IsDir() {
				cache := "no-cache"
				if strings.HasPrefix(name, "assets/") {
					cache = "public, max-age=31536000, immutable"
				}
				if name == WidgetScript {
					// Customers' pages embed this URL, so it cannot carry a
					// content hash: browsers keep it a few minutes (a fix
					// reaches every site soon) and revalidate by ETag; any
					// site may load it, also under Cross-Origin-Embedder-Policy.
					cache = "public, max-age=300"
					w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
				}
				serveFile(w, r, files, name, cache)
				return
			}
			if path.Ext(name) != "" {
				// A missing file, not a client route: a stale hashed asset
				// must fail loudly rather than parse index.html as script.
				http.NotFound(w, r)
				return
			}
		}
		serveFile(w, r, files, index, "no-cache")
	})
}

// etags remembers each embedded file's validator: the files never change
// while the process runs.
var etags sync.Map

func etag(name string, b []byte) string {
	if v, ok := etags.Load(name); ok {
		return v.(string)
	}
	sum := sha256.Sum256(b)
	tag := `"` + hex.EncodeToString(sum[:12]) + `"`
	etags.Store(name, tag)
	return tag
}

func serveFile(w http.ResponseWriter, r *http.Request, files fs.FS, name, cache string) {
	b, err := fs.ReadFile(files, name)
	if err != nil {
		http.Error(w, "cannot read "+name, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = http.DetectContentType(b)
	}
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", cache)
	// A validator, so "no-cache" and expired files revalidate with a 304
	// instead of downloading again (embedded files have no modtime).
	h.Set("ETag", etag(name, b))
	h.Set("X-Content-Type-Options", "nosniff")
	if strings.HasPrefix(ctype, "text/html") {
		h.Set("Content-Security-Policy", CSP)
	}
	// The zero modtime of embedded files disables If-Modified-Since;
	// ServeContent still handles Range and HEAD.
	http.ServeContent(w, r, name, time.Time{}, strings.NewReader(string(b)))
}
