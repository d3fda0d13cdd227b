// Package mailbox holds the email channel's configuration nouns: a tenant's
// mailbox with its inbound (IMAP, atende's own SMTP receiving server) and
// outbound (SMTP submission, DKIM) settings, and their validation. It imports
// no store or protocol package, so both can import it.
package mailbox

import (
	"fmt"
	"net"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/atende/atende"
)

// TLS modes of a connection to a mail server.
const (
	TLSImplicit = "implicit" // TLS from the first byte (IMAPS 993, SMTPS 465)
	TLSStartTLS = "starttls" // plain, then STARTTLS (required)
	TLSNone     = "none"     // plain text: only for loopback test servers
)

// After-import actions on the IMAP server.
const (
	AfterFlag = "flag" // mark \Seen (and keep a $Imported keyword)
	AfterMove = "move" // move to MoveTo
)

// Mailbox is one email address a tenant serves, with how mail arrives and
// leaves. Passwords and the DKIM key are write-only: the API accepts them,
// the store keeps them encrypted and nothing ever returns them.
type Mailbox struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	Name     string `json:"name"`
	// Address is the mailbox's own address; outgoing mail is From it unless
	// Submission.From says otherwise.
	Address  string `json:"address"`
	Active   bool   `json:"active"`
	QueueID  string `json:"queue_id"`
	Priority int    `json:"priority"`
	// Skills are required of agents on tasks for this mailbox's email.
	Skills []atende.RequiredSkill `json:"skills"`
	// Language of the signature and auto-acknowledgement when the contact
	// has none (es, pt-BR, en).
	Language string      `json:"language"`
	IMAP     *IMAP       `json:"imap,omitempty"`
	Receive  *Receive    `json:"receive,omitempty"`
	SMTP     *Submission `json:"smtp,omitempty"`
	// Signature per language, appended to agent replies.
	Signature map[string]string `json:"signature"`
	AutoAck   AutoAck           `json:"auto_ack"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
	Version   int64             `json:"version"`
}

// IMAP is inbound mail fetched from an IMAP server (RFC 9051), pushed with
// IDLE (RFC 2177) or polled.
type IMAP struct {
	Host        string `json:"host"`
	Port        int    `json:"port"`
	TLS         string `json:"tls"` // implicit, starttls, none
	User        string `json:"user"`
	Password    string `json:"password,omitempty"` // write-only
	PasswordSet bool   `json:"password_set"`       // read-only
	Folder      string `json:"folder"`
	AfterImport string `json:"after_import"` // flag or move
	MoveTo      string `json:"move_to,omitempty"`
	// Idle uses IMAP IDLE when the server offers it; polling every
	// PollSeconds is the fallback either way.
	Idle        bool `json:"idle"`
	PollSeconds int  `json:"poll_seconds"`

	SealedPassword string `json:"-"` // set by the API layer, stored by the store
}

// Receive is inbound mail delivered to atende's own SMTP receiving server.
type Receive struct {
	// Recipients are the addresses (soporte@acme.es) or whole domains
	// (@acme.es) whose mail goes to this mailbox. Unique across tenants.
	Recipients []string `json:"recipients"`
	// MaxBytes bounds one message (default 25 MiB).
	MaxBytes int64 `json:"max_bytes"`
}

// Submission is outbound mail through an SMTP submission server (RFC 6409).
type Submission struct {
	Host        string `json:"host"`
	Port        int    `json:"port"`
	TLS         string `json:"tls"` // starttls, implicit, none
	User        string `json:"user"`
	Password    string `json:"password,omitempty"` // write-only
	PasswordSet bool   `json:"password_set"`       // read-only
	From        string `json:"from,omitempty"`     // default: the mailbox address
	FromName    string `json:"from_name,omitempty"`
	// DKIM (RFC 6376): signing happens when a selector and key are set.
	DKIMDomain     string `json:"dkim_domain,omitempty"` // default: the From domain
	DKIMSelector   string `json:"dkim_selector,omitempty"`
	DKIMPrivateKey string `json:"dkim_private_key,omitempty"` // write-only, PEM
	DKIMKeySet     bool   `json:"dkim_key_set"`               // read-only

	SealedPassword string `json:"-"`
	SealedDKIMKey  string `json:"-"`
}

// AutoAck is the automatic acknowledgement sent to a customer whose email
// opens a new conversation. Templates per language may use {{protocol}},
// {{subject}} and {{name}}; empty ones fall back to the catalogue's default.
type AutoAck struct {
	Enabled bool              `json:"enabled"`
	Subject map[string]string `json:"subject"`
	Body    map[string]string `json:"body"`
	// PerSenderPerHour bounds acknowledgements to one address (default 3).
	PerSenderPerHour int `json:"per_sender_per_hour"`
}

// DefaultMaxBytes bounds one received message unless the mailbox says otherwise.
const DefaultMaxBytes = 25 << 20

// ScrubSecrets clears the write-only fields and sets the *Set flags from
// what is stored. Called on everything the store returns.
func (m *Mailbox) ScrubSecrets(imapSet, smtpSet, dkimSet bool) {
	if m.IMAP != nil {
		m.IMAP.Password, m.IMAP.SealedPassword, m.IMAP.PasswordSet = "", "", imapSet
	}
	if m.SMTP != nil {
		m.SMTP.Password, m.SMTP.SealedPassword, m.SMTP.PasswordSet = "", "", smtpSet
		m.SMTP.DKIMPrivateKey, m.SMTP.SealedDKIMKey, m.SMTP.DKIMKeySet = "", "", dkimSet
	}
}

// Validate checks the mailbox and fills defaults.
func (m *Mailbox) Validate() error {
	m.Name = strings.TrimSpace(m.Name)
	if m.Name == "" || utf8.RuneCountInString(m.Name) > 100 {
		return atende.FieldError("name", "is required, at most 100 characters")
	}
	addr, err := NormalizeAddress(m.Address)
	if err != nil {
		return atende.FieldError("address", "%v", err)
	}
	m.Address = addr
	if !atende.ValidID(m.QueueID) {
		return atende.FieldError("queue_id", "is required")
	}
	if m.Priority < 0 || m.Priority > atende.MaxPriority {
		return atende.FieldError("priority", "must be between 0 and %d", atende.MaxPriority)
	}
	if m.Skills == nil {
		m.Skills = []atende.RequiredSkill{}
	}
	for _, s := range m.Skills {
		if !atende.ValidID(s.SkillID) || s.MinProficiency < 1 || s.MinProficiency > 10 {
			return atende.FieldError("skills", "each needs a skill_id and a min_proficiency from 1 to 10")
		}
	}
	if m.Language == "" {
		m.Language = "es"
	}
	if !atende.ValidLanguage(m.Language) {
		return atende.FieldError("language", "must be one of %s", strings.Join(atende.Languages, ", "))
	}
	if m.Signature == nil {
		m.Signature = map[string]string{}
	}
	if err := validateTemplates("signature", m.Signature, 5000); err != nil {
		return err
	}
	if err := validateTemplates("auto_ack.subject", m.AutoAck.Subject, 300); err != nil {
		return err
	}
	if err := validateTemplates("auto_ack.body", m.AutoAck.Body, 10000); err != nil {
		return err
	}
	if m.AutoAck.Subject == nil {
		m.AutoAck.Subject = map[string]string{}
	}
	if m.AutoAck.Body == nil {
		m.AutoAck.Body = map[string]string{}
	}
	if m.AutoAck.PerSenderPerHour == 0 {
		m.AutoAck.PerSenderPerHour = 3
	}
	if m.AutoAck.PerSenderPerHour < 1 || m.AutoAck.PerSenderPerHour > 100 {
		return atende.FieldError("auto_ack.per_sender_per_hour", "must be between 1 and 100")
	}
	if m.IMAP != nil {
		if err := m.IMAP.validate(); err != nil {
			return err
		}
	}
	if m.Receive != nil {
		if err := m.Receive.validate(); err != nil {
			return err
		}
	}
	if m.SMTP != nil {
		if err := m.SMTP.validate(); err != nil {
			return err
		}
	}
	return nil
}

func validateTemplates(field string, t map[string]string, max int) error {
	for lang, v := range t {
		if !atende.ValidLanguage(lang) {
			return atende.FieldError(field, "language %q is not one of %s", lang, strings.Join(atende.Languages, ", "))
		}
		if len(v) > max || !utf8.ValidString(v) {
			return atende.FieldError(field, "must be valid text of at most %d bytes", max)
		}
	}
	return nil
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 || strings.ContainsAny(h, " /\\@") {
		return false
	}
	return net.ParseIP(h) != nil || !strings.Contains(h, ":")
}

func (i *IMAP) validate() error {
	i.Host = strings.TrimSpace(i.Host)
	if !validHost(i.Host) {
		return atende.FieldError("imap.host", "is required (a host name or IP)")
	}
	if i.TLS == "" {
		i.TLS = TLSImplicit
	}
	if !slices.Contains([]string{TLSImplicit, TLSStartTLS, TLSNone}, i.TLS) {
		return atende.FieldError("imap.tls", "must be implicit, starttls or none")
	}
	if i.Port == 0 {
		i.Port = 993
		if i.TLS != TLSImplicit {
			i.Port = 143
		}
	}
	if i.Port < 1 || i.Port > 65535 {
		return atende.FieldError("imap.port", "must be 1-65535")
	}
	if strings.TrimSpace(i.User) == "" || len(i.User) > 320 {
		return atende.FieldError("imap.user", "is required")
	}
	if len(i.Password) > 1000 {
		return atende.FieldError("imap.password", "is too long")
	}
	if i.Folder == "" {
		i.Folder = "INBOX"
	}
	if i.AfterImport == "" {
		i.AfterImport = AfterFlag
	}
	switch i.AfterImport {
	case AfterFlag:
		i.MoveTo = ""
	case AfterMove:
		if strings.TrimSpace(i.MoveTo) == "" {
			return atende.FieldError("imap.move_to", "is required when after_import is move")
		}
	default:
		return atende.FieldError("imap.after_import", "must be flag or move")
	}
	if i.PollSeconds == 0 {
		i.PollSeconds = 60
	}
	if i.PollSeconds < 5 || i.PollSeconds > 3600 {
		return atende.FieldError("imap.poll_seconds", "must be between 5 and 3600")
	}
	return nil
}

func (r *Receive) validate() error {
	if len(r.Recipients) == 0 {
		return atende.FieldError("receive.recipients", "needs at least one address or @domain")
	}
	seen := map[string]bool{}
	for i, a := range r.Recipients {
		n, err := NormalizeRecipient(a)
		if err != nil {
			return atende.FieldError("receive.recipients", "%q: %v", a, err)
		}
		if seen[n] {
			return atende.FieldError("receive.recipients", "%q is listed twice", a)
		}
		seen[n] = true
		r.Recipients[i] = n
	}
	if r.MaxBytes == 0 {
		r.MaxBytes = DefaultMaxBytes
	}
	if r.MaxBytes < 1<<10 || r.MaxBytes > 100<<20 {
		return atende.FieldError("receive.max_bytes", "must be between 1 KiB and 100 MiB")
	}
	return nil
}

func (s *Submission) validate() error {
	s.Host = strings.TrimSpace(s.Host)
	if !validHost(s.Host) {
		return atende.FieldError("smtp.host", "is required (a host name or IP)")
	}
	if s.TLS == "" {
		s.TLS = TLSStartTLS
	}
	if !slices.Contains([]string{TLSImplicit, TLSStartTLS, TLSNone}, s.TLS) {
		return atende.FieldError("smtp.tls", "must be starttls, implicit or none")
	}
	if s.Port == 0 {
		s.Port = 587
		if s.TLS == TLSImplicit {
			s.Port = 465
		}
	}
	if s.Port < 1 || s.Port > 65535 {
		return atende.FieldError("smtp.port", "must be 1-65535")
	}
	if s.From != "" {
		f, err := NormalizeAddress(s.From)
		if err != nil {
			return atende.FieldError("smtp.from", "%v", err)
		}
		s.From = f
	}
	if len(s.FromName) > 200 || strings.ContainsAny(s.FromName, "\r\n") {
		return atende.FieldError("smtp.from_name", "must be one line of at most 200 characters")
	}
	if s.DKIMSelector != "" && !validDNSLabel(s.DKIMSelector) {
		return atende.FieldError("smtp.dkim_selector", "must be a DNS label")
	}
	if s.DKIMDomain != "" && !validHost(s.DKIMDomain) {
		return atende.FieldError("smtp.dkim_domain", "must be a domain")
	}
	if len(s.DKIMPrivateKey) > 20000 {
		return atende.FieldError("smtp.dkim_private_key", "is too long")
	}
	return nil
}

func validDNSLabel(s string) bool {
	if len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// NormalizeAddress checks a bare address (no display name) and lowers it.
func NormalizeAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", fmt.Errorf("must be an email address such as soporte@example.com")
	}
	return strings.ToLower(s), nil
}

// NormalizeRecipient checks an address or an "@domain" pattern.
func NormalizeRecipient(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if strings.HasPrefix(s, "@") {
		if !validHost(s[1:]) || !strings.Contains(s[1:], ".") {
			return "", fmt.Errorf("is not a domain")
		}
		return s, nil
	}
	return NormalizeAddress(s)
}

// Domain returns the part of an address after "@".
func Domain(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return ""
}
