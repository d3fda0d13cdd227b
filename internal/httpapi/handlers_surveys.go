package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/webchat"
	"github.com/atende/atende/internal/i18n"
	"github.com/atende/atende/internal/ratelimit"
	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/survey"
)

// surveysAPI serves post-contact surveys: the tenant's survey settings, the
// list of answers for QA, the chat's NPS question, and the public page that
// survey email links open (/s/{token}, server-rendered HTML, not part of the
// JSON API).
type surveysAPI struct {
	s    *Server
	keys *survey.Keys
	// byIP limits the public page per client address.
	byIP *ratelimit.Bucket
	// chat authenticates visitors for the chat survey endpoints, the same
	// way as every other visitor call (its own rate-limit buckets).
	chat *webchatAPI
}

// Limits of the public survey page: per client address, per second and
// burst, as for the chat: generous for a person, and links cannot be
// guessed anyway (HMAC-SHA256); this bounds the work one address causes.
const surveyPageRate, surveyPageBurst = 2, 60

// maxSurveyForm bounds the page's form body.
const maxSurveyForm = 16 << 10

func (s *Server) routesSurveys() {
	sa := &surveysAPI{s: s, keys: &survey.Keys{Store: s.cfg.Store, Box: s.cfg.Secrets},
		byIP: ratelimit.New(surveyPageRate, surveyPageBurst),
		chat: &webchatAPI{s: s, byIP: ratelimit.New(chatIPRate, chatIPBurst), byVisitor: ratelimit.New(chatVisitorRate, chatVisitorBurst), now: time.Now}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				sa.byIP.Sweep()
				sa.chat.byIP.Sweep()
				sa.chat.byVisitor.Sweep()
			}
		}
	}()

	s.handle(route{Method: "GET", Path: "/survey-settings", Perm: atende.PermConfigRead, Tag: "surveys",
		Summary: "The tenant's survey settings: per channel whether to survey, CSAT, NPS or both, the delay, the per-contact limit and the question texts",
		Out:     atende.SurveySettings{}, handler: sa.getSettings})
	s.handle(route{Method: "PATCH", Path: "/survey-settings", Perm: atende.PermConfigManage, Tag: "surveys", Patch: true,
		Summary: "Change the tenant's survey settings (JSON merge patch, If-Match)",
		In:      atende.SurveySettings{}, Out: atende.SurveySettings{}, handler: sa.patchSettings})
	s.handle(route{Method: "GET", Path: "/surveys", Perm: atende.PermReportsRead, Tag: "surveys",
		Summary: "Survey answers with their comments, oldest first, for QA and supervisors",
		Query: append([]param{
			{"from", "string", "first day, YYYY-MM-DD on the tenant's clock, or an RFC 3339 time"},
			{"to", "string", "last day, inclusive (YYYY-MM-DD), or an RFC 3339 time (exclusive)"},
			{"channel", "string", "only this channel (email, chat, ...)"},
			{"agent_id", "string", "only answers about this agent's conversations"},
			{"kind", "string", "csat or nps"},
		}, pageParams...),
		Out: store.Page[store.Survey]{}, handler: sa.list})
	s.handle(route{Method: "GET", Path: "/chat/survey", Public: true, Tag: "webchat",
		Summary: "What to ask at the end of the chat (visitor token): the kinds (csat, nps) and their questions in the chat's language",
		Out:     chatSurvey{}, handler: sa.chat.visitor(sa.chatSurvey)})
	s.handle(route{Method: "POST", Path: "/chat/nps", Public: true, Tag: "webchat", Status: http.StatusCreated,
		Summary: "Answer the NPS question, 0-10 and a comment (visitor token), when the tenant's chat surveys ask it; once per conversation",
		In:      npsInput{}, Out: store.Survey{}, handler: sa.chat.visitor(sa.chatNPS)})

	// The public page: HTML for people, outside the JSON API.
	s.mux.HandleFunc("GET /s/survey.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(survey.CSS)
	})
	s.mux.HandleFunc("GET /s/{token}", sa.page)
	s.mux.HandleFunc("POST /s/{token}", sa.answer)
}

func (sa *surveysAPI) getSettings(w http.ResponseWriter, r *http.Request, p *principal) error {
	set, err := sa.s.cfg.Store.SurveySettings(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, set, set.Version)
}

func (sa *surveysAPI) patchSettings(w http.ResponseWriter, r *http.Request, p *principal) error {
	set, err := patchEntity(r, p, p.TenantID, readOnlyFields, func(ctx context.Context, a atende.Actor, _ string, v int64, change func(*atende.SurveySettings) error) (*atende.SurveySettings, error) {
		return sa.s.cfg.Store.UpdateSurveySettings(ctx, a, v, change)
	})
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, set, set.Version)
}

func (sa *surveysAPI) list(w http.ResponseWriter, r *http.Request, p *principal) error {
	o, err := listOptions(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	t, err := sa.s.cfg.Store.Tenant(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	var f store.SurveyFilter
	if f.From, err = surveyTime(q.Get("from"), "from", loc, false); err != nil {
		return err
	}
	if f.To, err = surveyTime(q.Get("to"), "to", loc, true); err != nil {
		return err
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return atende.FieldError("to", "is before from")
	}
	if c := q.Get("channel"); c != "" {
		if !atende.ValidChannel(atende.Channel(c)) {
			return atende.FieldError("channel", "must be one of voice, chat, email, sms, social")
		}
		f.Channel = atende.Channel(c)
	}
	if id := q.Get("agent_id"); id != "" {
		if !atende.ValidID(id) {
			return atende.FieldError("agent_id", "is not an id")
		}
		f.AgentID = id
	}
	if k := q.Get("kind"); k != "" {
		if k != atende.SurveyKindCSAT && k != atende.SurveyKindNPS {
			return atende.FieldError("kind", "must be csat or nps")
		}
		f.Kind = k
	}
	page, err := sa.s.cfg.Store.ListSurveys(r.Context(), p.TenantID, f, o)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

// surveyTime reads a day on the tenant's clock (the end of the day when
// end) or an RFC 3339 time; empty is no bound.
func surveyTime(v, field string, loc *time.Location, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return d.UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, atende.FieldError(field, "must be a date as YYYY-MM-DD or an RFC 3339 time")
	}
	return t.UTC(), nil
}

// chatSurvey is what the widget asks at the end of a chat.
type chatSurvey struct {
	Kinds     []string          `json:"kinds"`     // csat, nps; empty: ask nothing
	Questions map[string]string `json:"questions"` // per kind, in Language
	Language  string            `json:"language"`
}

type npsInput struct {
	Score   int    `json:"score"`
	Comment string `json:"comment,omitempty"`
}

func (sa *surveysAPI) chatSurvey(w http.ResponseWriter, r *http.Request, v *visitorCtx) error {
	ctx := r.Context()
	set, err := sa.s.cfg.Store.SurveySettings(ctx, v.claims.TenantID)
	if err != nil {
		return err
	}
	tn, err := sa.s.cfg.Store.Tenant(ctx, v.claims.TenantID)
	if err != nil {
		return err
	}
	lang := v.session.Language
	if !atende.ValidLanguage(lang) {
		lang = v.widget.Language
	}
	out := chatSurvey{Kinds: set.Chat.Kinds(), Questions: map[string]string{}, Language: lang}
	if out.Kinds == nil {
		out.Kinds = []string{}
	}
	for _, k := range out.Kinds {
		out.Questions[k] = survey.Question(set, k, lang, tn.Name)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (sa *surveysAPI) chatNPS(w http.ResponseWriter, r *http.Request, v *visitorCtx) error {
	var in npsInput
	if err := decode(r, &in); err != nil {
		return err
	}
	set, err := sa.s.cfg.Store.SurveySettings(r.Context(), v.claims.TenantID)
	if err != nil {
		return err
	}
	if !set.Chat.Asks(atende.SurveyKindNPS) {
		return atende.Errorf(atende.EConflict, "this chat does not ask for NPS")
	}
	comment := ""
	if strings.TrimSpace(in.Comment) != "" {
		if comment, err = webchat.Sanitize(in.Comment); err != nil {
			return atende.FieldError("comment", "must be text of at most %d characters", webchat.MaxMessageRunes)
		}
	}
	sv := &store.Survey{ConversationID: v.claims.ConversationID, Kind: store.SurveyNPS, Score: in.Score, Comment: comment}
	if err := sa.s.cfg.Store.CreateSurvey(r.Context(), v.actor(r), sv); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, sv)
}

// link is a verified survey link with what its page shows.
type link struct {
	claims     survey.Claims
	token      string
	tenantName string
	settings   *atende.SurveySettings
}

// verify checks a link: the tenant it names must exist, the signature under
// that tenant's key, the expiry and the claims must hold, and the
// conversation must be the tenant's. Anything wrong is survey.ErrBadLink.
func (sa *surveysAPI) verify(ctx context.Context, token string) (*link, error) {
	tenantID, ok := survey.TenantOf(token)
	if !ok {
		return nil, survey.ErrBadLink
	}
	tn, err := sa.s.cfg.Store.Tenant(ctx, tenantID)
	if atende.ErrorCode(err) == atende.ENotFound {
		return nil, survey.ErrBadLink
	}
	if err != nil {
		return nil, err
	}
	key, err := sa.keys.Key(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	c, err := survey.Verify(key, token, time.Now())
	if err != nil {
		return nil, err
	}
	// Links are only made for the tenant's own conversations; checked
	// anyway, so that nothing but the tenant's data is ever shown or written.
	if _, err := sa.s.cfg.Store.Conversation(ctx, c.TenantID, c.ConversationID); atende.ErrorCode(err) == atende.ENotFound {
		return nil, survey.ErrBadLink
	} else if err != nil {
		return nil, err
	}
	set, err := sa.s.cfg.Store.SurveySettings(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return &link{claims: c, token: token, tenantName: tn.Name, settings: set}, nil
}

// pageFor starts the page of a link in its language.
func (l *link) pageFor(state survey.PageState) *survey.Page {
	return &survey.Page{State: state, Lang: l.claims.Lang, TenantName: l.tenantName, Token: l.token, Kind: l.claims.Kind,
		Question: survey.Question(l.settings, l.claims.Kind, l.claims.Lang, l.tenantName), Score: -1}
}

// pageStart does what both the page and its form do first: the rate limit
// and the link's checks. A nil link means the answer was written.
func (sa *surveysAPI) pageStart(w http.ResponseWriter, r *http.Request) *link {
	if ok, wait := sa.byIP.Allow(clientIP(r)); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second))))
		(&survey.Page{State: survey.PageLimited, Lang: pageLang(r)}).Render(w)
		return nil
	}
	l, err := sa.verify(r.Context(), r.PathValue("token"))
	if errors.Is(err, survey.ErrBadLink) {
		(&survey.Page{State: survey.PageInvalid, Lang: pageLang(r)}).Render(w)
		return nil
	}
	if err != nil {
		sa.s.log.Error("survey page", "err", err)
		(&survey.Page{State: survey.PageError, Lang: pageLang(r)}).Render(w)
		return nil
	}
	return l
}

// pageLang is the language of a page whose link could not be read.
func pageLang(r *http.Request) string {
	return i18n.Negotiate(r.Header.Get("Accept-Language"), "")
}

// page shows a survey question with the score the customer clicked in the
// email chosen. It stores nothing: mail security scanners open every link of
// a message, and must not answer for the customer.
func (sa *surveysAPI) page(w http.ResponseWriter, r *http.Request) {
	l := sa.pageStart(w, r)
	if l == nil {
		return
	}
	_, err := sa.s.cfg.Store.SurveyFor(r.Context(), l.claims.TenantID, l.claims.ConversationID, l.claims.Kind)
	switch {
	case err == nil:
		l.pageFor(survey.PageAlready).Render(w)
		return
	case atende.ErrorCode(err) != atende.ENotFound:
		sa.s.log.Error("survey page", "err", err)
		l.pageFor(survey.PageError).Render(w)
		return
	}
	p := l.pageFor(survey.PageForm)
	if n, err := strconv.Atoi(r.URL.Query().Get("score")); err == nil && survey.ValidScore(l.claims.Kind, n) {
		p.Score = n
	}
	p.Render(w)
}

// answer stores the page's form: the score and an optional comment. The
// form needs no CSRF token: the link's token in the address is the only
// credential (no cookie or session is involved), so another site cannot
// forge the post without already holding the link.
func (sa *surveysAPI) answer(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxSurveyForm)
	l := sa.pageStart(w, r)
	if l == nil {
		return
	}
	if err := r.ParseForm(); err != nil {
		l.pageFor(survey.PageBadScore).Render(w)
		return
	}
	p := l.pageFor(survey.PageBadScore)
	p.Comment = r.PostForm.Get("comment")
	n, err := strconv.Atoi(r.PostForm.Get("score"))
	if err != nil || !survey.ValidScore(l.claims.Kind, n) {
		p.Render(w)
		return
	}
	p.Score = n
	comment := ""
	if strings.TrimSpace(p.Comment) != "" {
		if comment, err = webchat.Sanitize(p.Comment); err != nil || len([]rune(comment)) > 2000 {
			p.State = survey.PageTooLong
			p.Render(w)
			return
		}
	}
	a := atende.Actor{TenantID: l.claims.TenantID, Kind: "system", Name: "survey link", IP: clientIP(r)}
	sv := &store.Survey{ConversationID: l.claims.ConversationID, Kind: l.claims.Kind, Score: n, Comment: comment}
	err = sa.s.cfg.Store.CreateSurvey(r.Context(), a, sv)
	if err == nil {
		l.pageFor(survey.PageThanks).Render(w)
		return
	}
	switch atende.ErrorCode(err) {
	case atende.EConflict:
		l.pageFor(survey.PageAlready).Render(w)
	case atende.ENotFound:
		l.pageFor(survey.PageInvalid).Render(w)
	default:
		sa.s.log.Error("survey answer", "err", err)
		l.pageFor(survey.PageError).Render(w)
	}
}
