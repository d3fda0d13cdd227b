package atende

import (
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// CannedScope says who a canned response belongs to.
type CannedScope string

// Canned response scopes: shared by the whole tenant, or one user's own.
const (
	CannedTenant   CannedScope = "tenant"
	CannedPersonal CannedScope = "personal"
)

// Bounds of a canned response's text.
const (
	MaxCannedShortcut = 32
	MaxCannedTitle    = 200
	MaxCannedBody     = 4000
)

// CannedResponse is a ready answer an agent inserts in the composer by its
// shortcut. Its body may hold variables (see CannedVariables) that are filled
// from the conversation it is used in.
type CannedResponse struct {
	ID       string      `json:"id"`
	TenantID string      `json:"-"`
	Scope    CannedScope `json:"scope"`
	OwnerID  string      `json:"owner_id,omitempty"` // the user, for personal ones
	// Shortcut is what agents type after "/"; compared and stored in lower case.
	Shortcut  string    `json:"shortcut"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	Language  string    `json:"language,omitempty"` // empty: any
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"version"`
}

// Validate checks and normalises the canned response's own fields.
func (c *CannedResponse) Validate() error {
	if c.Scope != CannedTenant && c.Scope != CannedPersonal {
		return FieldError("scope", "must be tenant or personal")
	}
	if c.Scope == CannedPersonal && !ValidID(c.OwnerID) {
		return FieldError("owner_id", "a personal canned response needs its owner")
	}
	if c.Scope == CannedTenant {
		c.OwnerID = ""
	}
	c.Shortcut = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(c.Shortcut), "/")))
	if !validShortcut(c.Shortcut) {
		return FieldError("shortcut", "must be 1-%d letters, digits, '-' or '_'", MaxCannedShortcut)
	}
	c.Title = strings.TrimSpace(c.Title)
	if c.Title == "" || !utf8.ValidString(c.Title) || utf8.RuneCountInString(c.Title) > MaxCannedTitle {
		return FieldError("title", "is required, at most %d characters", MaxCannedTitle)
	}
	if !utf8.ValidString(c.Body) {
		return FieldError("body", "is not valid UTF-8")
	}
	if strings.TrimSpace(c.Body) == "" {
		return FieldError("body", "is required")
	}
	if utf8.RuneCountInString(c.Body) > MaxCannedBody {
		return FieldError("body", "is longer than %d characters", MaxCannedBody)
	}
	if c.Language != "" && !ValidLanguage(c.Language) {
		return FieldError("language", "must be one of %s", strings.Join(Languages, ", "))
	}
	return nil
}

func validShortcut(s string) bool {
	n := 0
	for _, r := range s {
		n++
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' {
			return false
		}
	}
	return n >= 1 && n <= MaxCannedShortcut
}

// CannedVariables are the variables a canned response's body may hold, as
// {{name}}.
var CannedVariables = []string{
	"contact.name", "contact.first_name", "agent.name", "agent.first_name", "protocol", "tenant.name", "queue.name",
}

var reCannedVariable = regexp.MustCompile(`\{\{\s*([A-Za-z_.]+)\s*\}\}`)

// RenderCanned fills the variables of body from values, keyed by the names in
// CannedVariables (first names are derived from names when absent). A known
// variable without a value becomes empty; anything else between braces is
// left as typed, so a typo shows instead of vanishing.
func RenderCanned(body string, values map[string]string) string {
	v := make(map[string]string, len(CannedVariables))
	for _, k := range CannedVariables {
		v[k] = strings.TrimSpace(values[k])
	}
	for _, who := range []string{"contact", "agent"} {
		if v[who+".first_name"] == "" {
			v[who+".first_name"] = FirstName(v[who+".name"])
		}
	}
	return reCannedVariable.ReplaceAllStringFunc(body, func(m string) string {
		name := reCannedVariable.FindStringSubmatch(m)[1]
		if val, ok := v[name]; ok {
			return val
		}
		return m
	})
}

// FirstName is the first word of a person's name.
func FirstName(name string) string {
	f := strings.Fields(name)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
