package atende

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Contact is a customer of a tenant, known through identities on several channels.
type Contact struct {
	ID         string         `json:"id"`
	TenantID   string         `json:"tenant_id"`
	Name       string         `json:"name"`
	Language   string         `json:"language,omitempty"`
	Identities []Identity     `json:"identities"`
	Fields     map[string]any `json:"fields"`
	Tags       []string       `json:"tags"`
	MergedInto string         `json:"merged_into,omitempty"` // set on a contact merged away
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
	Version    int64          `json:"version"`
}

// IdentityKind is the kind of address a contact is reached at.
type IdentityKind string

// Identity kinds. Social identities also name their network.
const (
	IdentityPhone  IdentityKind = "phone"
	IdentityEmail  IdentityKind = "email"
	IdentityChat   IdentityKind = "chat" // web chat visitor id
	IdentitySocial IdentityKind = "social"
)

// SocialNetworks a social identity may belong to.
var SocialNetworks = []string{"whatsapp", "telegram", "facebook", "instagram", "x", "linkedin", "tiktok"}

// Identity is one address of a contact. Value is normalised: E.164 for phones,
// lower case for email, a handle without "@" for social networks.
type Identity struct {
	ID       string       `json:"id"`
	Kind     IdentityKind `json:"kind"`
	Network  string       `json:"network,omitempty"` // social only
	Value    string       `json:"value"`
	Verified bool         `json:"verified"`
}

// NormalizeIdentity validates id and rewrites its value in canonical form.
// region is the default region for phone numbers written without a country
// code (from the tenant's locale).
func NormalizeIdentity(id *Identity, region string) error {
	id.Value = strings.TrimSpace(id.Value)
	if !utf8.ValidString(id.Value) {
		return FieldError("identities.value", "is not valid UTF-8")
	}
	switch id.Kind {
	case IdentityPhone:
		if id.Network != "" {
			return FieldError("identities.network", "is only for social identities")
		}
		v, err := NormalizePhone(id.Value, region)
		if err != nil {
			return FieldError("identities.value", "%s", err.(*Error).Message)
		}
		id.Value = v
	case IdentityEmail:
		if id.Network != "" {
			return FieldError("identities.network", "is only for social identities")
		}
		v, err := NormalizeEmail(id.Value)
		if err != nil {
			return FieldError("identities.value", "%s", err.(*Error).Message)
		}
		id.Value = v
	case IdentityChat:
		if id.Network != "" {
			return FieldError("identities.network", "is only for social identities")
		}
		if !visitorID.MatchString(id.Value) {
			return FieldError("identities.value", "a chat visitor id is 8-128 letters, digits, '-' or '_'")
		}
	case IdentitySocial:
		id.Network = strings.ToLower(strings.TrimSpace(id.Network))
		if !slices.Contains(SocialNetworks, id.Network) {
			return FieldError("identities.network", "must be one of %s", strings.Join(SocialNetworks, ", "))
		}
		if id.Network == "whatsapp" {
			// WhatsApp addresses people by phone number.
			v, err := NormalizePhone(id.Value, region)
			if err != nil {
				return FieldError("identities.value", "%s", err.(*Error).Message)
			}
			id.Value = v
			break
		}
		v := strings.TrimPrefix(id.Value, "@")
		if v == "" || utf8.RuneCountInString(v) > 100 || strings.ContainsAny(v, " \t\r\n") {
			return FieldError("identities.value", "a social handle is 1-100 characters without spaces")
		}
		if id.Network != "telegram" { // Telegram ids are case sensitive numbers or handles
			v = strings.ToLower(v)
		}
		id.Value = v
	default:
		return FieldError("identities.kind", "must be phone, email, chat or social")
	}
	return nil
}

var visitorID = regexp.MustCompile(`^[A-Za-z0-9_-]{8,128}$`)

// NormalizePhone parses a phone number as written by a person or a carrier and
// returns it in E.164. Numbers without a country code are read in region.
func NormalizePhone(s, region string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Errorf(EInvalid, "is required")
	}
	if len(s) > 64 {
		return "", Errorf(EInvalid, "is not a valid phone number")
	}
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	if region == "" {
		region = "US"
	}
	n, err := phonenumbers.Parse(s, region)
	if err != nil || !phonenumbers.IsPossibleNumber(n) || !phonenumbers.IsValidNumber(n) {
		return "", Errorf(EInvalid, "is not a valid phone number for region %s", region)
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// Validate checks the contact's fields against the tenant's custom field
// definitions and normalises identities and tags.
func (c *Contact) Validate(region string, defs []FieldDef) error {
	c.Name = strings.TrimSpace(c.Name)
	if utf8.RuneCountInString(c.Name) > 200 || !utf8.ValidString(c.Name) {
		return FieldError("name", "must be valid text of at most 200 characters")
	}
	if c.Language != "" && !ValidLanguage(c.Language) {
		return FieldError("language", "must be one of %s", strings.Join(Languages, ", "))
	}
	if len(c.Identities) > 50 {
		return FieldError("identities", "at most 50 identities")
	}
	for i := range c.Identities {
		if err := NormalizeIdentity(&c.Identities[i], region); err != nil {
			return err
		}
	}
	if c.Name == "" && len(c.Identities) == 0 {
		return FieldError("name", "a contact needs a name or at least one identity")
	}
	tags, err := NormalizeTags(c.Tags)
	if err != nil {
		return err
	}
	c.Tags = tags
	if c.Fields == nil {
		c.Fields = map[string]any{}
	}
	return ValidateFields(c.Fields, defs)
}

// NormalizeTags lower-cases, trims, de-duplicates and sorts tags.
func NormalizeTags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" || utf8.RuneCountInString(t) > 50 || !utf8.ValidString(t) || strings.ContainsAny(t, ",\r\n\t") {
			return nil, FieldError("tags", "a tag is 1-50 characters without commas or line breaks")
		}
		out = append(out, t)
	}
	if len(out) > 50 {
		return nil, FieldError("tags", "at most 50 tags")
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// FieldType is the type of a tenant-defined custom field.
type FieldType string

// Custom field types.
const (
	FieldText   FieldType = "text"
	FieldNumber FieldType = "number"
	FieldBool   FieldType = "boolean"
	FieldDate   FieldType = "date" // YYYY-MM-DD
	FieldSelect FieldType = "select"
)

// FieldDef defines a custom field a tenant keeps on its contacts.
type FieldDef struct {
	ID        string            `json:"id"`
	TenantID  string            `json:"tenant_id"`
	Key       string            `json:"key"`
	Labels    map[string]string `json:"labels"`
	Type      FieldType         `json:"type"`
	Options   []string          `json:"options,omitempty"` // select only
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
	Version   int64             `json:"version"`
}

var fieldKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// Validate checks the definition.
func (d *FieldDef) Validate() error {
	if !fieldKey.MatchString(d.Key) {
		return FieldError("key", "must be 1-40 lower-case letters, digits or '_', starting with a letter")
	}
	if err := validateLabels(d.Labels); err != nil {
		return err
	}
	switch d.Type {
	case FieldText, FieldNumber, FieldBool, FieldDate:
		if len(d.Options) > 0 {
			return FieldError("options", "only select fields have options")
		}
	case FieldSelect:
		if len(d.Options) == 0 {
			return FieldError("options", "a select field needs options")
		}
	default:
		return FieldError("type", "must be text, number, boolean, date or select")
	}
	return nil
}

// ValidateFields checks custom field values against their definitions; a key
// with no definition is an error so typos do not silently create data.
func ValidateFields(fields map[string]any, defs []FieldDef) error {
	byKey := make(map[string]FieldDef, len(defs))
	for _, d := range defs {
		byKey[d.Key] = d
	}
	for k, v := range fields {
		name := "fields." + k
		d, ok := byKey[k]
		if !ok {
			return FieldError(name, "is not a custom field of this tenant")
		}
		if v == nil {
			continue // null clears the field
		}
		switch d.Type {
		case FieldText:
			s, ok := v.(string)
			if !ok || utf8.RuneCountInString(s) > 2000 {
				return FieldError(name, "must be text of at most 2000 characters")
			}
		case FieldNumber:
			switch n := v.(type) {
			case float64:
			case int, int64:
			case string: // json.Number from strict decoding
				if _, err := strconv.ParseFloat(n, 64); err != nil {
					return FieldError(name, "must be a number")
				}
			default:
				return FieldError(name, "must be a number")
			}
		case FieldBool:
			if _, ok := v.(bool); !ok {
				return FieldError(name, "must be true or false")
			}
		case FieldDate:
			s, ok := v.(string)
			if _, err := time.Parse(time.DateOnly, s); !ok || err != nil {
				return FieldError(name, "must be a date as YYYY-MM-DD")
			}
		case FieldSelect:
			s, ok := v.(string)
			if !ok || !slices.Contains(d.Options, s) {
				return FieldError(name, "must be one of %s", strings.Join(d.Options, ", "))
			}
		}
	}
	return nil
}

// ContactMerge records that one contact was merged into another, with what
// moved, so the merge can be undone.
type ContactMerge struct {
	ID              string     `json:"id"`
	TenantID        string     `json:"tenant_id"`
	WinnerID        string     `json:"winner_id"`
	LoserID         string     `json:"loser_id"`
	IdentityIDs     []string   `json:"identity_ids"`     // moved from loser to winner
	ConversationIDs []string   `json:"conversation_ids"` // moved from loser to winner
	LoserSnapshot   Contact    `json:"loser_snapshot"`
	WinnerSnapshot  Contact    `json:"winner_snapshot"`
	MergedBy        string     `json:"merged_by"`
	MergedAt        time.Time  `json:"merged_at"`
	UndoneAt        *time.Time `json:"undone_at,omitempty"`
	UndoneBy        string     `json:"undone_by,omitempty"`
}
