// Package atende holds the domain of the atende contact center: the nouns every
// other package shares (tenant, user, contact, conversation, queue, disposition,
// event) with their validation rules. It imports no storage, HTTP or channel
// package; those import it.
package atende

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Error codes callers decide on. The HTTP layer maps each to a status and a
// stable problem type; see docs/problems.md.
const (
	EInvalid            = "invalid"             // input failed validation
	ENotFound           = "not_found"           // no such resource in this tenant
	EConflict           = "conflict"            // unique constraint or state conflict
	EPreconditionFailed = "precondition_failed" // If-Match version mismatch
	EUnauthorized       = "unauthorized"        // no or bad credentials
	EForbidden          = "forbidden"           // authenticated but not allowed
	ERateLimited        = "rate_limited"        // too many attempts
	EInternal           = "internal"            // a bug or an outage
)

// Error is a domain error with a machine-readable code, an English message for
// logs and operators, and optionally the input field it concerns.
type Error struct {
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EInvalid error naming the offending field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it wraps an *Error, or EInternal.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// NewID returns a new time-ordered identifier (UUIDv7), so that ids sort by
// creation time in both SQLite and PostgreSQL.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// ValidID reports whether s looks like an id made by NewID. Handlers use it to
// answer 404 early for garbage ids.
func ValidID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

// Actor is who performs a change: it scopes every write to a tenant and is
// written to the audit log.
type Actor struct {
	TenantID string
	UserID   string // empty for the system
	Kind     string // "user", "token" or "system"
	Name     string // display name or token name, for the audit log
	IP       string
}

// SystemActor acts for the platform itself (migrations, seeding, timers).
func SystemActor(tenantID string) Actor {
	return Actor{TenantID: tenantID, Kind: "system", Name: "system"}
}

// Clock lets tests control time.
type Clock interface{ Now() time.Time }

// SystemClock is the wall clock in UTC.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }
