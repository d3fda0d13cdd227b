package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHandlerServesFilesRoutesAndCaching(t *testing.T) {
	h := handlerFS(fstest.MapFS{
		"index.html":          {Data: []byte("<!doctype html><title>app</title>")},
		"placeholder.html":    {Data: []byte("not built")},
		"assets/app-abc1.js":  {Data: []byte("console.log(1)")},
		"assets/app-abc1.css": {Data: []byte("body{}")},
		"favicon.svg":         {Data: []byte("<svg/>")},
	})
	tests := []struct {
		name, method, path string
		status             int
		ctype, cache, body string
	}{
		{"root is the app", "GET", "/", 200, "text/html", "no-cache", "<title>app"},
		{"client route is the app", "GET", "/desktop/tasks/42", 200, "text/html", "no-cache", "<title>app"},
		{"hashed script cached for a year", "GET", "/assets/app-abc1.js", 200, "javascript", "immutable", "console"},
		{"hashed style", "GET", "/assets/app-abc1.css", 200, "text/css", "immutable", "body"},
		{"unhashed file revalidated", "GET", "/favicon.svg", 200, "image/svg+xml", "no-cache", "<svg"},
		{"missing asset is 404, not the app", "GET", "/assets/gone-1234.js", 404, "", "", ""},
		{"API paths never get the app", "GET", "/api/v1/nothing", 404, "", "", ""},
		{"unsafe method refused", "POST", "/", 405, "", "", ""},
		{"head works", "HEAD", "/", 200, "text/html", "no-cache", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if tt.status != 200 {
				return
			}
			if ct := w.Header().Get("Content-Type"); !strings.Contains(ct, tt.ctype) {
				t.Errorf("Content-Type %q, want %q", ct, tt.ctype)
			}
			if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, tt.cache) {
				t.Errorf("Cache-Control %q, want %q", cc, tt.cache)
			}
			if !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("body %q, want %q", w.Body.String(), tt.body)
			}
			if strings.Contains(tt.ctype, "html") && !strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src 'self'") {
				t.Errorf("no CSP on %s", tt.path)
			}
		})
	}
}

func TestHandlerFallsBackToPlaceholderWhenNotBuilt(t *testing.T) {
	h := handlerFS(fstest.MapFS{"placeholder.html": {Data: []byte("make web")}})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/login", nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "make web") {
		t.Fatalf("got %d %q", w.Code, w.Body.String())
	}
}

// The committed placeholder in dist is the one Vite copies from public/, so
// a build leaves `git status` clean.
func TestPlaceholderMatchesPublicCopy(t *testing.T) {
	src, err := os.ReadFile("public/placeholder.html")
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := dist.ReadFile("dist/placeholder.html")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, embedded) {
		t.Fatal("web/dist/placeholder.html differs from web/public/placeholder.html: copy it over")
	}
}

func TestEmbeddedHandlerServesSomething(t *testing.T) {
	w := httptest.NewRecorder()
	Handler().ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("got %d %s", w.Code, w.Header().Get("Content-Type"))
	}
}

// The widget script keeps one URL that customers' pages embed: cached a few
// minutes, loadable from any site, revalidated by ETag.
func TestWidgetScriptIsEmbeddableAndRevalidates(t *testing.T) {
	h := handlerFS(fstest.MapFS{
		"index.html": {Data: []byte("<!doctype html>")},
		WidgetScript: {Data: []byte("(()=>{})()")},
	})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/"+WidgetScript, nil))
	if w.Code != 200 || !strings.Contains(w.Header().Get("Content-Type"), "javascript") {
		t.Fatalf("status %d, type %q", w.Code, w.Header().Get("Content-Type"))
	}
	if cc := w.Header().Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("Cache-Control %q", cc)
	}
	if w.Header().Get("Cross-Origin-Resource-Policy") != "cross-origin" {
		t.Error("other sites cannot load the widget under COEP")
	}
	tag := w.Header().Get("ETag")
	if tag == "" {
		t.Fatal("no ETag")
	}
	again := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/"+WidgetScript, nil)
	req.Header.Set("If-None-Match", tag)
	h.ServeHTTP(again, req)
	if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
		t.Errorf("revalidation: status %d, %d bytes", again.Code, again.Body.Len())
	}
}
