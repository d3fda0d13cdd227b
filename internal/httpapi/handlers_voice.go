package httpapi

import (
	"context"
	"net/http"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/auth"
	"github.com/atende/atende/internal/channel/voice"
)

// voiceRegistrations is the answer of GET /voice/registrations.
type voiceRegistrations struct {
	Items []atende.SIPBinding `json:"items"`
}

// sipPassword is the answer of a SIP account password rotation.
type sipPassword struct {
	Account  *atende.SIPAccount `json:"account"`
	Password string             `json:"password"`
}

// routesVoice registers the telephony configuration: the tenant's SIP
// domain, SIP accounts, trunks, DIDs and the live registrations. All of it
// is for administrators (config:manage): trunk hosts, user names and
// registrations say where the tenant's phones and providers are.
func (s *Server) routesVoice() {
	st := s.cfg.Store
	const tag = "voice"
	s.handle(route{Method: "GET", Path: "/voice/settings", Perm: atende.PermConfigManage, Tag: tag,
		Summary: "The tenant's voice settings: its SIP domain (phones register as user@domain; the digest realm)",
		Out:     atende.VoiceSettings{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			v, err := st.VoiceSettings(r.Context(), p.TenantID)
			if err != nil {
				return err
			}
			return writeVersioned(w, http.StatusOK, v, v.Version)
		}})
	s.handle(route{Method: "PATCH", Path: "/voice/settings", Perm: atende.PermConfigManage, Tag: tag, Patch: true,
		Summary: "Change the tenant's voice settings (JSON merge patch, If-Match); a SIP domain belongs to one tenant",
		In:      atende.VoiceSettings{}, Out: atende.VoiceSettings{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			v, err := patchEntity(r, p, p.TenantID, readOnlyFields, func(ctx context.Context, a atende.Actor, _ string, ver int64, change func(*atende.VoiceSettings) error) (*atende.VoiceSettings, error) {
				return st.UpdateVoiceSettings(ctx, a, ver, change)
			})
			if err != nil {
				return err
			}
			return writeVersioned(w, http.StatusOK, v, v.Version)
		}})

	registerResource(s, resource[atende.SIPAccount]{path: "/voice/accounts", tag: tag, noun: "SIP account",
		readPerm: atende.PermConfigManage, writePerm: atende.PermConfigManage,
		defaults: func() *atende.SIPAccount { return &atende.SIPAccount{Active: true} },
		readOnly: []string{"password"},
		// The password is generated, sealed, and shown in this answer only.
		create: func(ctx context.Context, a atende.Actor, acc *atende.SIPAccount) error {
			plain, sealed, err := s.newSIPPassword(a.TenantID)
			if err != nil {
				return err
			}
			if err := st.CreateSIPAccount(ctx, a, acc, sealed); err != nil {
				return err
			}
			acc.Password = plain
			return nil
		},
		get: st.SIPAccount, list: st.SIPAccounts, update: st.UpdateSIPAccount, remove: st.DeleteSIPAccount,
		version: func(v *atende.SIPAccount) int64 { return v.Version }})
	s.handle(route{Method: "POST", Path: "/voice/accounts/{id}/password", Perm: atende.PermConfigManage, Tag: tag,
		Summary: "Give a SIP account a new generated password, shown only in this answer; its phones must register again",
		Out:     sipPassword{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			if _, err := st.SIPAccount(r.Context(), p.TenantID, id); err != nil {
				return err
			}
			plain, sealed, err := s.newSIPPassword(p.TenantID)
			if err != nil {
				return err
			}
			acc, err := st.SetSIPAccountPassword(r.Context(), p.actor(r), id, sealed)
			if err != nil {
				return err
			}
			return writeVersioned(w, http.StatusOK, sipPassword{Account: acc, Password: plain}, acc.Version)
		}})
	s.handle(route{Method: "GET", Path: "/voice/registrations", Perm: atende.PermConfigManage, Tag: tag,
		Summary: "The phones registered now: account, contact, source address (after NAT), transport, user agent and expiry",
		Query:   []param{{"username", "string", "only this SIP account's registrations"}},
		Out:     voiceRegistrations{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			list, err := st.SIPBindings(r.Context(), p.TenantID, r.URL.Query().Get("username"))
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, voiceRegistrations{Items: list})
		}})

	registerResource(s, resource[atende.Trunk]{path: "/voice/trunks", tag: tag, noun: "trunk",
		readPerm: atende.PermConfigManage, writePerm: atende.PermConfigManage,
		defaults: func() *atende.Trunk { return &atende.Trunk{Active: true} },
		readOnly: []string{"password_set"},
		create: func(ctx context.Context, a atende.Actor, t *atende.Trunk) error {
			if err := s.sealTrunk(a.TenantID, t); err != nil {
				return err
			}
			return st.CreateTrunk(ctx, a, t)
		},
		get: st.Trunk, list: st.Trunks,
		update: func(ctx context.Context, a atende.Actor, id string, ifVersion int64, change func(*atende.Trunk) error) (*atende.Trunk, error) {
			return st.UpdateTrunk(ctx, a, id, ifVersion, func(t *atende.Trunk) error {
				if err := change(t); err != nil {
					return err
				}
				return s.sealTrunk(a.TenantID, t)
			})
		},
		remove:  st.DeleteTrunk,
		version: func(v *atende.Trunk) int64 { return v.Version }})
	s.handle(route{Method: "GET", Path: "/voice/trunks/{id}/state", Perm: atende.PermConfigManage, Tag: tag,
		Summary: "A trunk's registration with its provider: registering, registered (until expires), failed (with the last error) or off",
		Out:     atende.TrunkState{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			if _, err := st.Trunk(r.Context(), p.TenantID, id); err != nil {
				return err
			}
			state, err := st.TrunkState(r.Context(), p.TenantID, id)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, state)
		}})

	registerResource(s, resource[atende.DID]{path: "/voice/dids", tag: tag, noun: "DID",
		readPerm: atende.PermConfigManage, writePerm: atende.PermConfigManage,
		create: st.CreateDID, get: st.DID, list: st.DIDs, update: st.UpdateDID, remove: st.DeleteDID,
		version: func(v *atende.DID) int64 { return v.Version }})
}

// newSIPPassword makes a SIP account password and seals it.
func (s *Server) newSIPPassword(tenantID string) (plain, sealed string, err error) {
	if s.cfg.Secrets == nil {
		return "", "", &decodeError{"unavailable", "no secret key is configured to encrypt credentials (setting secret-key-file)", ""}
	}
	plain = auth.RandomPassword()
	sealed, err = s.cfg.Secrets.Seal(plain, voice.SecretContext(tenantID, "sip_password"))
	return plain, sealed, err
}

// sealTrunk encrypts a trunk password an administrator sent and clears the
// plain text.
func (s *Server) sealTrunk(tenantID string, t *atende.Trunk) error {
	if t.Password == "" {
		return nil
	}
	if len(t.Password) > 200 {
		return atende.FieldError("password", "is longer than 200 bytes")
	}
	if s.cfg.Secrets == nil {
		return &decodeError{"unavailable", "no secret key is configured to encrypt credentials (setting secret-key-file)", ""}
	}
	v, err := s.cfg.Secrets.Seal(t.Password, voice.SecretContext(tenantID, "trunk_password"))
	if err != nil {
		return err
	}
	t.Password, t.SealedPassword = "", v
	return nil
}
