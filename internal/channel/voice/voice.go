// Package voice is atende's SIP channel: the listeners (UDP, TCP, TLS,
// WebSocket), the registrar that desk phones and softphones register with
// (digest authentication against the tenant's SIP accounts), the trunks to
// telephony providers (outbound registration, inbound identification by
// source address) and the routing of a new INVITE to the tenant and DID
// target it is for. What happens in a call is up to a CallHandler (the flow
// engine).
package voice

import (
	"context"
	"time"

	"github.com/atende/atende"
	"github.com/emiago/diago"
)

// Store is what the voice channel reads and writes; *store.Store
// implements it.
type Store interface {
	TenantBySIPDomain(ctx context.Context, domain string) (string, error)
	SIPAccountByUsername(ctx context.Context, tenantID, username string) (*atende.SIPAccount, string, error)
	PutSIPBinding(ctx context.Context, b *atende.SIPBinding) error
	DeleteSIPBindings(ctx context.Context, tenantID, accountID, contact string) error
	SIPBindings(ctx context.Context, tenantID, username string) ([]atende.SIPBinding, error)
	PruneSIPBindings(ctx context.Context, before time.Time) (int64, error)
	ActiveTrunks(ctx context.Context) ([]atende.Trunk, error)
	SetTrunkState(ctx context.Context, st atende.TrunkState) error
	DIDByNumber(ctx context.Context, number string) (*atende.DID, error)
}

// Call is a new inbound call identified by the server: whose it is, where
// it came from and what it is for.
type Call struct {
	TenantID string
	// Trunk is the provider trunk the call came in on; nil for a call from
	// one of the tenant's registered phones.
	Trunk *atende.Trunk
	// Caller is the calling number in E.164 when it reads as one, else the
	// SIP user of the From header.
	Caller string
	// Account is the calling SIP account for a call from a registered phone.
	Account *atende.SIPAccount
	// DID is the dialled number's entry, for a call to a DID.
	DID *atende.DID
	// Callee is the dialled SIP account's username, for a call to a user;
	// Bindings are where that user's phones are registered.
	Callee   string
	Bindings []atende.SIPBinding
	// Dialog is the SIP dialog, not yet answered.
	Dialog *diago.DialogServerSession
}

// CallHandler takes over identified calls. HandleCall runs for the whole
// call; ctx ends when the caller hangs up or cancels. When it returns, an
// answered call is hung up (BYE) and one never answered is refused with 480.
type CallHandler interface {
	HandleCall(ctx context.Context, c *Call)
}

// SecretContext binds a sealed voice credential to its tenant and use, so a
// sealed value copied elsewhere does not open.
func SecretContext(tenantID, field string) string { return "tenant:" + tenantID + ":voice:" + field }
