package atende

import (
	"slices"
	"strings"
	"time"
)

// Tenant is a company served by atende. Every other row belongs to one.
type Tenant struct {
	ID        string    `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	TimeZone  string    `json:"time_zone"`
	Language  string    `json:"language"` // default UI language: es, pt-BR or en
	Locale    string    `json:"locale"`   // formatting preset: es-ES, pt-BR, en-US, ...
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"version"`
}

// Languages the UI and every user-facing text is translated to.
var Languages = []string{"es", "pt-BR", "en"}

// Locales are the formatting presets a tenant may choose. The region part also
// gives the default region for parsing phone numbers written without "+".
var Locales = []string{"es-ES", "es-MX", "es-AR", "es-CO", "es-CL", "es-PE", "es-US", "pt-BR", "pt-PT", "en-US", "en-GB"}

// ValidLanguage reports whether lang is one atende is translated to.
func ValidLanguage(lang string) bool { return slices.Contains(Languages, lang) }

// Region returns the ISO 3166 region of a locale such as "pt-BR" ("BR").
func Region(locale string) string {
	if i := strings.IndexByte(locale, '-'); i >= 0 {
		return strings.ToUpper(locale[i+1:])
	}
	return ""
}

// Validate checks the tenant's fields and fills defaults.
func (t *Tenant) Validate() error {
	t.Name = strings.TrimSpace(t.Name)
	t.Slug = strings.ToLower(strings.TrimSpace(t.Slug))
	if t.Name == "" {
		return FieldError("name", "is required")
	}
	if len(t.Name) > 200 {
		return FieldError("name", "is longer than 200 bytes")
	}
	if t.Slug == "" {
		t.Slug = Slugify(t.Name)
	}
	if !validSlug(t.Slug) {
		return FieldError("slug", "must be 2-63 lower-case letters, digits or hyphens")
	}
	if t.Locale == "" {
		t.Locale = "en-US"
	}
	if !slices.Contains(Locales, t.Locale) {
		return FieldError("locale", "must be one of %s", strings.Join(Locales, ", "))
	}
	if t.Language == "" {
		t.Language = LanguageForLocale(t.Locale)
	}
	if !ValidLanguage(t.Language) {
		return FieldError("language", "must be one of %s", strings.Join(Languages, ", "))
	}
	if t.TimeZone == "" {
		t.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(t.TimeZone); err != nil || t.TimeZone == "Local" {
		return FieldError("time_zone", "is not an IANA time zone such as Europe/Madrid")
	}
	return nil
}

// LanguageForLocale maps a locale preset to the UI language that fits it.
func LanguageForLocale(locale string) string {
	switch {
	case strings.HasPrefix(locale, "es"):
		return "es"
	case strings.HasPrefix(locale, "pt"):
		return "pt-BR"
	default:
		return "en"
	}
}

// Slugify turns a name into a URL-safe slug.
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(foldAccents(name)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}

func validSlug(s string) bool {
	if len(s) < 2 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

var accentFold = strings.NewReplacer(
	"á", "a", "à", "a", "â", "a", "ã", "a", "ä", "a", "é", "e", "ê", "e", "è", "e",
	"í", "i", "ì", "i", "ó", "o", "ô", "o", "õ", "o", "ò", "o", "ö", "o", "ú", "u",
	"ü", "u", "ç", "c", "ñ", "n", "Á", "a", "É", "e", "Í", "i", "Ó", "o", "Ú", "u",
	"Ç", "c", "Ñ", "n", "Ã", "a", "Õ", "o",
)

func foldAccents(s string) string { return accentFold.Replace(s) }
