package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/store"
)

// readOnlyFields are set by the server on every resource and may not be sent.
var readOnlyFields = []string{"id", "tenant_id", "created_at", "updated_at", "version"}

// resource describes a tenant configuration collection served with the usual
// five operations: list, create, get, update (merge patch + If-Match), delete.
type resource[T any] struct {
	path      string // e.g. "/teams"
	tag       string
	noun      string // singular, for summaries
	readPerm  atende.Permission
	writePerm atende.Permission
	defaults  func() *T // a new input with its defaults; nil: zero value
	readOnly  []string  // extra read-only fields
	create    func(context.Context, atende.Actor, *T) error
	get       func(ctx context.Context, tenantID, id string) (*T, error)
	list      func(ctx context.Context, tenantID string, o store.ListOptions) (store.Page[T], error)
	update    func(ctx context.Context, a atende.Actor, id string, ifVersion int64, change func(*T) error) (*T, error)
	remove    func(ctx context.Context, a atende.Actor, id string, ifVersion int64) error
	version   func(*T) int64
}

func registerResource[T any](s *Server, res resource[T]) {
	var zero T
	ro := append(append([]string(nil), readOnlyFields...), res.readOnly...)
	newInput := func() *T {
		if res.defaults != nil {
			return res.defaults()
		}
		return new(T)
	}
	s.handle(route{Method: "GET", Path: res.path, Perm: res.readPerm, Tag: res.tag, Summary: "List " + res.noun + "s",
		Out: store.Page[T]{}, Query: pageParams,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			o, err := listOptions(r)
			if err != nil {
				return err
			}
			page, err := res.list(r.Context(), p.TenantID, o)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, page)
		}})
	s.handle(route{Method: "POST", Path: res.path, Perm: res.writePerm, Tag: res.tag, Summary: "Create a " + res.noun,
		In: zero, Out: zero, Status: http.StatusCreated, idempotent: true,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			v := newInput()
			if err := decodeCreate(r, v, ro); err != nil {
				return err
			}
			if err := res.create(r.Context(), p.actor(r), v); err != nil {
				return err
			}
			return writeVersioned(w, http.StatusCreated, v, res.version(v))
		}})
	s.handle(route{Method: "GET", Path: res.path + "/{id}", Perm: res.readPerm, Tag: res.tag, Summary: "Get a " + res.noun,
		Out: zero,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			v, err := res.get(r.Context(), p.TenantID, id)
			if err != nil {
				return err
			}
			return writeVersioned(w, http.StatusOK, v, res.version(v))
		}})
	s.handle(route{Method: "PATCH", Path: res.path + "/{id}", Perm: res.writePerm, Tag: res.tag, Summary: "Change a " + res.noun,
		In: zero, Out: zero, Patch: true,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			v, err := patchEntity(r, p, id, ro, res.update)
			if err != nil {
				return err
			}
			return writeVersioned(w, http.StatusOK, v, res.version(v))
		}})
	s.handle(route{Method: "DELETE", Path: res.path + "/{id}", Perm: res.writePerm, Tag: res.tag, Summary: "Delete a " + res.noun,
		Status: http.StatusNoContent, Patch: true,
		handler: deleteVersioned(func(r *http.Request, p *principal, id string, ver int64) error {
			return res.remove(r.Context(), p.actor(r), id, ver)
		})})
}

// deleteVersioned is the handler of a DELETE /…/{id}: remove gets the id
// and the version If-Match requires; success answers 204 with no body.
func deleteVersioned(remove func(r *http.Request, p *principal, id string, ver int64) error) func(http.ResponseWriter, *http.Request, *principal) error {
	return func(w http.ResponseWriter, r *http.Request, p *principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		ver, err := ifMatch(r)
		if err != nil {
			return err
		}
		if err := remove(r, p, id, ver); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// patchEntity runs a merge-patch update: the patch is applied to the stored value
// inside the store's transaction, so it always patches the latest version the
// If-Match allows.
func patchEntity[T any](r *http.Request, p *principal, id string, readOnly []string,
	update func(context.Context, atende.Actor, string, int64, func(*T) error) (*T, error)) (*T, error) {
	ver, err := ifMatch(r)
	if err != nil {
		return nil, err
	}
	body, err := readJSONBody(r)
	if err != nil {
		return nil, err
	}
	return update(r.Context(), p.actor(r), id, ver, func(cur *T) error {
		var next T
		if err := applyMergePatch(body, cur, &next, readOnly); err != nil {
			return err
		}
		*cur = next
		return nil
	})
}

// decodeCreate strictly decodes a create body, refusing server-set fields.
func decodeCreate(r *http.Request, v any, readOnly []string) error {
	body, err := readJSONBody(r)
	if err != nil {
		return err
	}
	var keys map[string]json.RawMessage
	if err := decodeStrict(body, &keys); err != nil {
		if _, ok := err.(*atende.Error); ok {
			return &decodeError{"invalid_json", "the body must be a JSON object", ""}
		}
		return err
	}
	for _, f := range readOnly {
		if _, ok := keys[f]; ok {
			return atende.FieldError(f, "is set by the server")
		}
	}
	return decodeStrict(body, v)
}

// idempotent wraps a create so that a retry with the same Idempotency-Key
// replays the first response instead of creating twice.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, p *principal, next func(http.ResponseWriter, *http.Request) error) error {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return next(w, r)
	}
	if len(key) > 200 {
		return atende.FieldError("Idempotency-Key", "is longer than 200 characters")
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return &decodeError{"body_too_large", "the body is too large", ""}
	}
	sum := sha256.Sum256(append([]byte(r.Method+" "+r.URL.Path+"\n"), body...))
	hash := hex.EncodeToString(sum[:])
	prev, err := s.cfg.Store.ReserveIdempotencyKey(r.Context(), p.TenantID, p.id(), key, hash)
	if err != nil {
		return err
	}
	if prev != nil {
		switch {
		case prev.RequestHash != hash:
			return &decodeError{"idempotency_conflict", "this Idempotency-Key was sent before with another request", ""}
		case prev.Status == 0:
			return &decodeError{"idempotency_in_progress", "retry when the first request has finished", ""}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(prev.Status)
		_, err := w.Write(prev.Body)
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	herr := next(rec, r)
	ctx := context.WithoutCancel(r.Context())
	if herr == nil && rec.status >= 200 && rec.status < 300 {
		return s.cfg.Store.CompleteIdempotencyKey(ctx, p.TenantID, p.id(), key, rec.status, rec.body.Bytes())
	}
	// Nothing was created: let the client retry with the same key.
	if err := s.cfg.Store.ReleaseIdempotencyKey(ctx, p.TenantID, p.id(), key); err != nil {
		s.log.ErrorContext(ctx, "release idempotency key", "err", err)
	}
	return herr
}

// recorder copies a response's status and body while writing it.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }
func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
