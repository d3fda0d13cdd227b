package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/i18n"
)

// problemBase prefixes every problem type. The types are stable URNs, listed
// with their meaning in docs/problems.md; clients switch on them.
const problemBase = "urn:atende:problem:"

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Field names the input field at fault, as a dotted JSON path.
	Field string `json:"field,omitempty"`
	// RetryAfter is set on rate_limited problems, in seconds.
	RetryAfter int `json:"retry_after,omitempty"`
}

// problemStatus maps a problem code to its HTTP status.
var problemStatus = map[string]int{
	atende.EInvalid:            http.StatusBadRequest,
	atende.ENotFound:           http.StatusNotFound,
	atende.EConflict:           http.StatusConflict,
	atende.EPreconditionFailed: http.StatusPreconditionFailed,
	atende.EUnauthorized:       http.StatusUnauthorized,
	atende.EForbidden:          http.StatusForbidden,
	atende.ERateLimited:        http.StatusTooManyRequests,
	atende.EInternal:           http.StatusInternalServerError,
	"invalid_json":             http.StatusBadRequest,
	"body_too_large":           http.StatusRequestEntityTooLarge,
	"unsupported_media_type":   http.StatusUnsupportedMediaType,
	"precondition_required":    http.StatusPreconditionRequired,
	"csrf":                     http.StatusForbidden,
	"idempotency_conflict":     http.StatusUnprocessableEntity,
	"idempotency_in_progress":  http.StatusConflict,
	"method_not_allowed":       http.StatusMethodNotAllowed,
	"unavailable":              http.StatusServiceUnavailable,
}

// ProblemCodes lists every problem code the API answers with (for docs and tests).
func ProblemCodes() []string {
	out := make([]string, 0, len(problemStatus))
	for c := range problemStatus {
		out = append(out, c)
	}
	return out
}

// problem writes a problem+json response for code, titled in the request's language.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, code, detail, field string) {
	s.writeProblem(w, r, code, detail, field, 0)
}

func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, code, detail, field string, retryAfter int) {
	status, ok := problemStatus[code]
	if !ok {
		code, status = atende.EInternal, http.StatusInternalServerError
	}
	p := Problem{
		Type:       problemBase + code,
		Title:      i18n.T(requestLanguage(r), "problem."+code),
		Status:     status,
		Detail:     detail,
		Instance:   r.URL.Path,
		Field:      field,
		RetryAfter: retryAfter,
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(p)
}

// fail answers with the problem an error stands for; internal errors are
// logged and their text is never shown to the client.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *atende.Error
	if errors.As(err, &e) && e.Code != atende.EInternal {
		s.problem(w, r, e.Code, e.Message, e.Field)
		return
	}
	s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	s.problem(w, r, atende.EInternal, "", "")
}

// requestLanguage is the language of problem titles: Accept-Language, else
// the logged-in user's language when known.
func requestLanguage(r *http.Request) string {
	fallback := ""
	if p := principalFrom(r.Context()); p != nil {
		fallback = p.Language
	}
	return i18n.Negotiate(r.Header.Get("Accept-Language"), fallback)
}
