package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/email"
	"github.com/atende/atende/internal/channel/email/mailbox"
	"github.com/atende/atende/internal/store"
)

// routesEmail registers mailboxes (admin) and the email composer.
func (s *Server) routesEmail() {
	st := s.cfg.Store
	registerResource(s, resource[mailbox.Mailbox]{path: "/mailboxes", tag: "email", noun: "mailbox",
		// Hosts and user names of mail accounts are for administrators only;
		// passwords and DKIM keys are never returned to anyone.
		readPerm: atende.PermConfigManage, writePerm: atende.PermConfigManage,
		defaults: func() *mailbox.Mailbox { return &mailbox.Mailbox{Active: true} },
		create: func(ctx context.Context, a atende.Actor, m *mailbox.Mailbox) error {
			if err := s.sealMailbox(a.TenantID, m); err != nil {
				return err
			}
			return st.CreateMailbox(ctx, a, m)
		},
		get: st.Mailbox, list: st.Mailboxes,
		update: func(ctx context.Context, a atende.Actor, id string, ifVersion int64, change func(*mailbox.Mailbox) error) (*mailbox.Mailbox, error) {
			return st.UpdateMailbox(ctx, a, id, ifVersion, func(m *mailbox.Mailbox) error {
				if err := change(m); err != nil {
					return err
				}
				return s.sealMailbox(a.TenantID, m)
			})
		},
		remove:  st.DeleteMailbox,
		version: func(v *mailbox.Mailbox) int64 { return v.Version }})

	s.handle(route{Method: "POST", Path: "/conversations/{id}/emails", Perm: atende.PermConversationsWrite, Tag: "email",
		Summary: "Send an email in a conversation: a reply (threaded with In-Reply-To/References and the protocol tag) or a forward",
		In:      email.Compose{}, Out: emailSent{}, Status: http.StatusCreated,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			var in email.Compose
			if err := decode(r, &in); err != nil {
				return err
			}
			c, err := st.Conversation(r.Context(), p.TenantID, id)
			if err != nil {
				return err
			}
			if s.cfg.Email == nil {
				return &decodeError{"unavailable", "the email channel is not running on this server", ""}
			}
			mb, err := s.composeMailbox(r.Context(), p.TenantID, in.MailboxID, c.ID)
			if err != nil {
				return err
			}
			if len(in.To) == 0 && len(in.Cc) == 0 && len(in.Bcc) == 0 && in.ForwardEventID == "" {
				contact, err := st.Contact(r.Context(), p.TenantID, c.ContactID)
				if err != nil {
					return err
				}
				for _, idt := range contact.Identities {
					if idt.Kind == atende.IdentityEmail {
						in.To = []string{idt.Value}
						break
					}
				}
			}
			om, ev, err := s.cfg.Email.Send(r.Context(), p.actor(r), mb, c, in)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusCreated, emailSent{Outbound: om, Event: ev})
		}})
	s.handle(route{Method: "GET", Path: "/conversations/{id}/emails", Perm: atende.PermConversationsRead, Tag: "email",
		Summary: "List a conversation's outgoing emails with their delivery state (queued, sending, sent, failed, bounced)",
		Out:     []store.OutboundMail{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			if _, err := st.Conversation(r.Context(), p.TenantID, id); err != nil {
				return err
			}
			out, err := st.OutboundMails(r.Context(), p.TenantID, id)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, out)
		}})
	s.handle(route{Method: "POST", Path: "/emails", Perm: atende.PermConversationsWrite, Tag: "email",
		Summary: "Write a new email to a customer: opens an email conversation with the first recipient as its contact",
		In:      newEmail{}, Out: emailSent{}, Status: http.StatusCreated, idempotent: true,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			var in newEmail
			if err := decode(r, &in); err != nil {
				return err
			}
			if s.cfg.Email == nil {
				return &decodeError{"unavailable", "the email channel is not running on this server", ""}
			}
			if len(in.To) == 0 {
				return atende.FieldError("to", "needs at least one recipient")
			}
			if strings.TrimSpace(in.Subject) == "" {
				return atende.FieldError("subject", "is required")
			}
			mb, err := s.composeMailbox(r.Context(), p.TenantID, in.MailboxID, "")
			if err != nil {
				return err
			}
			a := p.actor(r)
			contactID := in.ContactID
			if contactID == "" {
				addr, err := atende.NormalizeEmail(in.To[0])
				if err != nil {
					return atende.FieldError("to", "%q is not an email address", in.To[0])
				}
				contact, _, err := st.FindOrCreateContact(r.Context(), a, atende.Identity{Kind: atende.IdentityEmail, Value: addr}, "")
				if err != nil {
					return err
				}
				contactID = contact.ID
			}
			c := &atende.Conversation{ContactID: contactID, Channel: atende.ChannelEmail, Subject: in.Subject, QueueID: mb.QueueID, Status: atende.StatusPending}
			if err := st.CreateConversation(r.Context(), a, c, nil); err != nil {
				return err
			}
			in.Compose.Kind = "new"
			om, ev, err := s.cfg.Email.Send(r.Context(), a, mb, c, in.Compose)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusCreated, emailSent{Outbound: om, Event: ev, ConversationID: c.ID})
		}})
}

type emailSent struct {
	Outbound       *store.OutboundMail   `json:"outbound"`
	Event          *atende.TimelineEvent `json:"event,omitempty"`
	ConversationID string                `json:"conversation_id,omitempty"`
}

type newEmail struct {
	ContactID string `json:"contact_id,omitempty"` // default: found or created by the first To
	email.Compose
}

// composeMailbox picks the mailbox an email leaves from: the one asked for,
// the conversation's, or the tenant's first with outgoing settings.
func (s *Server) composeMailbox(ctx context.Context, tenantID, mailboxID, conversationID string) (*mailbox.Mailbox, error) {
	st := s.cfg.Store
	if mailboxID == "" && conversationID != "" {
		id, err := st.ConversationMailbox(ctx, tenantID, conversationID)
		if err != nil {
			return nil, err
		}
		mailboxID = id
	}
	if mailboxID != "" {
		if !atende.ValidID(mailboxID) {
			return nil, atende.FieldError("mailbox_id", "is not a mailbox of this tenant")
		}
		mb, err := st.Mailbox(ctx, tenantID, mailboxID)
		if atende.ErrorCode(err) == atende.ENotFound {
			return nil, atende.FieldError("mailbox_id", "is not a mailbox of this tenant")
		}
		return mb, err
	}
	page, err := st.Mailboxes(ctx, tenantID, store.ListOptions{Limit: 200})
	if err != nil {
		return nil, err
	}
	for i := range page.Items {
		if page.Items[i].Active && page.Items[i].SMTP != nil {
			return &page.Items[i], nil
		}
	}
	return nil, atende.FieldError("mailbox_id", "this tenant has no mailbox with outgoing settings")
}

// sealMailbox encrypts the credentials an administrator sent and clears
// the plain text, so nothing below this point sees it.
func (s *Server) sealMailbox(tenantID string, m *mailbox.Mailbox) error {
	seal := func(plain *string, sealed *string, field string) error {
		if *plain == "" {
			return nil
		}
		if s.cfg.Secrets == nil {
			return &decodeError{"unavailable", "no secret key is configured to encrypt credentials (setting secret-key-file)", ""}
		}
		v, err := s.cfg.Secrets.Seal(*plain, email.SecretContext(tenantID, field))
		if err != nil {
			return err
		}
		*plain, *sealed = "", v
		return nil
	}
	if m.IMAP != nil {
		if err := seal(&m.IMAP.Password, &m.IMAP.SealedPassword, "imap_password"); err != nil {
			return err
		}
	}
	if m.SMTP != nil {
		if k := m.SMTP.DKIMPrivateKey; k != "" {
			if _, err := email.ParseDKIMKey(k); err != nil {
				return atende.FieldError("smtp.dkim_private_key", "%v", err)
			}
		}
		if err := seal(&m.SMTP.Password, &m.SMTP.SealedPassword, "smtp_password"); err != nil {
			return err
		}
		if err := seal(&m.SMTP.DKIMPrivateKey, &m.SMTP.SealedDKIMKey, "dkim_key"); err != nil {
			return err
		}
	}
	return nil
}
