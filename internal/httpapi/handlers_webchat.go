package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/email"
	"github.com/atende/atende/internal/channel/webchat"
	"github.com/atende/atende/internal/channel/webchat/widget"
	"github.com/atende/atende/internal/i18n"
	"github.com/atende/atende/internal/media"
	"github.com/atende/atende/internal/ratelimit"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/store"
	"github.com/coder/websocket"
)

// webchatAPI serves the web chat channel: widget administration, the public
// endpoints a visitor's browser calls with its visitor token, the visitor's
// WebSocket, and the agent's typing and read marks.
type webchatAPI struct {
	s        *Server
	assigner *webchat.Assigner
	// hub fans events out to the visitor connections of each conversation.
	hub *webchat.Hub
	// ctx ends when the server stops.
	ctx context.Context
	// Public endpoints are limited per client address and per visitor.
	byIP      *ratelimit.Bucket
	byVisitor *ratelimit.Bucket
	keys      sync.Map // tenant id -> []byte visitor-token key
	// positionEvery is how often a waiting visitor hears their place in queue.
	positionEvery time.Duration
	// sweepEvery is how often connected visitors are recorded and idle
	// chats ended.
	sweepEvery time.Duration
	// now is the clock of the idle timeout.
	now func() time.Time
	// conns counts the open visitor connections, each served by a
	// goroutine of its own; stopping refuses new ones.
	connMu   sync.Mutex
	stopping bool
	conns    sync.WaitGroup
}

// Limits of the public chat endpoints.
const (
	chatIPRate, chatIPBurst           = 2, 60 // per client address, per second / burst
	chatVisitorRate, chatVisitorBurst = 1, 20 // per visitor
	chatWSReadLimit                   = 32 << 10
	// maxTranscripts is how many transcripts a chat may ask for.
	maxTranscripts = 3
)

func (s *Server) routesWebchat() {
	s.routesMedia()
	ctx, cancel := context.WithCancel(context.Background())
	wc := &webchatAPI{s: s, ctx: ctx, byIP: ratelimit.New(chatIPRate, chatIPBurst), byVisitor: ratelimit.New(chatVisitorRate, chatVisitorBurst),
		positionEvery: 3 * time.Second, sweepEvery: time.Minute, now: time.Now}
	wc.assigner = webchat.NewAssigner(ctx, s.cfg.Store, s.cfg.Bus, s.log)
	wc.hub = webchat.NewHub(ctx, s.cfg.Bus, s.log)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		// Tenants with live chats are watched again after a restart.
		if ids, err := s.cfg.Store.ChatTenants(ctx); err == nil {
			for _, id := range ids {
				wc.assigner.Watch(id)
			}
		} else {
			s.log.Warn("webchat: list tenants with chats", "err", err)
		}
		t := time.NewTicker(wc.sweepEvery)
		defer t.Stop()
		pos := time.NewTicker(wc.positionEvery)
		defer pos.Stop()
		for {
			select {
			case <-s.stop:
				cancel()
				wc.assigner.Wait()
				wc.hub.Wait()
				wc.waitConns()
				return
			case <-pos.C:
				wc.tickPositions(ctx)
			case <-t.C:
				wc.byIP.Sweep()
				wc.byVisitor.Sweep()
				wc.touchVisitors(ctx)
				wc.endIdle(ctx)
			}
		}
	}()
	wc.routes()
}

func (wc *webchatAPI) routes() {
	s, st := wc.s, wc.s.cfg.Store
	registerResource(s, resource[widget.Widget]{path: "/chat-widgets", tag: "webchat", noun: "chat widget",
		readPerm: atende.PermConfigRead, writePerm: atende.PermConfigManage,
		defaults: widget.Defaults,
		create:   st.CreateChatWidget, get: st.ChatWidget, list: st.ChatWidgets, update: st.UpdateChatWidget, remove: st.DeleteChatWidget,
		version: func(v *widget.Widget) int64 { return v.Version }})

	// Browsers ask before a cross-site request with a token; the answer is
	// the same for every chat path, the real request is checked against the
	// widget's allowed origins.
	s.mux.HandleFunc("OPTIONS "+apiPrefix+"/chat/", func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", o)
			h.Set("Access-Control-Allow-Methods", "GET, POST")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			h.Add("Vary", "Origin")
		}
		w.WriteHeader(http.StatusNoContent)
	})

	s.handle(route{Method: "GET", Path: "/chat/{widget_id}/config", Public: true, Tag: "webchat",
		Summary: "A widget's public configuration: theme, pre-chat form with the privacy text, languages, whether its queue is open now",
		Out:     widgetConfig{}, handler: wc.config})
	s.handle(route{Method: "POST", Path: "/chat/{widget_id}/sessions", Public: true, Tag: "webchat", Status: http.StatusCreated,
		Summary: "Start (or resume) a visitor's chat: the pre-chat form; answers a visitor token, or offline when the queue is closed",
		In:      sessionInput{}, Out: sessionOutput{}, handler: wc.startSession})
	s.handle(route{Method: "POST", Path: "/chat/{widget_id}/offline", Public: true, Tag: "webchat", Status: http.StatusCreated,
		Summary: "Leave a message while the chat is closed: it becomes an email conversation and task",
		In:      offlineInput{}, Out: offlineOutput{}, handler: wc.offline})
	s.handle(route{Method: "GET", Path: "/chat/session", Public: true, Tag: "webchat",
		Summary: "The visitor's chat: conversation, protocol, state, place in queue and read marks (visitor token)",
		Out:     sessionState{}, handler: wc.visitor(wc.session)})
	s.handle(route{Method: "GET", Path: "/chat/messages", Public: true, Tag: "webchat",
		Summary: "The messages of the visitor's chat after a seq (visitor token); no notes or system entries",
		Query:   []param{{"after", "integer", "seq of the last message seen (0: from the start)"}},
		Out:     messagePage{}, handler: wc.visitor(wc.messages)})
	s.handle(route{Method: "POST", Path: "/chat/messages", Public: true, Tag: "webchat", Status: http.StatusCreated,
		Summary: "Send a visitor message (visitor token); resending the same client_id is harmless (200 with the stored message)",
		In:      visitorMessage{}, Out: webchat.Message{}, handler: wc.visitor(wc.postMessage)})
	s.handle(route{Method: "POST", Path: "/chat/typing", Public: true, Tag: "webchat", Status: http.StatusNoContent,
		Summary: "The visitor is typing (visitor token); not stored", In: typingInput{}, handler: wc.visitor(wc.visitorTyping)})
	s.handle(route{Method: "POST", Path: "/chat/read", Public: true, Tag: "webchat",
		Summary: "The visitor has read up to seq (visitor token)", In: readInput{}, Out: readOutput{}, handler: wc.visitor(wc.visitorRead)})
	s.handle(route{Method: "POST", Path: "/chat/end", Public: true, Tag: "webchat", Status: http.StatusNoContent,
		Summary: "The visitor leaves (visitor token); a chat no agent accepted yet is abandoned", handler: wc.visitor(wc.end)})
	s.handle(route{Method: "POST", Path: "/chat/csat", Public: true, Tag: "webchat", Status: http.StatusCreated,
		Summary: "Answer the satisfaction survey, 1-5 and a comment (visitor token); once per conversation",
		In:      csatInput{}, Out: store.Survey{}, handler: wc.visitor(wc.csat)})
	s.handle(route{Method: "POST", Path: "/chat/files/check", Public: true, Tag: "webchat", Status: http.StatusNoContent,
		Summary: "Check a file against the widget's upload limits before sending it (visitor token)",
		In:      fileCheck{}, handler: wc.visitor(wc.fileCheck)})
	s.handle(route{Method: "POST", Path: "/chat/files", Public: true, Tag: "webchat", Status: http.StatusCreated,
		Summary: "Send a file (visitor token): the body is the file, Content-Type its type, within the widget's upload limits; it arrives as a visitor message (201; 200 with the stored message when client_id repeats)",
		Query:   []param{{"name", "string", "the file's name"}, {"client_id", "string", "the widget's id for this message: resending it is harmless"}},
		Out:     webchat.Message{}, handler: wc.visitor(wc.uploadFile)})
	// The path is /chat/files/{id}: a literal "files" would clash with
	// /chat/{widget_id}/config in the router (both match /chat/files/config).
	s.handle(route{Method: "GET", Path: "/chat/{kind}/{id}", Public: true, Tag: "webchat",
		Summary: "Download a file of the visitor's chat as GET /chat/files/{id} (kind is always files); only files on messages of the visitor's own chat (visitor token, or ?token=)",
		Query:   []param{{"token", "string", "the visitor token, for links that cannot send headers"}, {"download", "integer", "1: always as a download"}},
		handler: wc.visitor(wc.downloadFile)})
	s.handle(route{Method: "POST", Path: "/chat/transcript", Public: true, Tag: "webchat", Status: http.StatusAccepted,
		Summary: "Email the visitor the chat so far (visitor token); to the email given or the session's; at most 3 per chat",
		In:      transcriptInput{}, Out: transcriptOutput{}, handler: wc.visitor(wc.transcript)})
	s.handle(route{Method: "GET", Path: "/chat/ws", Public: true, Tag: "webchat", Status: http.StatusSwitchingProtocols,
		Summary: "The visitor's WebSocket: agent messages, typing, read marks, place in queue, the end; ?token=vt_...&after=SEQ resumes",
		Query:   []param{{"token", "string", "the visitor token (browsers cannot send headers on a WebSocket)"}, {"after", "integer", "seq of the last message received"}},
		handler: wc.visitor(wc.serveWS)})

	s.handle(route{Method: "POST", Path: "/conversations/{id}/typing", Perm: atende.PermConversationsWrite, Tag: "webchat", Status: http.StatusNoContent,
		Summary: "The agent is typing in a chat; the visitor sees it, nothing is stored", In: typingInput{}, handler: wc.agentTyping})
	s.handle(route{Method: "POST", Path: "/conversations/{id}/read", Perm: atende.PermConversationsWrite, Tag: "webchat",
		Summary: "The agents have read a chat up to seq; the visitor sees the read mark", In: readInput{}, Out: readOutput{}, handler: wc.agentRead})
}

type widgetConfig struct {
	ID          string         `json:"id"`
	Theme       widget.Theme   `json:"theme"`
	Language    string         `json:"language"`
	Languages   []string       `json:"languages"`
	PreChat     widget.PreChat `json:"pre_chat"`
	Open        bool           `json:"open"`
	Offline     bool           `json:"offline_form"`
	Uploads     widget.Uploads `json:"uploads"`
	PrivacyText string         `json:"privacy_text"` // in the language asked for (?lang=)
	// Transcript: the visitor may ask for the chat by email.
	Transcript bool `json:"transcript"`
}

type sessionInput struct {
	VisitorID string `json:"visitor_id,omitempty"` // from an earlier session, kept by the widget
	Name      string `json:"name,omitempty"`
	Email     string `json:"email,omitempty"`
	Consent   bool   `json:"consent"`
	Language  string `json:"language,omitempty"`
	PageURL   string `json:"page_url,omitempty"`
}

type sessionOutput struct {
	State          string            `json:"state"` // waiting, assigned, offline, ended
	Token          string            `json:"token,omitempty"`
	ExpiresAt      *time.Time        `json:"expires_at,omitempty"`
	VisitorID      string            `json:"visitor_id"`
	ConversationID string            `json:"conversation_id,omitempty"`
	Protocol       string            `json:"protocol,omitempty"`
	Resumed        bool              `json:"resumed"`
	Position       *routing.Position `json:"position,omitempty"`
}

type sessionState struct {
	ConversationID string                    `json:"conversation_id"`
	Protocol       string                    `json:"protocol"`
	Status         atende.ConversationStatus `json:"status"`
	State          string                    `json:"state"`
	Position       *routing.Position         `json:"position,omitempty"`
	VisitorReadSeq int64                     `json:"visitor_read_seq"`
	AgentReadSeq   int64                     `json:"agent_read_seq"`
	Ended          bool                      `json:"ended"`
}

type offlineInput struct {
	Name     string `json:"name,omitempty"`
	Email    string `json:"email"`
	Message  string `json:"message"`
	Consent  bool   `json:"consent"`
	Language string `json:"language,omitempty"`
}

type offlineOutput struct {
	ConversationID string `json:"conversation_id"`
	Protocol       string `json:"protocol"`
}

type messagePage struct {
	Items []webchat.Message `json:"items"`
	// Next is the seq to ask after next time; it moves past entries the
	// visitor does not see.
	Next int64 `json:"next"`
}

type visitorMessage struct {
	ClientID string `json:"client_id"`
	Body     string `json:"body"`
}

type typingInput struct {
	Typing bool `json:"typing"`
}

type readInput struct {
	Seq int64 `json:"seq"`
}

type readOutput struct {
	Seq int64 `json:"seq"`
}

type csatInput struct {
	Score   int    `json:"score"`
	Comment string `json:"comment,omitempty"`
}

type fileCheck struct {
	MIMEType string `json:"mime_type"`
	Size     int64  `json:"size"`
}

// visitorCtx is an authenticated visitor: the token's claims, checked
// against the stored chat.
type visitorCtx struct {
	claims  webchat.Claims
	session *store.ChatSession
	widget  *widget.Widget
}

func (v *visitorCtx) actor(r *http.Request) atende.Actor {
	return atende.Actor{TenantID: v.claims.TenantID, Kind: "system", Name: "webchat visitor", IP: clientIP(r)}
}

// tooMany answers 429 with Retry-After when key has no tokens left in b.
func (wc *webchatAPI) tooMany(w http.ResponseWriter, r *http.Request, b *ratelimit.Bucket, key string) bool {
	ok, wait := b.Allow(key)
	if ok {
		return false
	}
	secs := max(1, int((wait+time.Second-1)/time.Second))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	wc.s.writeProblem(w, r, atende.ERateLimited, "too many chat requests; slow down", "", secs)
	return true
}

// allowOrigin checks the browser's Origin against the widget and answers the
// CORS header. Without an Origin (not a browser) only required says no.
func allowOrigin(w http.ResponseWriter, r *http.Request, wd *widget.Widget, required bool) error {
	o := r.Header.Get("Origin")
	if o == "" {
		if required {
			return atende.Errorf(atende.EForbidden, "this chat can only be opened from the sites its widget allows")
		}
		return nil
	}
	if !wd.OriginAllowed(o) {
		return atende.Errorf(atende.EForbidden, "this site may not embed this chat")
	}
	w.Header().Set("Access-Control-Allow-Origin", o)
	w.Header().Set("Access-Control-Expose-Headers", "Retry-After") // the widget waits it out
	w.Header().Add("Vary", "Origin")
	return nil
}

// publicWidget finds the active widget named in the path.
func (wc *webchatAPI) publicWidget(r *http.Request) (*widget.Widget, error) {
	id := r.PathValue("widget_id")
	if !atende.ValidID(id) {
		return nil, atende.Errorf(atende.ENotFound, "no such chat")
	}
	wd, err := wc.s.cfg.Store.PublicChatWidget(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if !wd.Active {
		return nil, atende.Errorf(atende.ENotFound, "no such chat")
	}
	return wd, nil
}

// key returns the tenant's visitor-token key: random, stored sealed with the
// server's secret key (secret-key settings), so every node of a cluster and
// every restart signs and checks with the same one.
func (wc *webchatAPI) key(ctx context.Context, tenantID string) ([]byte, error) {
	if k, ok := wc.keys.Load(tenantID); ok {
		return k.([]byte), nil
	}
	box := wc.s.cfg.Secrets
	if box == nil {
		return nil, &decodeError{"unavailable", "no secret key is configured (setting secret-key-file); web chat needs one to sign visitor tokens", ""}
	}
	keyCtx := "chat_key:" + tenantID
	sealed, err := wc.s.cfg.Store.ChatKey(ctx, tenantID, func() (string, error) {
		raw := make([]byte, 32)
		rand.Read(raw)
		return box.Seal(hex.EncodeToString(raw), keyCtx)
	})
	if err != nil {
		return nil, err
	}
	plain, err := box.Open(sealed, keyCtx)
	if err != nil {
		return nil, err
	}
	k, err := hex.DecodeString(plain)
	if err != nil {
		return nil, err
	}
	wc.keys.Store(tenantID, k)
	return k, nil
}

// queueOpen reports whether the widget's queue is within its hours now.
func (wc *webchatAPI) queueOpen(ctx context.Context, wd *widget.Widget) (bool, error) {
	q, err := wc.s.cfg.Store.Queue(ctx, wd.TenantID, wd.QueueID)
	if err != nil {
		return false, err
	}
	tn, err := wc.s.cfg.Store.Tenant(ctx, wd.TenantID)
	if err != nil {
		return false, err
	}
	loc, err := time.LoadLocation(tn.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	return q.Routing.Hours.Open(time.Now(), loc), nil
}

func (wc *webchatAPI) config(w http.ResponseWriter, r *http.Request, _ *principal) error {
	if wc.tooMany(w, r, wc.byIP, clientIP(r)) {
		return nil
	}
	wd, err := wc.publicWidget(r)
	if err != nil {
		return err
	}
	if err := allowOrigin(w, r, wd, false); err != nil {
		return err
	}
	open, err := wc.queueOpen(r.Context(), wd)
	if err != nil {
		return err
	}
	lang := r.URL.Query().Get("lang")
	if !slices.Contains(widget.Languages, lang) {
		lang = wd.Language
	}
	return writeJSON(w, http.StatusOK, widgetConfig{ID: wd.ID, Theme: wd.Theme, Language: wd.Language, Languages: widget.Languages,
		PreChat: wd.PreChat, Open: open, Offline: wd.Offline.Enabled, Uploads: wd.Uploads, PrivacyText: wd.PrivacyFor(lang),
		Transcript: wd.Transcript.Enabled && wd.Transcript.MailboxID != ""})
}

func (wc *webchatAPI) startSession(w http.ResponseWriter, r *http.Request, _ *principal) error {
	st := wc.s.cfg.Store
	ctx := r.Context()
	if wc.tooMany(w, r, wc.byIP, clientIP(r)) {
		return nil
	}
	wd, err := wc.publicWidget(r)
	if err != nil {
		return err
	}
	if err := allowOrigin(w, r, wd, true); err != nil {
		return err
	}
	var in sessionInput
	if err := decode(r, &in); err != nil {
		return err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name != "" {
		if in.Name, err = webchat.Sanitize(in.Name); err != nil || len([]rune(in.Name)) > 200 {
			return atende.FieldError("name", "must be text of at most 200 characters")
		}
	}
	if wd.PreChat.AskName && in.Name == "" {
		return atende.FieldError("name", "is required")
	}
	if in.Email != "" {
		if in.Email, err = atende.NormalizeEmail(in.Email); err != nil {
			return atende.FieldError("email", "is not an email address")
		}
	}
	if wd.PreChat.AskEmail && in.Email == "" {
		return atende.FieldError("email", "is required")
	}
	if wd.PreChat.ConsentRequired && !in.Consent {
		return atende.FieldError("consent", "the visitor must accept the privacy notice")
	}
	if in.Language == "" {
		in.Language = wd.Language
	}
	if !slices.Contains(widget.Languages, in.Language) {
		return atende.FieldError("language", "must be es, pt-BR or en")
	}
	if in.VisitorID == "" {
		in.VisitorID = webchat.NewVisitorID()
	} else if !webchat.ValidVisitorID(in.VisitorID) {
		return atende.FieldError("visitor_id", "is not a visitor id this server gave")
	}
	ref := webchat.VisitorRef(wd.TenantID, in.VisitorID)
	if len(in.PageURL) > 2000 {
		in.PageURL = in.PageURL[:2000]
	}
	in.PageURL = strings.ToValidUTF8(in.PageURL, "")
	key, err := wc.key(ctx, wd.TenantID)
	if err != nil {
		return err
	}
	a := atende.Actor{TenantID: wd.TenantID, Kind: "system", Name: "webchat", IP: clientIP(r)}
	out := sessionOutput{VisitorID: in.VisitorID}

	cs, err := st.OpenChatSession(ctx, wd.TenantID, wd.ID, ref)
	switch {
	case err == nil:
		out.Resumed = true
	case atende.ErrorCode(err) != atende.ENotFound:
		return err
	default:
		open, err := wc.queueOpen(ctx, wd)
		if err != nil {
			return err
		}
		if !open {
			out.State = "offline"
			return writeJSON(w, http.StatusOK, out)
		}
		contact, err := wc.visitorContact(ctx, a, ref, in)
		if err != nil {
			return err
		}
		c := &atende.Conversation{ContactID: contact.ID, Channel: atende.ChannelChat, QueueID: wd.QueueID, Status: atende.StatusOpen}
		if err := st.CreateConversation(ctx, a, c, nil); err != nil {
			return err
		}
		cs = &store.ChatSession{ConversationID: c.ID, WidgetID: wd.ID, VisitorID: ref, ContactID: contact.ID, Language: in.Language, PageURL: in.PageURL}
		if err := st.CreateChatSession(ctx, a, cs); err != nil {
			return err
		}
		if err := wc.route(ctx, a, wd, cs); err != nil {
			return err
		}
	}
	c, err := st.Conversation(ctx, wd.TenantID, cs.ConversationID)
	if err != nil {
		return err
	}
	if out.Resumed && c.AssigneeID == "" {
		// A returning visitor whose task ended unanswered (expired, refused,
		// lost) waits in the queue again rather than in a chat nobody sees.
		if state, _ := wc.taskState(ctx, wd.TenantID, cs); state == "ended" {
			if err := wc.route(ctx, a, wd, cs); err != nil {
				return err
			}
		}
	}
	exp := time.Now().Add(webchat.TokenTTL).Truncate(time.Second)
	out.Token = webchat.Sign(key, webchat.Claims{TenantID: wd.TenantID, WidgetID: wd.ID, VisitorID: ref, ConversationID: c.ID, Expires: exp.Unix()})
	out.ExpiresAt, out.ConversationID, out.Protocol = &exp, c.ID, c.Protocol
	out.State, out.Position = wc.taskState(ctx, wd.TenantID, cs)
	status := http.StatusCreated
	if out.Resumed {
		status = http.StatusOK
	}
	return writeJSON(w, status, out)
}

// visitorContact finds the visitor's contact by their chat identity (the
// visitor's reference, never their id), else by the email they gave, else
// creates one; the email is added to a contact found by chat identity when
// no one else has it.
func (wc *webchatAPI) visitorContact(ctx context.Context, a atende.Actor, ref string, in sessionInput) (*atende.Contact, error) {
	st := wc.s.cfg.Store
	chatID := atende.Identity{Kind: atende.IdentityChat, Value: ref}
	if c, err := st.ContactByIdentity(ctx, a.TenantID, atende.IdentityChat, "", ref); err == nil {
		wc.addIdentity(ctx, a, c, atende.Identity{Kind: atende.IdentityEmail, Value: in.Email})
		return c, nil
	} else if atende.ErrorCode(err) != atende.ENotFound {
		return nil, err
	}
	if in.Email == "" {
		c, _, err := st.FindOrCreateContact(ctx, a, chatID, in.Name)
		return c, err
	}
	c, _, err := st.FindOrCreateContact(ctx, a, atende.Identity{Kind: atende.IdentityEmail, Value: in.Email}, in.Name)
	if err != nil {
		return nil, err
	}
	wc.addIdentity(ctx, a, c, chatID)
	return c, nil
}

// addIdentity adds id to c when it has a value and nobody has it; failing
// to add it does not stop the chat.
func (wc *webchatAPI) addIdentity(ctx context.Context, a atende.Actor, c *atende.Contact, id atende.Identity) {
	if id.Value == "" {
		return
	}
	for _, have := range c.Identities {
		if have.Kind == id.Kind && strings.EqualFold(have.Value, id.Value) {
			return
		}
	}
	_, err := wc.s.cfg.Store.UpdateContact(ctx, a, c.ID, 0, func(cur *atende.Contact) error {
		cur.Identities = append(cur.Identities, id)
		return nil
	})
	if err != nil && atende.ErrorCode(err) != atende.EConflict {
		wc.s.log.Warn("webchat: add identity to contact", "contact", c.ID, "err", err)
	}
}

// route gives a chat a task in its widget's queue and records it.
func (wc *webchatAPI) route(ctx context.Context, a atende.Actor, wd *widget.Widget, cs *store.ChatSession) error {
	wc.assigner.Watch(wd.TenantID)
	if wc.s.cfg.Router == nil {
		return nil
	}
	task, err := wc.onEngine(ctx, wd.TenantID, func(core *routing.Core, now time.Time) (any, error) {
		return core.AddTask(routing.TaskSpec{QueueID: wd.QueueID, Channel: atende.ChannelChat, ConversationID: cs.ConversationID, Language: cs.Language}, now)
	})
	if err != nil {
		return err
	}
	cs.TaskID = task.(*routing.Task).ID
	return wc.s.cfg.Store.SetChatTask(ctx, a, cs.ConversationID, cs.TaskID)
}

func (wc *webchatAPI) onEngine(ctx context.Context, tenantID string, fn func(*routing.Core, time.Time) (any, error)) (any, error) {
	if wc.s.cfg.Router == nil {
		return nil, &decodeError{"unavailable", "routing is not running on this server", ""}
	}
	e, err := wc.s.cfg.Router.Engine(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return e.Do(ctx, fn)
}

// taskState is where the chat's task stands: waiting (with its place in
// queue), assigned, or ended.
func (wc *webchatAPI) taskState(ctx context.Context, tenantID string, cs *store.ChatSession) (string, *routing.Position) {
	if cs.EndedAt != nil {
		return "ended", nil
	}
	if cs.TaskID == "" || wc.s.cfg.Router == nil {
		return "waiting", nil
	}
	type answer struct {
		state routing.TaskState
		pos   *routing.Position
	}
	v, err := wc.onEngine(ctx, tenantID, func(c *routing.Core, _ time.Time) (any, error) {
		t, ok := c.Task(cs.TaskID)
		if !ok {
			return answer{state: routing.TaskDone}, nil
		}
		ans := answer{state: t.State}
		if p, ok := c.Position(cs.TaskID); ok {
			ans.pos = &p
		}
		return ans, nil
	})
	if err != nil {
		return "waiting", nil
	}
	ans := v.(answer)
	switch ans.state {
	case routing.TaskAssigned:
		return "assigned", nil
	case routing.TaskDone:
		return "ended", nil
	}
	return "waiting", ans.pos
}

func (wc *webchatAPI) offline(w http.ResponseWriter, r *http.Request, _ *principal) error {
	st, ctx := wc.s.cfg.Store, r.Context()
	if wc.tooMany(w, r, wc.byIP, clientIP(r)) {
		return nil
	}
	wd, err := wc.publicWidget(r)
	if err != nil {
		return err
	}
	if err := allowOrigin(w, r, wd, true); err != nil {
		return err
	}
	if !wd.Offline.Enabled {
		return atende.Errorf(atende.EConflict, "this chat takes no messages while it is closed")
	}
	var in offlineInput
	if err := decode(r, &in); err != nil {
		return err
	}
	addr, err := atende.NormalizeEmail(in.Email)
	if err != nil {
		return atende.FieldError("email", "is required, an email address to answer to")
	}
	if wd.PreChat.ConsentRequired && !in.Consent {
		return atende.FieldError("consent", "the visitor must accept the privacy notice")
	}
	body, err := webchat.Sanitize(in.Message)
	if err != nil {
		return atende.FieldError("message", "%s", strings.TrimPrefix(err.Error(), "invalid: body: "))
	}
	name, _ := webchat.Sanitize(in.Name)
	lang := in.Language
	if !slices.Contains(widget.Languages, lang) {
		lang = wd.Language
	}
	a := atende.Actor{TenantID: wd.TenantID, Kind: "system", Name: "webchat", IP: clientIP(r)}
	contact, _, err := st.FindOrCreateContact(ctx, a, atende.Identity{Kind: atende.IdentityEmail, Value: addr}, name)
	if err != nil {
		return err
	}
	queueID := wd.Offline.QueueID
	if queueID == "" {
		queueID = wd.QueueID
	}
	c := &atende.Conversation{ContactID: contact.ID, Channel: atende.ChannelEmail, QueueID: queueID, Status: atende.StatusOpen,
		Subject: i18n.T(lang, "webchat.offline.subject")}
	first := &atende.TimelineEvent{Kind: atende.KindMessage, Channel: atende.ChannelEmail, Direction: atende.DirectionIn, Body: body}
	if err := st.CreateConversation(ctx, a, c, first); err != nil {
		return err
	}
	if wc.s.cfg.Router != nil {
		_, err := wc.onEngine(ctx, wd.TenantID, func(core *routing.Core, now time.Time) (any, error) {
			return core.AddTask(routing.TaskSpec{QueueID: queueID, Channel: atende.ChannelEmail, ConversationID: c.ID, Language: lang}, now)
		})
		if err != nil {
			// The conversation waits in its queue's list; a queue that takes
			// no email is a configuration to fix, not the visitor's problem.
			wc.s.log.Warn("webchat: route offline message", "conversation", c.ID, "queue", queueID, "err", err)
		}
	}
	return writeJSON(w, http.StatusCreated, offlineOutput{ConversationID: c.ID, Protocol: c.Protocol})
}

// visitor wraps a public handler that needs a visitor token: from
// Authorization: Bearer vt_..., or ?token= on the WebSocket only.
func (wc *webchatAPI) visitor(next func(http.ResponseWriter, *http.Request, *visitorCtx) error) func(http.ResponseWriter, *http.Request, *principal) error {
	return func(w http.ResponseWriter, r *http.Request, _ *principal) error {
		if wc.tooMany(w, r, wc.byIP, clientIP(r)) {
			return nil
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok && (r.URL.Path == apiPrefix+"/chat/ws" || (r.Method == http.MethodGet && r.PathValue("kind") == "files")) {
			tok = r.URL.Query().Get("token")
		}
		v, err := wc.authVisitor(r.Context(), tok)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="atende chat"`)
			return err
		}
		if err := allowOrigin(w, r, v.widget, false); err != nil {
			return err
		}
		if wc.tooMany(w, r, wc.byVisitor, v.claims.VisitorID) {
			return nil
		}
		return next(w, r, v)
	}
}

func (wc *webchatAPI) authVisitor(ctx context.Context, tok string) (*visitorCtx, error) {
	bad := atende.Errorf(atende.EUnauthorized, "send the visitor token from POST /chat/{widget_id}/sessions as Authorization: Bearer vt_...")
	tenantID, ok := webchat.TenantOf(tok)
	if !ok {
		return nil, bad
	}
	if _, err := wc.s.cfg.Store.Tenant(ctx, tenantID); err != nil {
		return nil, bad
	}
	key, err := wc.key(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	claims, err := webchat.Verify(key, tok, time.Now())
	if err != nil {
		return nil, err
	}
	cs, err := wc.s.cfg.Store.ChatSession(ctx, claims.TenantID, claims.ConversationID)
	if err != nil || cs.VisitorID != claims.VisitorID || cs.WidgetID != claims.WidgetID {
		return nil, bad
	}
	wd, err := wc.s.cfg.Store.ChatWidget(ctx, claims.TenantID, claims.WidgetID)
	if err != nil || !wd.Active {
		return nil, bad
	}
	return &visitorCtx{claims: claims, session: cs, widget: wd}, nil
}

func (wc *webchatAPI) session(w http.ResponseWriter, r *http.Request, v *visitorCtx) error {
	c, err := wc.s.cfg.Store.Conversation(r.Context(), v.claims.TenantID, v.claims.ConversationID)
	if err != nil {
		return err
	}
	out := sessionState{ConversationID: c.ID, Protocol: c.Protocol, Status: c.Status, VisitorReadSeq: v.session.VisitorReadSeq,
		AgentReadSeq: v.session.AgentReadSeq, Ended: v.session.EndedAt != nil}
	out.State, out.Position = wc.taskState(r.Context(), v.claims.TenantID, v.session)
	return writeJSON(w, http.StatusOK, out)
}

// visiblePage is how many timeline entries one read looks at.
const visiblePage = 200

// visibleAfter reads the visitor-visible messages after seq; next is the
// last seq looked at, and more says the read was a full page (there may
// be more after next).
func (wc *webchatAPI) visibleAfter(ctx context.Context, v *visitorCtx, after int64) (items []webchat.Message, next int64, more bool, err error) {
	evs, err := wc.s.cfg.Store.Timeline(ctx, v.claims.TenantID, v.claims.ConversationID, after, visiblePage)
	if err != nil {
		return nil, after, false, err
	}
	if len(evs) > 0 {
		after = evs[len(evs)-1].Seq
	}
	return webchat.Visible(evs), after, len(evs) == visiblePage, nil
}

func (wc *webchatAPI) messages(w http.ResponseWriter, r *http.Request, v *visitorCtx) error {
	after, err := queryInt(r, "after", 0)
	if err != nil || after < 0 {
		return atende.FieldError("after", "must be a seq")
	}
	items, next, _, err := wc.visibleAfter(r.Context(), v, int64(after))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, messagePage{Items: items, Next: next})
}

// appendVisitor stores a visitor message, with files when given (then the
// body is their names); created is false for a resend.
func (wc *webchatAPI) appendVisitor(ctx context.Context, a atende.Actor, v *visitorCtx, in visitorMessage, files []*media.File) (webchat.Message, bool, error) {
	if err := checkVisitorMessage(v, &in); err != nil {
		return webchat.Message{}, false, err
	}
	var body string
	var data []byte
	if len(files) > 0 {
		atts := make([]store.Attachment, len(files))
		names := make([]string, len(files))
		for i, f := range files {
			atts[i], names[i] = store.AttachmentOf(f), f.Name
		}
		body = strings.Join(names, ", ")
		data, _ = json.Marshal(map[string]any{"attachments": atts})
	} else {
		var err error
		if body, err = webchat.Sanitize(in.Body); err != nil {
			return webchat.Message{}, false, err
		}
	}
	e := &atende.TimelineEvent{Kind: atende.KindMessage, Channel: atende.ChannelChat, Direction: atende.DirectionIn, Body: body, ClientID: in.ClientID, Data: data}
	out, created, err := wc.s.cfg.Store.AppendMessage(ctx, a, v.claims.ConversationID, e)
	if err != nil {
		return webchat.Message{}, false, err
	}
	m, _ := webchat.VisibleOne(*out)
	return m, created, nil
}

// checkVisitorMessage checks what does not depend on the body: the chat
// has not ended and the message has a client id.
func checkVisitorMessage(v *visitorCtx, in *visitorMessage) error {
	if v.session.EndedAt != nil {
		return atende.Errorf(atende.EConflict, "this chat has ended; start a new one")
	}
	in.ClientID = strings.TrimSpace(in.ClientID)
	if in.ClientID == "" || len(in.ClientID) > 100 || !utf8.ValidString(in.ClientID) {
		return atende.FieldError("client_id", "is required (at most 100 characters), so a resend is not stored twice")
	}
	return nil
}

func (wc *webchatAPI) postMessage(w http.ResponseWriter, r *http.Request, v *visitorCtx) error {
	in, err := decodeVisitorMessage(r)
	if err != nil {
		return err
	}
	m, created, err := wc.appendVisitor(r.Context(), v.actor(r), v, in, nil)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	return writeJSON(w, status, m)
}

// maxVisitorBody bounds a visitor's request: a message of MaxMessageRunes
// in four-byte characters, JSON-escaped, and its envelope.
const maxVisitorBody = 64 << 10

func decodeVisitorMessage(r *http.Request) (visitorMessage, error) {
	var in visitorMessage
	r.Body = http.MaxBytesReader(nil, r.Body, maxVisitorBody)
	if err := decode(r, &in); err != nil {
		return in, err
	}
	return in, nil
}

// parseVisitorMessage is the decoding entry point shared by the WebSocket:
// the same strict JSON and limits as the HTTP body.
func parseVisitorMessage(b []byte) (visitorMessage, error) {
	var in visitorMessage
	if len(b) > maxVisitorBody {
		return in, &decodeError{"body_too_large", "the message is too large", ""}
	}
	if err := decodeStrict(b, &in); err != nil {
		return in, err
	}
	if _, err := webchat.Sanitize(in.Body); err != nil {
		return in, err
	}
	return in, nil
}

func (wc *webchatAPI) publishTyping(ctx context.Context, tenantID string, t webchat.Typing) {
	wc.s.cfg.Bus.Publish(context.WithoutCancel(ctx), webchat.TypingEvent(tenantID, t, time.Now().UTC()))
}

func (wc *webchatAPI) visitorTyping(w http.ResponseWriter, r *http.Request, v *visitorCtx) error {
	var in typingInput
	if err := decode(r, &in); err != nil {
		return err
	}
	wc.publishTyping(r.Context(), v.claims.TenantID, webchat.Typing{ConversationID: v.claims.ConversationID, Side: store.SideVisitor, Typing: in.Typing})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (wc *webchatAPI) visitorRead(w http.ResponseWriter, r *http.Request, v *visitorCtx) error {
	var in readInput
	if err := decode(r, &in); err != nil {
		return err
	}
	seq, err := wc.s.cfg.Store.MarkChatRead(r.Context(), v.actor(r), v.claims.ConversationID, store.SideVisitor, in.Seq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, readOutput{Seq: seq})
}

// end: the visitor leaves. A task still waiting or offered is cancelled as
// abandoned and its conversation resolved; a chat an agent holds stays
// theirs to wrap up.
func (wc *webchatAPI) end(w http.ResponseWriter, r *http.Request, v *visitorCtx) error {
	if err := wc.endChat(r.Context(), v.actor(r), v.session, false); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// endChat ends a chat: a task still waiting or offered is cancelled as
// abandoned and the conversation resolved. With onlyWaiting (the idle
// timeout), a chat whose task an agent holds is left alone.
func (wc *webchatAPI) endChat(ctx context.Context, a atende.Actor, cs *store.ChatSession, onlyWaiting bool) error {
	st := wc.s.cfg.Store
	if cs.EndedAt == nil && cs.TaskID != "" && wc.s.cfg.Router != nil {
		res, err := wc.onEngine(ctx, cs.TenantID, func(c *routing.Core, now time.Time) (any, error) {
			t, ok := c.Task(cs.TaskID)
			switch {
			case !ok || t.State == routing.TaskDone:
				return "gone", nil
			case t.State == routing.TaskAssigned:
				return "assigned", nil
			}
			_, err := c.Cancel(t.ID, true, now)
			return "cancelled", err
		})
		if err != nil {
			return err
		}
		switch res.(string) {
		case "assigned":
			if onlyWaiting {
				return nil
			}
		case "cancelled":
			_, err = st.UpdateConversation(ctx, a, cs.ConversationID, 0, func(c *atende.Conversation) error {
				if c.Status == atende.StatusOpen || c.Status == atende.StatusPending {
					c.Status = atende.StatusResolved
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	return st.EndChatSession(ctx, a, cs.ConversationID)
}

func (wc *webchatAPI) csat(w http.ResponseWriter, r *http.Request, v *visitorCtx) error {
	var in csatInput
	if err := decode(r, &in); err != nil {
		return err
	}
	comment := ""
	if strings.TrimSpace(in.Comment) != "" {
		var err error
		if comment, err = webchat.Sanitize(in.Comment); err != nil {
			return atende.FieldError("comment", "must be text of at most %d characters", webchat.MaxMessageRunes)
		}
	}
	sv := &store.Survey{ConversationID: v.claims.ConversationID, Kind: store.SurveyCSAT, Score: in.Score, Comment: comment}
	if err := wc.s.cfg.Store.CreateSurvey(r.Context(), v.actor(r), sv); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, sv)
}

func (wc *webchatAPI) fileCheck(w http.ResponseWriter, r *http.Request, v *visitorCtx) error {
	var in fileCheck
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := v.widget.UploadAllowed(in.MIMEType, in.Size); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (wc *webchatAPI) agentTyping(w http.ResponseWriter, r *http.Request, p *principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in typingInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if _, err := wc.s.cfg.Store.ChatSession(r.Context(), p.TenantID, id); err != nil {
		return err
	}
	wc.publishTyping(r.Context(), p.TenantID, webchat.Typing{ConversationID: id, Side: store.SideAgent, AgentID: p.UserID, Typing: in.Typing})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (wc *webchatAPI) agentRead(w http.ResponseWriter, r *http.Request, p *principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in readInput
	if err := decode(r, &in); err != nil {
		return err
	}
	seq, err := wc.s.cfg.Store.MarkChatRead(r.Context(), p.actor(r), id, store.SideAgent, in.Seq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, readOutput{Seq: seq})
}

// wsOut is one frame to the visitor.
type wsOut struct {
	Type     string            `json:"type"` // session, message, typing, read, queue, agent_joined, ended, error
	Message  *webchat.Message  `json:"message,omitempty"`
	Typing   *bool             `json:"typing,omitempty"`
	Side     string            `json:"side,omitempty"`
	Seq      int64             `json:"seq,omitempty"`
	State    string            `json:"state,omitempty"`
	Position *routing.Position `json:"position,omitempty"`
	Agent    string            `json:"agent,omitempty"` // the agent's display name
	Error    string            `json:"error,omitempty"`
}

// wsIn is one frame from the visitor: a message (client_id, body), typing,
// or a read mark.
type wsIn struct {
	Type     string `json:"type"`
	ClientID string `json:"client_id,omitempty"`
	Body     string `json:"body,omitempty"`
	Typing   bool   `json:"typing,omitempty"`
	Seq      int64  `json:"seq,omitempty"`
}

func (wc *webchatAPI) serveWS(w http.ResponseWriter, r *http.Request, v *visitorCtx) error {
	after := int64(0)
	if a := r.URL.Query().Get("after"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n < 0 {
			return atende.FieldError("after", "must be a seq")
		}
		after = n
	}
	if !wc.trackConn() {
		return &decodeError{"unavailable", "the server is stopping; reconnect", ""}
	}
	// The Origin was checked against the widget's allowed sites in visitor();
	// the library's own same-host check would refuse every customer site.
	ws, err := websocket.Accept(smallBuffers{w}, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		wc.conns.Done()
		return nil
	}
	ws.SetReadLimit(chatWSReadLimit)
	wc.s.wsClients.Inc()
	// The connection ends with the chat channel (the server's stop), not
	// with the request: the request's goroutine returns below.
	ctx, cancel := context.WithCancel(wc.ctx)
	c := &chatConn{wc: wc, ws: ws, ctx: ctx, cancel: cancel, after: after, readSent: v.session.AgentReadSeq, hello: true, waiting: true,
		// Only what the socket needs is kept for its life: not the widget.
		v: &visitorCtx{claims: v.claims, session: v.session}, actor: v.actor(r)}
	leave := wc.hub.Join(v.claims.TenantID, v.claims.ConversationID, c)
	c.mu.Lock()
	c.kick() // the first frames and the catch-up, from the store
	c.mu.Unlock()
	// The visitor's frames are read on a goroutine of the connection's own,
	// and the request's goroutine ends now. With it go its stack (grown by
	// the authentication and the queries above), the request and net/http's
	// state for the connection, which an idle socket would otherwise hold
	// for hours.
	go c.serve(leave)
	return nil
}

// trackConn counts a visitor connection the chat channel waits for when it
// stops; false when it is stopping.
func (wc *webchatAPI) trackConn() bool {
	wc.connMu.Lock()
	defer wc.connMu.Unlock()
	if wc.stopping {
		return false
	}
	wc.conns.Add(1)
	return true
}

// waitConns refuses new visitor connections and waits for the open ones
// to end (their context has been cancelled).
func (wc *webchatAPI) waitConns() {
	wc.connMu.Lock()
	wc.stopping = true
	wc.connMu.Unlock()
	wc.conns.Wait()
}

// serve reads the visitor's frames until the socket or the server ends.
func (c *chatConn) serve(leave func()) {
	defer c.wc.conns.Done()
	defer c.wc.s.wsClients.Dec()
	defer c.cancel()
	err := c.readLoop()
	leave()
	c.mu.Lock()
	c.dead = true
	c.mu.Unlock()
	switch {
	case errors.Is(err, context.Canceled), websocket.CloseStatus(err) != -1:
		c.ws.Close(websocket.StatusNormalClosure, "")
	default:
		c.wc.s.log.Debug("chat stream ended", "err", err)
		c.ws.Close(websocket.StatusInternalError, "stream error; reconnect with ?after=<last seq>")
	}
}

// smallBuffers hands the WebSocket library the hijacked connection with
// small read and write buffers instead of net/http's 4 KB ones, which the
// library keeps for the life of the socket. A visitor's socket is idle
// nearly all the time and its frames are small; a larger frame is read
// or written past the buffer.
type smallBuffers struct{ http.ResponseWriter }

// Sizes of a visitor socket's buffers: most frames to the visitor (a
// message of a few hundred characters) fit the write buffer whole, so
// each is still one write to the socket.
const chatWSReadBuffer, chatWSWriteBuffer = 1 << 10, 2 << 10

func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	var r io.Reader = conn
	if n := brw.Reader.Buffered(); n > 0 {
		// Frames the visitor sent right after the request.
		b, _ := brw.Reader.Peek(n)
		r = io.MultiReader(bytes.NewReader(bytes.Clone(b)), conn)
	}
	return conn, bufio.NewReadWriter(bufio.NewReaderSize(r, chatWSReadBuffer), bufio.NewWriterSize(conn, chatWSWriteBuffer)), nil
}

// chatConn is one visitor's WebSocket. Its only long-lived goroutine is the
// request's own, reading the visitor's frames; what goes to the visitor is
// written by a goroutine started when there is something to write, which
// ends when there is no more. The hub's updates are merged into one pending
// update, so a connection holds no queue however slowly it writes:
// messages are read from the store by seq when the writer gets to them.
type chatConn struct {
	wc     *webchatAPI
	ws     *websocket.Conn
	v      *visitorCtx
	actor  atende.Actor // the visitor, from the address they connected from
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	pending webchat.Update
	hello   bool              // the session frame and the catch-up are still to send
	queue   *routing.Position // a place in queue to send
	writing bool              // a writer goroutine runs
	dead    bool
	waiting bool // no agent yet: hears its place in queue
	lastPos *routing.Position
	ticks   int

	// The writer's own.
	after    int64 // the last seq looked at
	readSent int64
	ended    bool
}

// Notify merges a hub update and wakes the writer.
func (c *chatConn) Notify(u webchat.Update) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return
	}
	c.pending.Merge(u)
	if u.AgentID != "" || u.Ended {
		c.waiting = false
	}
	c.kick()
}

// kick starts the writer unless it runs; c.mu is held.
func (c *chatConn) kick() {
	if !c.writing && !c.dead {
		c.writing = true
		go c.flush()
	}
}

// position records a place in queue from the periodic check: sent on
// change, and every fifth check anyway as a heartbeat.
func (c *chatConn) position(state string, p *routing.Position) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if state != "waiting" {
		c.waiting = false
		return
	}
	c.ticks++
	if p != nil && (c.lastPos == nil || p.Position != c.lastPos.Position || p.EWTSec != c.lastPos.EWTSec || c.ticks%5 == 0) {
		c.lastPos, c.queue = p, p
		c.kick()
	}
}

func (c *chatConn) flush() {
	for {
		c.mu.Lock()
		u, hello, q := c.pending, c.hello, c.queue
		c.pending, c.hello, c.queue = webchat.Update{}, false, nil
		if c.dead || (u.Empty() && !hello && q == nil) {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if err := c.write(hello, u, q); err != nil {
			c.mu.Lock()
			c.dead, c.writing = true, false
			c.mu.Unlock()
			if c.ctx.Err() == nil {
				c.wc.s.log.Debug("chat stream write", "err", err)
			}
			c.cancel() // ends the read loop, which closes the socket
			return
		}
	}
}

func (c *chatConn) send(f wsOut) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, b)
}

// write sends what one merged update calls for, in the order a visitor
// expects: who joined and who types, then the messages, then read marks,
// the place in queue and the end.
func (c *chatConn) write(hello bool, u webchat.Update, q *routing.Position) error {
	wc, v := c.wc, c.v
	if hello {
		state, pos := wc.taskState(c.ctx, v.claims.TenantID, v.session)
		c.mu.Lock()
		c.waiting = c.waiting && state == "waiting"
		c.lastPos = pos
		c.mu.Unlock()
		if err := c.send(wsOut{Type: "session", State: state, Position: pos}); err != nil {
			return err
		}
		if pos != nil {
			if err := c.send(wsOut{Type: "queue", State: state, Position: pos}); err != nil {
				return err
			}
		}
		u.Appended = true
	}
	if u.Resync {
		if err := c.resync(&u); err != nil {
			return err
		}
	}
	if u.AgentID != "" {
		name := ""
		if usr, err := wc.s.cfg.Store.User(c.ctx, v.claims.TenantID, u.AgentID); err == nil {
			name = usr.Name
		}
		if err := c.send(wsOut{Type: "agent_joined", State: "assigned", Agent: name}); err != nil {
			return err
		}
	}
	if u.Typing != nil {
		if err := c.send(wsOut{Type: "typing", Side: store.SideAgent, Typing: u.Typing}); err != nil {
			return err
		}
	}
	if u.Appended {
		if err := c.catchUp(); err != nil {
			return err
		}
	}
	if u.ReadSeq > c.readSent {
		c.readSent = u.ReadSeq
		if err := c.send(wsOut{Type: "read", Side: store.SideAgent, Seq: u.ReadSeq}); err != nil {
			return err
		}
	}
	if q != nil {
		if err := c.send(wsOut{Type: "queue", State: "waiting", Position: q}); err != nil {
			return err
		}
	}
	if u.Ended && !c.ended {
		c.ended = true
		return c.send(wsOut{Type: "ended", State: "ended"})
	}
	return nil
}

// resync re-reads the chat's state after the hub may have missed events:
// the end, the agents' read mark, an agent who joined.
func (c *chatConn) resync(u *webchat.Update) error {
	st, v := c.wc.s.cfg.Store, c.v
	cs, err := st.ChatSession(c.ctx, v.claims.TenantID, v.claims.ConversationID)
	if err != nil {
		return err
	}
	conv, err := st.Conversation(c.ctx, v.claims.TenantID, v.claims.ConversationID)
	if err != nil {
		return err
	}
	u.ReadSeq = max(u.ReadSeq, cs.AgentReadSeq)
	if cs.EndedAt != nil || conv.Status == atende.StatusResolved || conv.Status == atende.StatusClosed {
		u.Ended = true
	}
	c.mu.Lock()
	joined := c.waiting && conv.AssigneeID != ""
	if joined || u.Ended {
		c.waiting = false
	}
	c.mu.Unlock()
	if joined && u.AgentID == "" {
		u.AgentID = conv.AssigneeID
	}
	return nil
}

// catchUp sends every visible message after the last seq looked at. A
// page shorter than full is the end: what is appended after it was read
// comes with a later update, so no second read is needed to find nothing.
func (c *chatConn) catchUp() error {
	for {
		items, next, more, err := c.wc.visibleAfter(c.ctx, c.v, c.after)
		if err != nil {
			return err
		}
		c.after = next
		for i := range items {
			if err := c.send(wsOut{Type: "message", Message: &items[i]}); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
	}
}

// readLoop handles the visitor's frames with the same checks as the HTTP
// endpoints; what they cause comes back through the hub.
func (c *chatConn) readLoop() error {
	wc, v := c.wc, c.v
	for {
		_, b, err := c.ws.Read(c.ctx)
		if err != nil {
			return err
		}
		if ok, _ := wc.byVisitor.Allow(v.claims.VisitorID); !ok {
			c.send(wsOut{Type: "error", Error: atende.ERateLimited})
			continue
		}
		var in wsIn
		if err := decodeStrict(b, &in); err != nil {
			c.send(wsOut{Type: "error", Error: "invalid_json"})
			continue
		}
		switch in.Type {
		case "message":
			if _, _, err := wc.appendVisitor(c.ctx, c.actor, v, visitorMessage{ClientID: in.ClientID, Body: in.Body}, nil); err != nil {
				c.send(wsOut{Type: "error", Error: atende.ErrorCode(err)})
			}
		case "typing":
			wc.publishTyping(c.ctx, v.claims.TenantID, webchat.Typing{ConversationID: v.claims.ConversationID, Side: store.SideVisitor, Typing: in.Typing})
		case "read":
			wc.s.cfg.Store.MarkChatRead(c.ctx, c.actor, v.claims.ConversationID, store.SideVisitor, in.Seq)
		default:
			c.send(wsOut{Type: "error", Error: "unknown_type"})
		}
	}
}

// tickPositions tells every waiting visitor connected to this node their
// place in queue: one call on each tenant's routing engine for all of them.
func (wc *webchatAPI) tickPositions(ctx context.Context) {
	if wc.s.cfg.Router == nil {
		return
	}
	for _, tenantID := range wc.hub.Tenants() {
		waiting := map[string][]*chatConn{} // task id -> connections
		wc.hub.Each(tenantID, func(_ string, l webchat.Listener) {
			c, ok := l.(*chatConn)
			if !ok {
				return
			}
			c.mu.Lock()
			if c.waiting && !c.hello && c.v.session.TaskID != "" {
				waiting[c.v.session.TaskID] = append(waiting[c.v.session.TaskID], c)
			}
			c.mu.Unlock()
		})
		if len(waiting) == 0 {
			continue
		}
		type answer struct {
			state string
			pos   *routing.Position
		}
		res, err := wc.onEngine(ctx, tenantID, func(core *routing.Core, _ time.Time) (any, error) {
			out := make(map[string]answer, len(waiting))
			for id := range waiting {
				t, ok := core.Task(id)
				switch {
				case !ok || t.State == routing.TaskDone:
					out[id] = answer{state: "ended"}
				case t.State == routing.TaskAssigned:
					out[id] = answer{state: "assigned"}
				default:
					a := answer{state: "waiting"}
					if p, ok := core.Position(id); ok {
						a.pos = &p
					}
					out[id] = a
				}
			}
			return out, nil
		})
		if err != nil {
			continue
		}
		for id, a := range res.(map[string]answer) {
			for _, c := range waiting[id] {
				c.position(a.state, a.pos)
			}
		}
	}
}

// touchVisitors records that the visitors connected to this node are
// there, for the idle timeout.
func (wc *webchatAPI) touchVisitors(ctx context.Context) {
	for _, tenantID := range wc.hub.Tenants() {
		var convs []string
		wc.hub.Each(tenantID, func(conv string, _ webchat.Listener) {
			if len(convs) == 0 || convs[len(convs)-1] != conv {
				convs = append(convs, conv)
			}
		})
		slices.Sort(convs)
		convs = slices.Compact(convs)
		if err := wc.s.cfg.Store.TouchChatVisitors(ctx, tenantID, convs, wc.now()); err != nil {
			wc.s.log.Warn("webchat: record connected visitors", "tenant_id", tenantID, "err", err)
		}
	}
}

// dangerousSniffs are contents a browser would run as a page whatever the
// declared type.
var dangerousSniffs = []string{"text/html", "text/xml"}

// visitorUploadCheck checks a visitor's file against the widget's limits:
// the declared type must be one the widget takes, and the content must not
// contradict it (a PNG must look like a PNG; nothing may look like a page).
func visitorUploadCheck(wd *widget.Widget) func(up upload, sniffed string, size int64) error {
	return func(up upload, sniffed string, size int64) error {
		if wd.Uploads.MaxBytes == 0 {
			return atende.FieldError("file", "this chat does not take files")
		}
		if size > wd.Uploads.MaxBytes {
			return &decodeError{"body_too_large", "the file must be at most " + strconv.FormatInt(wd.Uploads.MaxBytes, 10) + " bytes (uploads.max_bytes)", "file"}
		}
		if err := wd.UploadAllowed(up.Declared, size); err != nil {
			return err
		}
		known := sniffFamily(up.Declared) != ""
		switch {
		case slices.Contains(dangerousSniffs, sniffed),
			known && sniffed != up.Declared && !slices.Contains(wd.Uploads.MIMETypes, sniffed),
			known && sniffFamily(sniffed) != sniffFamily(up.Declared):
			return atende.FieldError("file", "the file's content is not of the type %q it claims", up.Declared)
		}
		return nil
	}
}

// uploadFile stores a visitor's file and appends a visitor message carrying
// it. Like a message, a resend with the same client_id stores nothing new.
func (wc *webchatAPI) uploadFile(w http.ResponseWriter, r *http.Request, v *visitorCtx) error {
	ctx := r.Context()
	in := visitorMessage{ClientID: r.URL.Query().Get("client_id")}
	if err := checkVisitorMessage(v, &in); err != nil {
		return err
	}
	a := v.actor(r)
	f, err := wc.s.putMedia(ctx, r, a, v.widget.Uploads.MaxBytes, visitorUploadCheck(v.widget))
	if err != nil {
		return err
	}
	m, created, err := wc.appendVisitor(ctx, a, v, in, []*media.File{f})
	if err != nil || !created {
		// Nothing refers to the file: a failed append or a resend.
		wc.s.cfg.Store.DeleteMedia(context.WithoutCancel(ctx), a, f.ID)
		if ms, merr := wc.s.mediaStore(); merr == nil {
			ms.Delete(a.TenantID, f.ID)
		}
	}
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	return writeJSON(w, status, m)
}

// downloadFile serves a file of the visitor's own chat: one a message the
// visitor sees carries. Anything else is not found.
func (wc *webchatAPI) downloadFile(w http.ResponseWriter, r *http.Request, v *visitorCtx) error {
	if r.PathValue("kind") != "files" {
		return atende.Errorf(atende.ENotFound, "file not found")
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f, err := wc.s.cfg.Store.CustomerAttachment(r.Context(), v.claims.TenantID, v.claims.ConversationID, id)
	if err != nil {
		return err
	}
	return wc.s.serveMedia(w, r, f)
}

type transcriptInput struct {
	// Email to send to; default: the email the visitor gave.
	Email string `json:"email,omitempty"`
}

type transcriptOutput struct {
	Queued bool `json:"queued"`
}

// transcript emails the visitor the chat so far: every message they see,
// who wrote it and when, in the tenant's time zone and the visitor's
// language, through the outbound mail queue.
func (wc *webchatAPI) transcript(w http.ResponseWriter, r *http.Request, v *visitorCtx) error {
	ctx, st := r.Context(), wc.s.cfg.Store
	var in transcriptInput
	if err := decode(r, &in); err != nil {
		return err
	}
	tr := v.widget.Transcript
	if !tr.Enabled || tr.MailboxID == "" || wc.s.cfg.Email == nil {
		return atende.Errorf(atende.EConflict, "this chat does not send transcripts")
	}
	mb, err := st.Mailbox(ctx, v.claims.TenantID, tr.MailboxID)
	if atende.ErrorCode(err) == atende.ENotFound || (err == nil && mb.SMTP == nil) {
		return atende.Errorf(atende.EConflict, "this chat does not send transcripts")
	}
	if err != nil {
		return err
	}
	contact, err := st.Contact(ctx, v.claims.TenantID, v.session.ContactID)
	if err != nil {
		return err
	}
	to := in.Email
	if to == "" {
		for _, id := range contact.Identities {
			if id.Kind == atende.IdentityEmail {
				to = id.Value
				break
			}
		}
	}
	if to, err = atende.NormalizeEmail(to); err != nil {
		return atende.FieldError("email", "is required: an email address to send the transcript to")
	}
	c, err := st.Conversation(ctx, v.claims.TenantID, v.claims.ConversationID)
	if err != nil {
		return err
	}
	tn, err := st.Tenant(ctx, v.claims.TenantID)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(tn.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	lang := v.session.Language
	if !slices.Contains(widget.Languages, lang) {
		lang = v.widget.Language
	}
	text, err := wc.transcriptText(ctx, v, c, contact.Name, lang, loc)
	if err != nil {
		return err
	}
	if err := st.TakeChatTranscript(ctx, v.actor(r), c.ID, maxTranscripts); err != nil {
		return err
	}
	subject := strings.ReplaceAll(i18n.T(lang, "webchat.transcript.subject"), "{{protocol}}", c.Protocol)
	if _, _, err := wc.s.cfg.Email.Send(ctx, v.actor(r), mb, nil, email.Compose{To: []string{to}, Subject: subject, Text: text, Kind: "transcript", NoSignature: true}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, transcriptOutput{Queued: true})
}

// transcriptText writes the chat as plain text: a heading with the
// protocol, then "[date time] Name: text" per message, files listed by name.
func (wc *webchatAPI) transcriptText(ctx context.Context, v *visitorCtx, c *atende.Conversation, visitorName, lang string, loc *time.Location) (string, error) {
	st := wc.s.cfg.Store
	var b strings.Builder
	b.WriteString(strings.ReplaceAll(i18n.T(lang, "webchat.transcript.heading"), "{{protocol}}", c.Protocol))
	b.WriteString("\n\n")
	if visitorName == "" {
		visitorName = i18n.T(lang, "webchat.transcript.visitor")
	}
	agents := map[string]string{}
	for after := int64(0); ; {
		evs, err := st.Timeline(ctx, v.claims.TenantID, c.ID, after, 500)
		if err != nil {
			return "", err
		}
		if len(evs) == 0 {
			break
		}
		after = evs[len(evs)-1].Seq
		for _, e := range evs {
			m, ok := webchat.VisibleOne(e)
			if !ok {
				continue
			}
			who := visitorName
			if m.Author == "agent" {
				name, ok := agents[e.AuthorID]
				if !ok {
					name = i18n.T(lang, "webchat.transcript.agent")
					if u, err := st.User(ctx, v.claims.TenantID, e.AuthorID); err == nil && u.Name != "" {
						name = u.Name
					}
					agents[e.AuthorID] = name
				}
				who = name
			}
			fmt.Fprintf(&b, "[%s] %s:", m.At.In(loc).Format("2006-01-02 15:04"), who)
			if len(m.Attachments) > 0 {
				names := make([]string, len(m.Attachments))
				for i, a := range m.Attachments {
					names[i] = a.Name
				}
				fmt.Fprintf(&b, " %s: %s\n", i18n.T(lang, "webchat.transcript.files"), strings.Join(names, ", "))
				continue
			}
			b.WriteString(" ")
			b.WriteString(strings.ReplaceAll(m.Body, "\n", "\n    "))
			b.WriteString("\n")
		}
	}
	return b.String(), nil
}

// endIdle ends chats still waiting for an agent whose visitor has been
// neither connected nor writing for the widget's idle timeout, as POST
// /chat/end does. Any node may run it: ending is idempotent and the task is
// cancelled through the tenant's routing engine.
func (wc *webchatAPI) endIdle(ctx context.Context) {
	st := wc.s.cfg.Store
	tenants, err := st.ChatTenants(ctx)
	if err != nil {
		wc.s.log.Warn("webchat: idle sweep", "err", err)
		return
	}
	for _, tenantID := range tenants {
		widgets, err := st.ChatWidgets(ctx, tenantID, store.ListOptions{Limit: 200})
		if err != nil {
			wc.s.log.Warn("webchat: idle sweep", "tenant_id", tenantID, "err", err)
			continue
		}
		for _, wd := range widgets.Items {
			if wd.IdleTimeoutMin == 0 {
				continue
			}
			before := wc.now().Add(-time.Duration(wd.IdleTimeoutMin) * time.Minute)
			idle, err := st.IdleChatSessions(ctx, tenantID, wd.ID, before, 200)
			if err != nil {
				wc.s.log.Warn("webchat: idle sweep", "tenant_id", tenantID, "err", err)
				continue
			}
			for i := range idle {
				a := atende.Actor{TenantID: tenantID, Kind: "system", Name: "webchat idle timeout"}
				if err := wc.endChat(ctx, a, &idle[i], true); err != nil {
					wc.s.log.Warn("webchat: end an idle chat", "conversation_id", idle[i].ConversationID, "err", err)
				}
			}
		}
	}
}
