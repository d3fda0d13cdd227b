package atende

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Survey kinds a tenant may ask after a conversation.
const (
	SurveyKindCSAT = "csat" // satisfaction, 1-5
	SurveyKindNPS  = "nps"  // likelihood to recommend, 0-10
	SurveyKindBoth = "both" // csat and nps
)

// SurveySettings say when a tenant asks its customers for CSAT or NPS after a
// conversation: per channel, how often one contact may be asked, and the
// question texts per language (empty ones use the catalogue's).
type SurveySettings struct {
	TenantID string `json:"tenant_id"`
	// Email surveys go out by email after an email conversation is resolved.
	Email SurveyChannel `json:"email"`
	// Chat surveys are asked by the widget at the end of a chat.
	Chat SurveyChannel `json:"chat"`
	// Voice is kept for the voice channel; nothing reads it yet.
	Voice SurveyChannel `json:"voice"`
	// PerContactDays: a contact is sent at most one survey email in this
	// many days (0: no limit).
	PerContactDays int `json:"per_contact_days"`
	// Questions per kind (csat, nps) and language (es, pt-BR, en).
	Questions map[string]map[string]string `json:"questions"`
	UpdatedAt time.Time                    `json:"updated_at"`
	Version   int64                        `json:"version"`
}

// SurveyChannel is one channel's survey policy.
type SurveyChannel struct {
	Enabled bool   `json:"enabled"`
	Kind    string `json:"kind"` // csat, nps or both
	// DelayMin is how long after the conversation is resolved the survey
	// is sent (email; minutes).
	DelayMin int `json:"delay_min"`
}

// Asks reports whether the channel's surveys include kind (csat or nps).
func (c SurveyChannel) Asks(kind string) bool {
	return c.Enabled && (c.Kind == kind || c.Kind == SurveyKindBoth)
}

// Kinds lists the kinds the channel asks, csat first.
func (c SurveyChannel) Kinds() []string {
	var out []string
	for _, k := range []string{SurveyKindCSAT, SurveyKindNPS} {
		if c.Asks(k) {
			out = append(out, k)
		}
	}
	return out
}

// DefaultSurveySettings are a tenant's settings until it changes them: chat
// asks CSAT (what the widget always did), email surveys are off until an
// administrator turns them on (they write to customers).
func DefaultSurveySettings(tenantID string) SurveySettings {
	return SurveySettings{
		TenantID:       tenantID,
		Email:          SurveyChannel{Enabled: false, Kind: SurveyKindCSAT, DelayMin: 10},
		Chat:           SurveyChannel{Enabled: true, Kind: SurveyKindCSAT},
		Voice:          SurveyChannel{Enabled: false, Kind: SurveyKindCSAT},
		PerContactDays: 7,
		Questions:      map[string]map[string]string{},
	}
}

// Limits of survey settings.
const (
	MaxSurveyDelayMin    = 7 * 24 * 60
	MaxSurveyContactDays = 365
	MaxSurveyQuestion    = 300 // characters
)

// Validate checks the settings and fills defaults.
func (s *SurveySettings) Validate() error {
	for _, ch := range []struct {
		name string
		c    *SurveyChannel
	}{{"email", &s.Email}, {"chat", &s.Chat}, {"voice", &s.Voice}} {
		if ch.c.Kind == "" {
			ch.c.Kind = SurveyKindCSAT
		}
		switch ch.c.Kind {
		case SurveyKindCSAT, SurveyKindNPS, SurveyKindBoth:
		default:
			return FieldError(ch.name+".kind", "must be csat, nps or both")
		}
		if ch.c.DelayMin < 0 || ch.c.DelayMin > MaxSurveyDelayMin {
			return FieldError(ch.name+".delay_min", "must be 0-%d minutes", MaxSurveyDelayMin)
		}
	}
	if s.PerContactDays < 0 || s.PerContactDays > MaxSurveyContactDays {
		return FieldError("per_contact_days", "must be 0-%d", MaxSurveyContactDays)
	}
	if s.Questions == nil {
		s.Questions = map[string]map[string]string{}
	}
	for kind, texts := range s.Questions {
		if kind != SurveyKindCSAT && kind != SurveyKindNPS {
			return FieldError("questions", "has %q; the kinds are csat and nps", kind)
		}
		for lang, text := range texts {
			if !ValidLanguage(lang) {
				return FieldError("questions."+kind, "has %q; the languages are %s", lang, strings.Join(Languages, ", "))
			}
			text = strings.TrimSpace(text)
			if !utf8.ValidString(text) || utf8.RuneCountInString(text) > MaxSurveyQuestion || strings.ContainsAny(text, "\r\n") {
				return FieldError("questions."+kind+"."+lang, "must be one line of at most %d characters", MaxSurveyQuestion)
			}
			if text == "" {
				delete(texts, lang)
			} else {
				texts[lang] = text
			}
		}
		if len(texts) == 0 {
			delete(s.Questions, kind)
		}
	}
	return nil
}

// Question returns the tenant's own question for kind in lang, or "" when
// the catalogue's default applies.
func (s *SurveySettings) Question(kind, lang string) string {
	return s.Questions[kind][lang]
}
