package atende

import (
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// WebhookState says how a webhook's deliveries are going.
type WebhookState string

// Webhook states: delivering normally; retrying after failed attempts;
// stopped after too many consecutive failures until an administrator
// resumes it.
const (
	WebhookHealthy WebhookState = "healthy"
	WebhookFailing WebhookState = "failing"
	WebhookPaused  WebhookState = "paused"
)

// WebhookStates lists the states, for the API's document.
var WebhookStates = []WebhookState{WebhookHealthy, WebhookFailing, WebhookPaused}

// Bounds of a webhook's settings.
const (
	MaxWebhookURL         = 2000
	MaxWebhookEvents      = 50
	MaxWebhookDescription = 500
	maxEventPattern       = 100
)

// Webhook is an endpoint of an integrator that receives the tenant's events,
// as they are stored, signed with a secret only atende and the integrator
// know.
type Webhook struct {
	ID       string `json:"id"`
	TenantID string `json:"-"`
	URL      string `json:"url"`
	// Events are the event types sent: exact ("task.created"), a prefix
	// ("task.*") or everything ("*"). Empty: none.
	Events      []string `json:"events"`
	Active      bool     `json:"active"`
	Description string   `json:"description,omitempty"`
	// Secret is the signing secret, shown only by the create and
	// rotate-secret answers; it is stored sealed.
	Secret string `json:"secret,omitempty"`

	// Delivery state, kept by the delivery worker.
	State WebhookState `json:"state"`
	// Cursor is the id of the last event delivered or passed over.
	Cursor int64 `json:"cursor"`
	// Failures counts consecutive failed attempts; the next is due at
	// NextAttemptAt.
	Failures      int        `json:"failures"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	LastSuccessAt *time.Time `json:"last_success_at,omitempty"`
	LastFailureAt *time.Time `json:"last_failure_at,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"version"`
}

// WebhookDelivery is one attempt to deliver an event to a webhook.
type WebhookDelivery struct {
	ID         string    `json:"id"`
	EventID    int64     `json:"event_id"`
	EventType  string    `json:"event_type"`
	StatusCode int       `json:"status_code"` // 0: no HTTP answer
	DurationMs int64     `json:"duration_ms"`
	Error      string    `json:"error,omitempty"`
	At         time.Time `json:"at"`
}

// Validate checks and normalises the webhook's own settings. Whether its
// address may be reached (https, public addresses) is the delivery
// package's decision, made when it is set and again at every delivery.
func (w *Webhook) Validate() error {
	w.URL = strings.TrimSpace(w.URL)
	if _, err := ParseWebhookURL(w.URL); err != nil {
		return err
	}
	if len(w.Events) > MaxWebhookEvents {
		return FieldError("events", "at most %d event types", MaxWebhookEvents)
	}
	seen := map[string]bool{}
	events := make([]string, 0, len(w.Events))
	for _, p := range w.Events {
		p = strings.TrimSpace(p)
		if !ValidEventPattern(p) {
			return FieldError("events", "%q is not an event type, a prefix such as \"task.*\" or \"*\"", p)
		}
		if !seen[p] {
			seen[p] = true
			events = append(events, p)
		}
	}
	w.Events = events
	w.Description = strings.TrimSpace(w.Description)
	if !utf8.ValidString(w.Description) || utf8.RuneCountInString(w.Description) > MaxWebhookDescription {
		return FieldError("description", "at most %d characters", MaxWebhookDescription)
	}
	return nil
}

// ParseWebhookURL checks the form of a webhook's address: an absolute http or
// https URL with a host, no credentials and no fragment.
func ParseWebhookURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, FieldError("url", "is required")
	}
	if len(raw) > MaxWebhookURL || !utf8.ValidString(raw) {
		return nil, FieldError("url", "at most %d characters", MaxWebhookURL)
	}
	for _, r := range raw {
		if r <= ' ' || r == 0x7f {
			return nil, FieldError("url", "must not hold spaces or control characters")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, FieldError("url", "is not a URL")
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, FieldError("url", "must be an https:// URL")
	case u.Opaque != "" || u.Hostname() == "":
		return nil, FieldError("url", "must name a host")
	case u.User != nil:
		return nil, FieldError("url", "must not hold a user name or password; authenticate with the signature")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, FieldError("url", "must not hold a fragment")
	}
	if p := u.Port(); p != "" {
		n := 0
		for _, c := range p {
			n = n*10 + int(c-'0')
			if n > 65535 {
				break
			}
		}
		if n < 1 || n > 65535 {
			return nil, FieldError("url", "has an invalid port")
		}
	}
	return u, nil
}

// ValidEventPattern reports whether p names event types a webhook can ask
// for: "*", an exact type of dot-separated lower-case words ("task.created")
// or such words followed by ".*" ("task.*").
func ValidEventPattern(p string) bool {
	if p == "*" {
		return true
	}
	if len(p) == 0 || len(p) > maxEventPattern {
		return false
	}
	p = strings.TrimSuffix(p, ".*")
	for _, word := range strings.Split(p, ".") {
		if word == "" {
			return false
		}
		for _, r := range word {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
				return false
			}
		}
	}
	return true
}

// Wants reports whether the webhook asked for events of type typ.
func (w *Webhook) Wants(typ string) bool {
	for _, p := range w.Events {
		if MatchEventPattern(p, typ) {
			return true
		}
	}
	return false
}

// MatchEventPattern reports whether the event type typ matches pattern p.
func MatchEventPattern(p, typ string) bool {
	switch {
	case p == "*":
		return true
	case strings.HasSuffix(p, ".*"):
		return strings.HasPrefix(typ, p[:len(p)-1])
	default:
		return p == typ
	}
}
