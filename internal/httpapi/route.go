package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/store"
)

// apiPrefix is where the REST API lives.
const apiPrefix = "/api/v1"

// param documents a query parameter.
type param struct {
	Name, Type, Description string
}

// route is one documented API operation. The router, the OpenAPI document and
// the RBAC tests are all built from the same list.
type route struct {
	Method  string
	Path    string // under /api/v1, with {name} wildcards
	Perm    atende.Permission
	Public  bool // no authentication
	Summary string
	Tag     string
	In      any // request body type, for the document; nil: none
	Out     any // response body type; nil: no content
	Status  int // success status
	Query   []param
	Patch   bool // In is applied as a JSON merge patch and needs If-Match
	// idempotent creates honour the Idempotency-Key header.
	idempotent bool
	handler    func(w http.ResponseWriter, r *http.Request, p *principal) error
}

func (rt route) pattern() string { return rt.Method + " " + apiPrefix + rt.Path }

// handle registers rt on the mux behind authentication, CSRF and RBAC.
func (s *Server) handle(rt route) {
	if rt.Status == 0 {
		rt.Status = http.StatusOK
	}
	s.routes = append(s.routes, rt)
	s.mux.Handle(rt.pattern(), s.instrument(rt.pattern(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p *principal
		if !rt.Public {
			var err error
			if p, err = s.authenticate(r); err != nil {
				s.fail(w, r, err)
				return
			}
			if p == nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="atende"`)
				s.problem(w, r, atende.EUnauthorized, "log in or send an API token as Authorization: Bearer ...", "")
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
			if !csrfOK(r, p) {
				s.problem(w, r, "csrf", "send the csrf_token from login or /auth/me in the X-CSRF-Token header", "")
				return
			}
			if rt.Perm != "" && !p.can(rt.Perm) {
				s.problem(w, r, atende.EForbidden, fmt.Sprintf("this needs the %s permission", rt.Perm), "")
				return
			}
		}
		run := func(w http.ResponseWriter, r *http.Request) error { return rt.handler(w, r, p) }
		var err error
		if rt.idempotent && p != nil {
			err = s.idempotent(w, r, p, run)
		} else {
			err = run(w, r)
		}
		if err != nil {
			if de, ok := err.(*decodeError); ok {
				s.problem(w, r, de.code, de.detail, de.field)
				return
			}
			s.fail(w, r, err)
		}
	})))
}

// writeJSON writes v as the JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if v == nil {
		return nil
	}
	return json.NewEncoder(w).Encode(v)
}

// writeVersioned writes a single resource with its ETag.
func writeVersioned(w http.ResponseWriter, status int, v any, version int64) error {
	w.Header().Set("ETag", etag(version))
	return writeJSON(w, status, v)
}

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// ifMatch returns the version an update is conditional on. Updates must say
// which version they change (If-Match with the ETag), or "*" to overwrite
// knowingly, so that two people editing the same thing cannot silently undo
// each other's work.
func ifMatch(r *http.Request) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return 0, &decodeError{"precondition_required", "send If-Match with the ETag you read, or If-Match: * to overwrite", ""}
	}
	if h == "*" {
		return 0, nil
	}
	h = strings.TrimPrefix(h, "W/")
	v, err := strconv.ParseInt(strings.Trim(h, `"`), 10, 64)
	if err != nil || v < 1 {
		return 0, atende.Errorf(atende.EPreconditionFailed, "If-Match %q is not an ETag of this resource", h)
	}
	return v, nil
}

// pathID returns a path wildcard that must be an id; a malformed id is simply
// not found.
func pathID(r *http.Request, name string) (string, error) {
	id := r.PathValue(name)
	if !atende.ValidID(id) {
		return "", atende.Errorf(atende.ENotFound, "not found")
	}
	return id, nil
}

// listOptions reads cursor and limit query parameters.
func listOptions(r *http.Request) (store.ListOptions, error) {
	o := store.ListOptions{Cursor: r.URL.Query().Get("cursor")}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			return o, atende.FieldError("limit", "must be a number")
		}
		o.Limit = n
	}
	return o, nil
}

var pageParams = []param{
	{"cursor", "string", "next_cursor of the previous page"},
	{"limit", "integer", "items per page, 1-200 (default 50)"},
}

// instrument records request metrics under the route pattern (never the raw
// path, which would hold ids) and recovers from panics.
func (s *Server) instrument(pattern string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic serving request", "pattern", pattern, "panic", fmt.Sprint(v))
				if !sw.wrote {
					s.problem(sw, r, atende.EInternal, "", "")
				}
			}
			s.reqDuration.WithLabelValues(pattern, strconv.Itoa(sw.status)).Observe(time.Since(start).Seconds())
		}()
		h.ServeHTTP(sw, r)
	})
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (WebSocket upgrade).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
