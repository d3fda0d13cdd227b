package atende

import (
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is a set of permissions a user holds in a tenant. A user can hold several.
type Role string

// The roles of MISSION.md.
const (
	RoleAdmin      Role = "admin"
	RoleSupervisor Role = "supervisor"
	RoleAgent      Role = "agent"
	RoleQA         Role = "qa"
	RolePlanner    Role = "planner"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleSupervisor, RoleAgent, RoleQA, RolePlanner}

// Channel is a way customers reach the tenant.
type Channel string

// Channels with per-agent capacity.
const (
	ChannelVoice  Channel = "voice"
	ChannelChat   Channel = "chat"
	ChannelEmail  Channel = "email"
	ChannelSMS    Channel = "sms"
	ChannelSocial Channel = "social"
)

// Channels lists every channel.
var Channels = []Channel{ChannelVoice, ChannelChat, ChannelEmail, ChannelSMS, ChannelSocial}

// ValidChannel reports whether c is a known channel.
func ValidChannel(c Channel) bool { return slices.Contains(Channels, c) }

// Capacity is how many interactions of each channel an agent handles at once.
type Capacity map[Channel]int

// DefaultCapacity is what a new agent gets: one call, three chats, five emails.
func DefaultCapacity() Capacity {
	return Capacity{ChannelVoice: 1, ChannelChat: 3, ChannelEmail: 5, ChannelSMS: 3, ChannelSocial: 3}
}

// Validate checks every channel is known and every limit is 0-50.
func (c Capacity) Validate() error {
	for ch, n := range c {
		if !ValidChannel(ch) {
			return FieldError("capacity."+string(ch), "is not a channel")
		}
		if n < 0 || n > 50 {
			return FieldError("capacity."+string(ch), "must be between 0 and 50")
		}
	}
	return nil
}

// User is a person who logs in to a tenant: agent, supervisor, admin, QA or planner.
type User struct {
	ID          string       `json:"id"`
	TenantID    string       `json:"tenant_id"`
	Email       string       `json:"email"`
	Name        string       `json:"name"`
	Roles       []Role       `json:"roles"`
	Language    string       `json:"language,omitempty"` // empty: the tenant's
	Active      bool         `json:"active"`
	Capacity    Capacity     `json:"capacity"`
	Skills      []AgentSkill `json:"skills"`
	TeamIDs     []string     `json:"team_ids"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
	Version     int64        `json:"version"`
	LastLoginAt *time.Time   `json:"last_login_at,omitempty"`
}

// HasRole reports whether u holds r.
func (u *User) HasRole(r Role) bool { return slices.Contains(u.Roles, r) }

// Validate checks the user's fields and normalises email and roles.
func (u *User) Validate() error {
	u.Name = strings.TrimSpace(u.Name)
	if u.Name == "" {
		return FieldError("name", "is required")
	}
	if utf8.RuneCountInString(u.Name) > 200 {
		return FieldError("name", "is longer than 200 characters")
	}
	email, err := NormalizeEmail(u.Email)
	if err != nil {
		return FieldError("email", "%s", err.(*Error).Message)
	}
	u.Email = email
	if len(u.Roles) == 0 {
		return FieldError("roles", "needs at least one role")
	}
	for _, r := range u.Roles {
		if !slices.Contains(Roles, r) {
			return FieldError("roles", "%q is not a role", r)
		}
	}
	slices.Sort(u.Roles)
	u.Roles = slices.Compact(u.Roles)
	if u.Language != "" && !ValidLanguage(u.Language) {
		return FieldError("language", "must be one of %s", strings.Join(Languages, ", "))
	}
	if u.Capacity == nil {
		u.Capacity = DefaultCapacity()
	}
	if err := u.Capacity.Validate(); err != nil {
		return err
	}
	return ValidateAgentSkills(u.Skills)
}

// NormalizeEmail lower-cases and validates an address, returning the bare
// addr-spec (no display name).
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Errorf(EInvalid, "is required")
	}
	if len(s) > 254 || !utf8.ValidString(s) {
		return "", Errorf(EInvalid, "is not a valid email address")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || !strings.Contains(a.Address, "@") {
		return "", Errorf(EInvalid, "is not a valid email address")
	}
	// Quoted local parts ("a b"@x) come back unquoted and would not parse
	// again; nobody's support address needs one, so refuse them.
	if again, err := mail.ParseAddress(a.Address); err != nil || again.Address != a.Address {
		return "", Errorf(EInvalid, "is not a valid email address")
	}
	at := strings.LastIndexByte(a.Address, '@')
	if !strings.Contains(a.Address[at+1:], ".") && a.Address[at+1:] != "localhost" {
		return "", Errorf(EInvalid, "is not a valid email address")
	}
	return strings.ToLower(a.Address), nil
}

// Team groups agents under a supervisor.
type Team struct {
	ID          string    `json:"id"`
	TenantID    string    `json:"tenant_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	MemberIDs   []string  `json:"member_ids"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Version     int64     `json:"version"`
}

// Validate checks the team's fields.
func (t *Team) Validate() error { return validateName(&t.Name) }

// Skill is something an agent knows (a language, a product, a process).
type Skill struct {
	ID          string    `json:"id"`
	TenantID    string    `json:"tenant_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Version     int64     `json:"version"`
}

// Validate checks the skill's fields.
func (s *Skill) Validate() error { return validateName(&s.Name) }

// AgentSkill is a skill an agent holds with a proficiency from 1 to 10.
type AgentSkill struct {
	SkillID     string `json:"skill_id"`
	Proficiency int    `json:"proficiency"`
}

// ValidateAgentSkills checks proficiencies and rejects duplicates.
func ValidateAgentSkills(skills []AgentSkill) error {
	seen := map[string]bool{}
	for _, s := range skills {
		if !ValidID(s.SkillID) {
			return FieldError("skills", "skill_id %q is not an id", s.SkillID)
		}
		if s.Proficiency < 1 || s.Proficiency > 10 {
			return FieldError("skills", "proficiency must be between 1 and 10")
		}
		if seen[s.SkillID] {
			return FieldError("skills", "skill %s is listed twice", s.SkillID)
		}
		seen[s.SkillID] = true
	}
	return nil
}

// AgentStatus is what an agent is doing, as the routing engine sees it.
type AgentStatus string

// Agent statuses. Away carries a tenant-defined reason code.
const (
	StatusOffline   AgentStatus = "offline"
	StatusAvailable AgentStatus = "available"
	StatusAway      AgentStatus = "away"
	StatusWrapUp    AgentStatus = "wrap_up" // after-contact work
	StatusBusy      AgentStatus = "busy"
)

// AgentStatuses lists every status.
var AgentStatuses = []AgentStatus{StatusOffline, StatusAvailable, StatusAway, StatusWrapUp, StatusBusy}

// AgentState is an agent's current status and since when.
type AgentState struct {
	UserID     string      `json:"user_id"`
	Status     AgentStatus `json:"status"`
	ReasonCode string      `json:"reason_code,omitempty"`
	Since      time.Time   `json:"since"`
}

// AgentStateChange is one interval in an agent's durable state history.
type AgentStateChange struct {
	ID         string      `json:"id"`
	UserID     string      `json:"user_id"`
	Status     AgentStatus `json:"status"`
	ReasonCode string      `json:"reason_code,omitempty"`
	StartedAt  time.Time   `json:"started_at"`
	EndedAt    *time.Time  `json:"ended_at,omitempty"`
	ChangedBy  string      `json:"changed_by,omitempty"`
}

// ReasonCode is a tenant-defined reason for being away (lunch, training, ...).
type ReasonCode struct {
	ID        string            `json:"id"`
	TenantID  string            `json:"tenant_id"`
	Code      string            `json:"code"`
	Labels    map[string]string `json:"labels"` // by language
	Paid      bool              `json:"paid"`   // counts as working time
	Active    bool              `json:"active"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
	Version   int64             `json:"version"`
}

// Validate checks the reason code's fields.
func (r *ReasonCode) Validate() error {
	if err := validateCode(&r.Code); err != nil {
		return err
	}
	return validateLabels(r.Labels)
}

func validateName(name *string) error {
	*name = strings.TrimSpace(*name)
	if *name == "" {
		return FieldError("name", "is required")
	}
	if utf8.RuneCountInString(*name) > 200 {
		return FieldError("name", "is longer than 200 characters")
	}
	return nil
}

// validateCode checks machine codes such as disposition and reason codes.
func validateCode(code *string) error {
	*code = strings.TrimSpace(*code)
	if *code == "" {
		return FieldError("code", "is required")
	}
	if len(*code) > 64 {
		return FieldError("code", "is longer than 64 bytes")
	}
	for _, r := range *code {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return FieldError("code", "may hold only letters, digits, '_', '-' and '.'")
		}
	}
	return nil
}

// validateLabels checks a translated label map: at least one language, all known.
func validateLabels(labels map[string]string) error {
	if len(labels) == 0 {
		return FieldError("labels", "needs a label in at least one language")
	}
	for lang, l := range labels {
		if !ValidLanguage(lang) {
			return FieldError("labels", "%q is not a language (es, pt-BR, en)", lang)
		}
		if strings.TrimSpace(l) == "" || utf8.RuneCountInString(l) > 200 {
			return FieldError("labels", "label for %s must be 1-200 characters", lang)
		}
	}
	return nil
}
