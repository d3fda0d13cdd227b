package atende

import (
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// VoiceSettings are a tenant's telephony settings. The SIP domain names the
// tenant to SIP: phones register as user@domain, calls between users are
// addressed to it, and it is the realm of digest authentication.
type VoiceSettings struct {
	TenantID  string    `json:"tenant_id"`
	SIPDomain string    `json:"sip_domain"` // e.g. acme.sip.example; empty: no registrar for the tenant
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"version"`
}

var reDomainLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidDomain reports whether s is a lower-case DNS name of at least two
// labels (an IP address is not a domain).
func ValidDomain(s string) bool {
	if len(s) > 253 || net.ParseIP(s) != nil {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !reDomainLabel.MatchString(l) {
			return false
		}
	}
	return true
}

// Validate checks the settings and normalises the domain.
func (v *VoiceSettings) Validate() error {
	v.SIPDomain = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(v.SIPDomain)), ".")
	if v.SIPDomain != "" && !ValidDomain(v.SIPDomain) {
		return FieldError("sip_domain", "must be a DNS name such as acme.sip.example.com")
	}
	return nil
}

// SIPAccount is the SIP identity a desk phone or softphone registers with:
// username@the tenant's SIP domain. Its password is kept sealed and shown
// only in the answer that creates or rotates it.
type SIPAccount struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	UserID   string `json:"user_id,omitempty"` // the agent using it; empty for a shared phone
	Username string `json:"username"`          // the extension, e.g. "1001"
	Active   bool   `json:"active"`
	// Password is set only in the answer that creates or rotates it.
	Password  string    `json:"password,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"version"`
}

var reSIPUser = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$`)

// ValidSIPUser reports whether s may be the user part of a SIP account.
// The characters are those that need no escaping in a SIP URI.
func ValidSIPUser(s string) bool { return reSIPUser.MatchString(s) }

// Validate checks the account's fields.
func (a *SIPAccount) Validate() error {
	a.Username = strings.TrimSpace(a.Username)
	if !ValidSIPUser(a.Username) {
		return FieldError("username", "must be 1-64 letters, digits, '.', '_', '+' or '-', starting with a letter or digit")
	}
	if a.UserID != "" && !ValidID(a.UserID) {
		return FieldError("user_id", "is not a user id")
	}
	return nil
}

// TrunkMode says how a trunk's provider and atende trust each other.
type TrunkMode string

// Trunk modes.
const (
	// TrunkRegister: atende registers to the provider with a user name and
	// password; calls come from the provider's host.
	TrunkRegister TrunkMode = "register"
	// TrunkIP: the provider sends calls from known addresses, no registration.
	TrunkIP TrunkMode = "ip"
)

// SIP transports a trunk can use.
var SIPTransports = []string{"udp", "tcp", "tls"}

// Trunk is a tenant's connection to a telephony provider (PSTN).
type Trunk struct {
	ID       string    `json:"id"`
	TenantID string    `json:"tenant_id"`
	Name     string    `json:"name"`
	Mode     TrunkMode `json:"mode"`
	// Register mode: where and as whom to register.
	Host string `json:"host,omitempty"`
	Port int    `json:"port,omitempty"`
	// Domain is the SIP domain of the account at the provider, when it is
	// not the host (the host is then an outbound proxy).
	Domain    string `json:"domain,omitempty"`
	Transport string `json:"transport,omitempty"`
	Username  string `json:"username,omitempty"`
	// Password is write-only: set it to change it, it is never returned.
	Password       string `json:"password,omitempty"`
	SealedPassword string `json:"-"`
	PasswordSet    bool   `json:"password_set"`
	Expiry         int    `json:"expiry,omitempty"` // seconds asked for in REGISTER
	// IP mode: the provider's source addresses (CIDRs or single addresses).
	AllowedCIDRs []string `json:"allowed_cidrs,omitempty"`
	// CallerID is the E.164 number outbound calls present.
	CallerID string `json:"caller_id,omitempty"`
	// DefaultCountry is the ISO 3166 region numbers without "+" are read in.
	DefaultCountry string    `json:"default_country"`
	Active         bool      `json:"active"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	Version        int64     `json:"version"`
}

// Validate checks the trunk and fills defaults (port, transport, expiry).
func (t *Trunk) Validate() error {
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" || len(t.Name) > 100 {
		return FieldError("name", "is required, up to 100 bytes")
	}
	t.DefaultCountry = strings.ToUpper(strings.TrimSpace(t.DefaultCountry))
	if t.DefaultCountry == "" || phonenumbers.GetCountryCodeForRegion(t.DefaultCountry) == 0 {
		return FieldError("default_country", "must be an ISO 3166 region such as BR, ES or US")
	}
	if t.CallerID != "" {
		n, err := NormalizePhone(t.CallerID, t.DefaultCountry)
		if err != nil {
			return FieldError("caller_id", "is not a valid phone number")
		}
		t.CallerID = n
	}
	switch t.Mode {
	case TrunkRegister:
		t.Host = strings.ToLower(strings.TrimSpace(t.Host))
		if t.Host == "" || (!ValidDomain(t.Host) && net.ParseIP(t.Host) == nil) {
			return FieldError("host", "must be the provider's host name or IP address")
		}
		t.Domain = strings.ToLower(strings.TrimSpace(t.Domain))
		if t.Domain != "" && !ValidDomain(t.Domain) && net.ParseIP(t.Domain) == nil {
			return FieldError("domain", "must be a DNS name or IP address")
		}
		if t.Transport == "" {
			t.Transport = "udp"
		}
		if !slices.Contains(SIPTransports, t.Transport) {
			return FieldError("transport", "must be one of %s", strings.Join(SIPTransports, ", "))
		}
		if t.Port == 0 {
			t.Port = 5060
			if t.Transport == "tls" {
				t.Port = 5061
			}
		}
		if t.Port < 1 || t.Port > 65535 {
			return FieldError("port", "must be 1-65535")
		}
		if !ValidSIPUser(t.Username) {
			return FieldError("username", "is required: the account name the provider gave")
		}
		if t.Expiry == 0 {
			t.Expiry = 3600
		}
		if t.Expiry < 60 || t.Expiry > 86400 {
			return FieldError("expiry", "must be 60-86400 seconds")
		}
		if len(t.AllowedCIDRs) > 0 {
			return FieldError("allowed_cidrs", "is for ip trunks; a register trunk accepts calls from its host")
		}
	case TrunkIP:
		if len(t.AllowedCIDRs) == 0 || len(t.AllowedCIDRs) > 50 {
			return FieldError("allowed_cidrs", "needs 1-50 addresses or CIDRs the provider sends from")
		}
		for i, c := range t.AllowedCIDRs {
			p, err := ParseSourcePrefix(c)
			if err != nil {
				return FieldError("allowed_cidrs", "%q is not an address or CIDR such as 203.0.113.0/24", c)
			}
			t.AllowedCIDRs[i] = p.String()
		}
		if t.Host != "" || t.Domain != "" || t.Username != "" || t.Password != "" || t.SealedPassword != "" {
			return FieldError("mode", "an ip trunk has no host, username or password; use mode register for those")
		}
		t.Port, t.Transport, t.Expiry = 0, "", 0
	default:
		return FieldError("mode", "must be register or ip")
	}
	return nil
}

// ParseSourcePrefix reads an address or CIDR; a single address is a /32
// (or /128) prefix.
func ParseSourcePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// TrunkState is what the last registration of a register trunk gave.
type TrunkState struct {
	TrunkID   string    `json:"trunk_id"`
	TenantID  string    `json:"tenant_id"`
	State     string    `json:"state"` // registering, registered, failed, off
	LastError string    `json:"last_error,omitempty"`
	Expires   time.Time `json:"expires,omitzero"` // when the registration ends unless refreshed
	UpdatedAt time.Time `json:"updated_at"`
}

// Trunk registration states.
const (
	TrunkRegistering = "registering"
	TrunkRegistered  = "registered"
	TrunkFailed      = "failed"
	TrunkOff         = "off"
)

// DIDTarget says what answers calls to a DID.
type DIDTarget string

// DID targets.
const (
	DIDToFlow  DIDTarget = "flow"  // an IVR flow
	DIDToQueue DIDTarget = "queue" // straight into a queue
)

// DID is a phone number that reaches the tenant. A number belongs to one
// tenant in the whole system.
type DID struct {
	ID          string    `json:"id"`
	TenantID    string    `json:"tenant_id"`
	Number      string    `json:"number"` // E.164
	TargetKind  DIDTarget `json:"target_kind"`
	TargetID    string    `json:"target_id"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Version     int64     `json:"version"`
}

// Validate checks the DID and normalises its number to E.164, reading a
// number without "+" in region (the tenant's).
func (d *DID) Validate(region string) error {
	n, err := NormalizePhone(d.Number, region)
	if err != nil {
		return FieldError("number", "is not a valid phone number; write it in E.164 such as +5511912345678")
	}
	d.Number = n
	if d.TargetKind != DIDToFlow && d.TargetKind != DIDToQueue {
		return FieldError("target_kind", "must be flow or queue")
	}
	if !ValidID(d.TargetID) {
		return FieldError("target_id", "must be the id of the %s", d.TargetKind)
	}
	d.Description = strings.TrimSpace(d.Description)
	if len(d.Description) > 200 {
		return FieldError("description", "is longer than 200 bytes")
	}
	return nil
}

// SIPBinding is one registered contact of a SIP account: where to send its
// calls until it expires.
type SIPBinding struct {
	TenantID  string    `json:"tenant_id"`
	AccountID string    `json:"account_id"`
	Username  string    `json:"username"`
	Contact   string    `json:"contact"`   // the Contact URI the phone gave
	Source    string    `json:"source"`    // ip:port the REGISTER came from (after NAT)
	Transport string    `json:"transport"` // udp, tcp, tls, ws, wss
	UserAgent string    `json:"user_agent,omitempty"`
	CallID    string    `json:"call_id"`
	CSeq      uint32    `json:"cseq"`
	Node      string    `json:"node"` // the atende node holding the connection
	Expires   time.Time `json:"expires"`
	UpdatedAt time.Time `json:"updated_at"`
}
