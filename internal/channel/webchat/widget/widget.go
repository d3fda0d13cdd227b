// Package widget holds the web chat channel's configuration noun: a tenant's
// chat widget (the queue it routes to, the sites that may embed it, its
// theme, pre-chat form, offline behaviour and upload limits) and its
// validation. It imports no store or protocol package, so both can import it.
package widget

import (
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/atende/atende"
)

// Languages a widget speaks.
var Languages = []string{"es", "pt-BR", "en"}

// Widget positions on the page.
const (
	PositionLeft  = "left"
	PositionRight = "right"
)

// Widget is one chat widget a tenant embeds on its websites.
type Widget struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	Name     string `json:"name"`
	QueueID  string `json:"queue_id"`
	// AllowedOrigins are the sites that may embed the widget, as
	// scheme://host[:port]; a visitor from any other origin is refused.
	AllowedOrigins []string   `json:"allowed_origins"`
	Theme          Theme      `json:"theme"`
	Language       string     `json:"language"` // default language: es, pt-BR, en
	PreChat        PreChat    `json:"pre_chat"`
	Offline        Offline    `json:"offline"`
	Uploads        Uploads    `json:"uploads"`
	Transcript     Transcript `json:"transcript"`
	// IdleTimeoutMin ends a chat still waiting for an agent whose visitor
	// has been neither connected nor writing for this many minutes, as if
	// they had left; 0: never.
	IdleTimeoutMin int       `json:"idle_timeout_min"`
	Active         bool      `json:"active"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	Version        int64     `json:"version"`
}

// Theme is how the widget looks.
type Theme struct {
	PrimaryColor string `json:"primary_color"` // #rrggbb
	LogoURL      string `json:"logo_url,omitempty"`
	Position     string `json:"position"` // left or right
}

// PreChat is the form a visitor fills in before the chat starts.
type PreChat struct {
	AskName         bool `json:"ask_name"`
	AskEmail        bool `json:"ask_email"`
	ConsentRequired bool `json:"consent_required"`
	// PrivacyText is the tenant's privacy notice next to the consent box,
	// per language.
	PrivacyText map[string]string `json:"privacy_text"`
}

// Offline is what happens when the queue is closed: the visitor leaves a
// message in the offline form, which becomes an email-channel conversation
// and task.
type Offline struct {
	Enabled bool `json:"enabled"`
	// QueueID takes the offline messages as email tasks; empty: the
	// widget's queue (when it takes email).
	QueueID string `json:"queue_id,omitempty"`
}

// Uploads bounds the files a visitor may send.
type Uploads struct {
	MaxBytes  int64    `json:"max_bytes"`  // 0: uploads are off
	MIMETypes []string `json:"mime_types"` // e.g. image/png, application/pdf
}

// Transcript lets a visitor ask for the chat by email, sent from a mailbox
// with outgoing (SMTP) settings.
type Transcript struct {
	Enabled   bool   `json:"enabled"`
	MailboxID string `json:"mailbox_id,omitempty"`
}

// MaxIdleTimeoutMin caps IdleTimeoutMin (a day).
const MaxIdleTimeoutMin = 24 * 60

// MaxUploadBytes caps Uploads.MaxBytes.
const MaxUploadBytes = 25 << 20

// Defaults returns a new widget's defaults.
func Defaults() *Widget {
	return &Widget{Active: true, Language: "es", AllowedOrigins: []string{},
		Theme:          Theme{PrimaryColor: "#1f6feb", Position: PositionRight},
		PreChat:        PreChat{AskName: true, AskEmail: true, ConsentRequired: true, PrivacyText: map[string]string{}},
		Offline:        Offline{Enabled: true},
		Uploads:        Uploads{MaxBytes: 5 << 20, MIMETypes: []string{"image/png", "image/jpeg", "application/pdf"}},
		IdleTimeoutMin: 30,
	}
}

// Validate checks and normalises the widget's fields.
func (w *Widget) Validate() error {
	w.Name = strings.TrimSpace(w.Name)
	if w.Name == "" || utf8.RuneCountInString(w.Name) > 100 {
		return atende.FieldError("name", "is required, at most 100 characters")
	}
	if !atende.ValidID(w.QueueID) {
		return atende.FieldError("queue_id", "is not a queue of this tenant")
	}
	if w.Offline.QueueID != "" && !atende.ValidID(w.Offline.QueueID) {
		return atende.FieldError("offline.queue_id", "is not a queue of this tenant")
	}
	if len(w.AllowedOrigins) > 50 {
		return atende.FieldError("allowed_origins", "at most 50")
	}
	if w.AllowedOrigins == nil {
		w.AllowedOrigins = []string{}
	}
	for i, o := range w.AllowedOrigins {
		n, ok := NormalizeOrigin(o)
		if !ok {
			return atende.FieldError("allowed_origins", "%q is not an origin such as https://www.example.com", o)
		}
		w.AllowedOrigins[i] = n
	}
	if !slices.Contains(Languages, w.Language) {
		return atende.FieldError("language", "must be es, pt-BR or en")
	}
	if !validColor(w.Theme.PrimaryColor) {
		return atende.FieldError("theme.primary_color", "must be a colour such as #1f6feb")
	}
	if w.Theme.Position != PositionLeft && w.Theme.Position != PositionRight {
		return atende.FieldError("theme.position", "must be left or right")
	}
	if w.Theme.LogoURL != "" {
		u, err := url.Parse(w.Theme.LogoURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || len(w.Theme.LogoURL) > 2000 {
			return atende.FieldError("theme.logo_url", "must be an https URL")
		}
	}
	if w.PreChat.PrivacyText == nil {
		w.PreChat.PrivacyText = map[string]string{}
	}
	for lang, text := range w.PreChat.PrivacyText {
		if !slices.Contains(Languages, lang) {
			return atende.FieldError("pre_chat.privacy_text", "language %q must be es, pt-BR or en", lang)
		}
		if !utf8.ValidString(text) || len(text) > 10000 {
			return atende.FieldError("pre_chat.privacy_text", "is at most 10000 bytes of text per language")
		}
	}
	if w.Uploads.MaxBytes < 0 || w.Uploads.MaxBytes > MaxUploadBytes {
		return atende.FieldError("uploads.max_bytes", "must be between 0 and %d", MaxUploadBytes)
	}
	if w.IdleTimeoutMin < 0 || w.IdleTimeoutMin > MaxIdleTimeoutMin {
		return atende.FieldError("idle_timeout_min", "must be between 0 (never) and %d minutes", MaxIdleTimeoutMin)
	}
	if w.Transcript.MailboxID != "" && !atende.ValidID(w.Transcript.MailboxID) {
		return atende.FieldError("transcript.mailbox_id", "is not a mailbox of this tenant")
	}
	if w.Transcript.Enabled && w.Transcript.MailboxID == "" {
		return atende.FieldError("transcript.mailbox_id", "is required to send transcripts")
	}
	if w.Uploads.MIMETypes == nil {
		w.Uploads.MIMETypes = []string{}
	}
	for i, mt := range w.Uploads.MIMETypes {
		mt = strings.ToLower(strings.TrimSpace(mt))
		typ, sub, ok := strings.Cut(mt, "/")
		if !ok || typ == "" || sub == "" || len(mt) > 100 || strings.ContainsAny(mt, " ;,") {
			return atende.FieldError("uploads.mime_types", "%q is not a media type such as image/png", mt)
		}
		w.Uploads.MIMETypes[i] = mt
	}
	return nil
}

func validColor(s string) bool {
	if len(s) != 7 || s[0] != '#' {
		return false
	}
	for _, c := range s[1:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// NormalizeOrigin turns "https://Example.com/" into "https://example.com";
// ok is false for anything that is not an http(s) origin.
func NormalizeOrigin(s string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), true
}

// OriginAllowed reports whether a browser's Origin header names a site that
// may embed the widget.
func (w *Widget) OriginAllowed(origin string) bool {
	n, ok := NormalizeOrigin(origin)
	return ok && slices.Contains(w.AllowedOrigins, n)
}

// UploadAllowed checks a file against the widget's limits.
func (w *Widget) UploadAllowed(mimeType string, size int64) error {
	if w.Uploads.MaxBytes == 0 {
		return atende.FieldError("file", "this chat does not take files")
	}
	if size <= 0 || size > w.Uploads.MaxBytes {
		return atende.FieldError("file", "must be at most %d bytes", w.Uploads.MaxBytes)
	}
	mt, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(mimeType)), ";")
	if !slices.Contains(w.Uploads.MIMETypes, strings.TrimSpace(mt)) {
		return atende.FieldError("file", "files of type %q are not accepted", mimeType)
	}
	return nil
}

// PrivacyFor returns the privacy text in lang, or the widget's default
// language's.
func (w *Widget) PrivacyFor(lang string) string {
	if t, ok := w.PreChat.PrivacyText[lang]; ok {
		return t
	}
	return w.PreChat.PrivacyText[w.Language]
}
