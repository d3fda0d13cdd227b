// Package demo seeds a demo tenant: "Atende Demo", a fibre and mobile
// operator serving Spain, Brazil and the United States, with agents, queues,
// customers and two weeks of conversations in Spanish, Brazilian Portuguese
// and English, so that a fresh installation has something to show on every
// screen. It writes only through the store's public API, as any admin would.
package demo

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/auth"
	"github.com/atende/atende/internal/store"
)

const (
	tenantName        = "Atende Demo"
	userDomain        = "demo.atende.local"
	actorName         = "demo seed"
	conversationCount = 150
	historyDays       = 14
)

// Options tune the seed.
type Options struct {
	Slug     string    // of the demo tenant; empty: "demo"
	Now      time.Time // what the data is relative to; zero: time.Now()
	Password string    // of every demo user; empty: a random one
}

// Result says what Seed did. Password is set only when the tenant was
// created: the caller shows it once, it is not stored in clear anywhere.
type Result struct {
	Tenant   *atende.Tenant
	Password string
	Users    []atende.User
	Created  bool
}

// Seed creates the demo tenant unless a tenant with the slug exists, in which
// case it changes nothing and returns that tenant with Created false. The
// data is the same on every run (a fixed random seed), except for ids and
// timestamps, which the store assigns: everything is stamped at seeding time.
//
// Seeding is many small transactions: if it fails half way the tenant stays
// half seeded, and a later Seed leaves it so. Drop the database or pick
// another slug to start again.
func Seed(ctx context.Context, s *store.Store, opts Options) (*Result, error) {
	slug := strings.ToLower(strings.TrimSpace(opts.Slug))
	if slug == "" {
		slug = "demo"
	}
	existing, err := s.TenantBySlug(ctx, slug)
	if err == nil {
		return &Result{Tenant: existing}, nil
	}
	if atende.ErrorCode(err) != atende.ENotFound {
		return nil, fmt.Errorf("look up tenant %s: %w", slug, err)
	}
	pw := opts.Password
	if pw == "" {
		pw = auth.RandomPassword()
	}
	if err := auth.CheckPasswordPolicy(pw); err != nil {
		return nil, fmt.Errorf("demo password: %w", err)
	}
	sd := &seeder{
		s:        s,
		rng:      rand.New(rand.NewPCG(0xa7e4de, 0xde40)),
		now:      opts.Now,
		password: pw,
		used:     map[string]bool{},
	}
	if sd.now.IsZero() {
		sd.now = time.Now()
	}
	if err := sd.run(ctx, slug); err != nil {
		return nil, fmt.Errorf("seed demo tenant %s: %w", slug, err)
	}
	users := make([]atende.User, len(sd.users))
	for i, u := range sd.users {
		users[i] = *u.user
	}
	return &Result{Tenant: sd.tenant, Password: pw, Users: users, Created: true}, nil
}

// seeder carries what one Seed has created so far.
type seeder struct {
	s        *store.Store
	rng      *rand.Rand
	now      time.Time
	password string

	actor        atende.Actor
	tenant       *atende.Tenant
	skills       map[string]string // key -> id
	dispositions map[string]*atende.Disposition
	users        []*seedUser
	teams        map[string]*atende.Team
	queues       []*seedQueue
	contacts     []*seedContact
	used         map[string]bool // identity values and customer ids handed out
}

func (sd *seeder) run(ctx context.Context, slug string) error {
	sys := atende.SystemActor("")
	sys.Name = actorName
	sd.tenant = &atende.Tenant{Name: tenantName, Slug: slug, Locale: "es-ES", TimeZone: "Europe/Madrid", Language: "es"}
	if err := sd.s.CreateTenant(ctx, sys, sd.tenant); err != nil {
		return fmt.Errorf("create tenant: %w", err)
	}
	sd.actor = atende.SystemActor(sd.tenant.ID)
	sd.actor.Name = actorName
	for _, step := range []struct {
		name string
		fn   func(context.Context) error
	}{
		{"skills", sd.seedSkills},
		{"reason codes", sd.seedReasonCodes},
		{"dispositions", sd.seedDispositions},
		{"canned responses", sd.seedCannedResponses},
		{"custom fields", sd.seedFieldDefs},
		{"users", sd.seedUsers},
		{"teams", sd.seedTeams},
		{"queues", sd.seedQueues},
		{"contacts", sd.seedContacts},
		{"conversations", sd.seedConversations},
		{"agent states", sd.seedAgentStates},
	} {
		if err := step.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", step.name, err)
		}
	}
	return nil
}

// Skill keys: the three languages and the four kinds of work.
const (
	skillES        = "es"
	skillPT        = "pt-BR"
	skillEN        = "en"
	skillBilling   = "billing"
	skillTechnical = "technical"
	skillSales     = "sales"
	skillRetention = "retention"
)

func (sd *seeder) seedSkills(ctx context.Context) error {
	specs := []struct{ key, name, desc string }{
		{skillES, "Idioma: español", "Atiende en español · Atende em espanhol · Serves customers in Spanish"},
		{skillPT, "Idioma: portugués (Brasil)", "Atiende en portugués de Brasil · Atende em português do Brasil · Serves customers in Brazilian Portuguese"},
		{skillEN, "Idioma: inglés", "Atiende en inglés · Atende em inglês · Serves customers in English"},
		{skillBilling, "Facturación", "Facturas, cobros y devoluciones · Faturas e cobranças · Bills, charges and refunds"},
		{skillTechnical, "Soporte técnico", "Averías de fibra, wifi y móvil · Suporte técnico · Fibre, Wi-Fi and mobile troubleshooting"},
		{skillSales, "Ventas", "Altas, mejoras de tarifa y portabilidades · Vendas · New lines, upgrades and number porting"},
		{skillRetention, "Retención y bajas", "Solicitudes de baja y ofertas de retención · Retenção · Cancellations and save offers"},
	}
	sd.skills = map[string]string{}
	for _, sp := range specs {
		k := &atende.Skill{Name: sp.name, Description: sp.desc}
		if err := sd.s.CreateSkill(ctx, sd.actor, k); err != nil {
			return fmt.Errorf("%s: %w", sp.key, err)
		}
		sd.skills[sp.key] = k.ID
	}
	return nil
}

// lunchCode is the reason code of the agent seeded away.
const lunchCode = "lunch"

func (sd *seeder) seedReasonCodes(ctx context.Context) error {
	for _, r := range []atende.ReasonCode{
		{Code: "break", Paid: true, Labels: map[string]string{"es": "Descanso", "pt-BR": "Pausa", "en": "Break"}},
		{Code: lunchCode, Labels: map[string]string{"es": "Comida", "pt-BR": "Almoço", "en": "Lunch"}},
		{Code: "training", Paid: true, Labels: map[string]string{"es": "Formación", "pt-BR": "Treinamento", "en": "Training"}},
		{Code: "meeting", Paid: true, Labels: map[string]string{"es": "Reunión", "pt-BR": "Reunião", "en": "Meeting"}},
		{Code: "coaching", Paid: true, Labels: map[string]string{"es": "Sesión de coaching", "pt-BR": "Sessão de feedback", "en": "Coaching"}},
	} {
		r.Active = true
		if err := sd.s.CreateReasonCode(ctx, sd.actor, &r); err != nil {
			return fmt.Errorf("%s: %w", r.Code, err)
		}
	}
	return nil
}

func (sd *seeder) seedDispositions(ctx context.Context) error {
	sd.dispositions = map[string]*atende.Disposition{}
	for _, d := range []atende.Disposition{
		{Code: "resolved", Category: "info", Resolves: true,
			Labels: map[string]string{"es": "Resuelto", "pt-BR": "Resolvido", "en": "Resolved"}},
		{Code: "callback_scheduled", Category: "follow_up",
			Labels: map[string]string{"es": "Rellamada programada", "pt-BR": "Retorno agendado", "en": "Callback scheduled"}},
		{Code: "sale", Category: "sale", Resolves: true,
			Labels: map[string]string{"es": "Venta realizada", "pt-BR": "Venda realizada", "en": "Sale closed"}},
		{Code: "complaint_registered", Category: "complaint", Resolves: true, RequireNote: true,
			Labels: map[string]string{"es": "Reclamación registrada", "pt-BR": "Reclamação registrada", "en": "Complaint registered"}},
		{Code: "cancellation_retained", Category: "retention", Resolves: true,
			Labels: map[string]string{"es": "Baja retenida", "pt-BR": "Cancelamento revertido", "en": "Cancellation retained"}},
		{Code: "cancellation_processed", Category: "retention", Resolves: true,
			Labels: map[string]string{"es": "Baja tramitada", "pt-BR": "Cancelamento efetuado", "en": "Cancellation processed"}},
		{Code: "wrong_number", Category: "info", Resolves: true,
			Labels: map[string]string{"es": "Número equivocado", "pt-BR": "Número errado", "en": "Wrong number"}},
		{Code: "escalated", Category: "follow_up",
			Labels: map[string]string{"es": "Escalado a segundo nivel", "pt-BR": "Escalado para o segundo nível", "en": "Escalated to tier 2"}},
	} {
		d.Active = true
		if err := sd.s.CreateDisposition(ctx, sd.actor, &d); err != nil {
			return fmt.Errorf("%s: %w", d.Code, err)
		}
		sd.dispositions[d.Code] = &d
	}
	return nil
}

// demoCanned are the tenant's shared canned responses, a few per language;
// shortcuts are words of each language, so they never clash.
var demoCanned = []atende.CannedResponse{
	{Language: "es", Shortcut: "saludo", Title: "Saludo",
		Body: "¡Hola, {{contact.first_name}}! Soy {{agent.first_name}}, de {{tenant.name}}. ¿En qué puedo ayudarle?"},
	{Language: "es", Shortcut: "protocolo", Title: "Número de protocolo",
		Body: "Su número de protocolo es {{protocol}}. Guárdelo por si necesita volver a contactarnos."},
	{Language: "es", Shortcut: "espera", Title: "Un momento, por favor",
		Body: "Deme un momento, por favor, mientras reviso su caso."},
	{Language: "es", Shortcut: "despedida", Title: "Despedida",
		Body: "Gracias por contactar con {{tenant.name}}, {{contact.first_name}}. ¡Que tenga un buen día!"},
	{Language: "pt-BR", Shortcut: "ola", Title: "Saudação",
		Body: "Olá, {{contact.first_name}}! Sou {{agent.first_name}}, da {{tenant.name}}. Como posso ajudar?"},
	{Language: "pt-BR", Shortcut: "protocolo-br", Title: "Número de protocolo",
		Body: "O número do seu protocolo é {{protocol}}. Guarde-o caso precise falar conosco novamente."},
	{Language: "pt-BR", Shortcut: "aguarde", Title: "Um momento, por favor",
		Body: "Só um momento, por favor, enquanto verifico o seu caso."},
	{Language: "pt-BR", Shortcut: "despedida-br", Title: "Despedida",
		Body: "Obrigado por falar com a {{tenant.name}}, {{contact.first_name}}. Tenha um ótimo dia!"},
	{Language: "en", Shortcut: "hello", Title: "Greeting",
		Body: "Hi {{contact.first_name}}! I'm {{agent.first_name}} from {{tenant.name}}. How can I help you today?"},
	{Language: "en", Shortcut: "reference", Title: "Reference number",
		Body: "Your reference number is {{protocol}}. Please keep it in case you need to contact us again."},
	{Language: "en", Shortcut: "hold", Title: "One moment, please",
		Body: "Please give me a moment while I look into this for you."},
	{Language: "en", Shortcut: "bye", Title: "Closing",
		Body: "Thank you for contacting {{tenant.name}}, {{contact.first_name}}. Have a great day!"},
}

func (sd *seeder) seedCannedResponses(ctx context.Context) error {
	for _, c := range demoCanned {
		c.Scope = atende.CannedTenant
		if err := sd.s.CreateCannedResponse(ctx, sd.actor, &c, true); err != nil {
			return fmt.Errorf("%s: %w", c.Shortcut, err)
		}
	}
	return nil
}

// The custom contact fields and the plans a customer may have.
var planOptions = []string{"fibra_300", "fibra_600", "fibra_1g", "movil_ilimitado", "fibra_movil"}

func (sd *seeder) seedFieldDefs(ctx context.Context) error {
	for _, d := range []atende.FieldDef{
		{Key: "customer_id", Type: atende.FieldText,
			Labels: map[string]string{"es": "Número de cliente", "pt-BR": "Código do cliente", "en": "Customer ID"}},
		{Key: "plan", Type: atende.FieldSelect, Options: planOptions,
			Labels: map[string]string{"es": "Tarifa", "pt-BR": "Plano", "en": "Plan"}},
		{Key: "vip", Type: atende.FieldBool,
			Labels: map[string]string{"es": "Cliente VIP", "pt-BR": "Cliente VIP", "en": "VIP customer"}},
		{Key: "contract_end", Type: atende.FieldDate,
			Labels: map[string]string{"es": "Fin de permanencia", "pt-BR": "Fim da fidelidade", "en": "Contract end"}},
	} {
		if err := sd.s.CreateFieldDef(ctx, sd.actor, &d); err != nil {
			return fmt.Errorf("%s: %w", d.Key, err)
		}
	}
	return nil
}

// Team keys.
const (
	teamMadrid   = "madrid"
	teamSaoPaulo = "sao-paulo"
	teamUS       = "us"
)

// seedUser is a demo user: what to create and, once created, the user.
type seedUser struct {
	name, email string
	roles       []atende.Role
	lang        string
	teams       []string
	skills      map[string]int
	capacity    atende.Capacity
	status      atende.AgentStatus // seeded state; "" stays offline
	reason      string
	user        *atende.User
}

func (u *seedUser) first() string { first, _, _ := strings.Cut(u.name, " "); return first }

func (u *seedUser) isAgent() bool { return slices.Contains(u.roles, atende.RoleAgent) }

func capacity(chat, email int) atende.Capacity {
	return atende.Capacity{atende.ChannelVoice: 1, atende.ChannelChat: chat, atende.ChannelEmail: email, atende.ChannelSMS: chat, atende.ChannelSocial: chat}
}

func demoUsers() []*seedUser {
	agent := []atende.Role{atende.RoleAgent}
	return []*seedUser{
		{name: "Lucía Fernández Ortega", email: "admin@" + userDomain, roles: []atende.Role{atende.RoleAdmin}, lang: "es"},
		{name: "Javier Morales Ruiz", email: "javier.morales@" + userDomain, roles: []atende.Role{atende.RoleSupervisor}, lang: "es",
			teams: []string{teamMadrid, teamUS}, skills: map[string]int{skillES: 10, skillEN: 8, skillRetention: 8, skillBilling: 7},
			capacity: capacity(2, 3)},
		{name: "Camila Ribeiro Santos", email: "camila.ribeiro@" + userDomain, roles: []atende.Role{atende.RoleSupervisor}, lang: "pt-BR",
			teams: []string{teamSaoPaulo}, skills: map[string]int{skillPT: 10, skillES: 7, skillTechnical: 8, skillSales: 6},
			capacity: capacity(2, 3)},
		{name: "Elena Navarro Gil", email: "elena.navarro@" + userDomain, roles: []atende.Role{atende.RoleQA}, lang: "es",
			capacity: atende.Capacity{}},
		{name: "Daniel Carter", email: "daniel.carter@" + userDomain, roles: []atende.Role{atende.RolePlanner}, lang: "en",
			capacity: atende.Capacity{}},
		{name: "Marta Sánchez López", email: "marta.sanchez@" + userDomain, roles: agent, lang: "es", teams: []string{teamMadrid},
			skills:   map[string]int{skillES: 10, skillEN: 6, skillTechnical: 8, skillBilling: 5},
			capacity: capacity(3, 5), status: atende.StatusAvailable},
		{name: "Pablo García Romero", email: "pablo.garcia@" + userDomain, roles: agent, lang: "es", teams: []string{teamMadrid},
			skills:   map[string]int{skillES: 10, skillBilling: 9, skillRetention: 7, skillSales: 5},
			capacity: capacity(2, 8), status: atende.StatusAway, reason: lunchCode},
		{name: "Nuria Martín Castro", email: "nuria.martin@" + userDomain, roles: agent, lang: "es", teams: []string{teamMadrid},
			skills:   map[string]int{skillES: 10, skillPT: 4, skillTechnical: 6, skillRetention: 9, skillSales: 7},
			capacity: capacity(4, 4)},
		{name: "Rafael Oliveira Souza", email: "rafael.oliveira@" + userDomain, roles: agent, lang: "pt-BR", teams: []string{teamSaoPaulo},
			skills:   map[string]int{skillPT: 10, skillES: 6, skillTechnical: 8, skillBilling: 6},
			capacity: capacity(3, 5), status: atende.StatusAvailable},
		{name: "Juliana Costa Almeida", email: "juliana.costa@" + userDomain, roles: agent, lang: "pt-BR", teams: []string{teamSaoPaulo},
			skills:   map[string]int{skillPT: 10, skillBilling: 8, skillSales: 7, skillRetention: 6},
			capacity: capacity(4, 6)},
		{name: "Thiago Pereira Lima", email: "thiago.pereira@" + userDomain, roles: agent, lang: "pt-BR", teams: []string{teamSaoPaulo},
			skills:   map[string]int{skillPT: 10, skillEN: 5, skillTechnical: 7, skillSales: 5, skillRetention: 5},
			capacity: capacity(3, 3), status: atende.StatusAvailable},
		{name: "Ashley Johnson", email: "ashley.johnson@" + userDomain, roles: agent, lang: "en", teams: []string{teamUS},
			skills:   map[string]int{skillEN: 10, skillES: 7, skillSales: 9, skillBilling: 6, skillRetention: 7},
			capacity: capacity(3, 5), status: atende.StatusAvailable},
		{name: "Tyler Brooks", email: "tyler.brooks@" + userDomain, roles: agent, lang: "en", teams: []string{teamUS},
			skills:   map[string]int{skillEN: 10, skillTechnical: 8, skillBilling: 7, skillSales: 5},
			capacity: capacity(2, 6)},
	}
}

// seedUsers creates the users side by side: each one hashes the demo password
// (argon2id, tens of milliseconds), which would otherwise dominate the seed.
func (sd *seeder) seedUsers(ctx context.Context) error {
	sd.users = demoUsers()
	errs := make([]error, len(sd.users))
	var wg sync.WaitGroup
	for i, su := range sd.users {
		u := &atende.User{Name: su.name, Email: su.email, Roles: su.roles, Language: su.lang, Active: true, Capacity: su.capacity}
		for _, key := range slices.Sorted(maps.Keys(su.skills)) {
			u.Skills = append(u.Skills, atende.AgentSkill{SkillID: sd.skills[key], Proficiency: su.skills[key]})
		}
		su.user = u
		wg.Go(func() {
			if err := sd.s.CreateUser(ctx, sd.actor, u, sd.password); err != nil {
				errs[i] = fmt.Errorf("%s: %w", su.email, err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (sd *seeder) seedTeams(ctx context.Context) error {
	sd.teams = map[string]*atende.Team{}
	for _, sp := range []struct{ key, name, desc string }{
		{teamMadrid, "Soporte Madrid", "Atención en español: soporte técnico, facturación, ventas y retención"},
		{teamSaoPaulo, "Atendimento São Paulo", "Atendimento em português para os clientes do Brasil"},
		{teamUS, "Sales US", "English-language sales, retention and support for US customers"},
	} {
		t := &atende.Team{Name: sp.name, Description: sp.desc}
		for _, u := range sd.users {
			if slices.Contains(u.teams, sp.key) {
				t.MemberIDs = append(t.MemberIDs, u.user.ID)
			}
		}
		if err := sd.s.CreateTeam(ctx, sd.actor, t); err != nil {
			return fmt.Errorf("%s: %w", sp.name, err)
		}
		sd.teams[sp.key] = t
		for _, u := range sd.users {
			if slices.Contains(u.teams, sp.key) {
				u.user.TeamIDs = append(u.user.TeamIDs, t.ID)
			}
		}
	}
	for _, u := range sd.users {
		slices.Sort(u.user.TeamIDs)
	}
	return nil
}

// seedQueue is a demo queue with the language and topics routed to it and
// the agents who may be assigned its conversations.
type seedQueue struct {
	lang   string
	topics []topic
	team   string
	q      *atende.Queue
	agents []*seedUser
}

type need struct {
	skill string
	min   int
}

func (sd *seeder) seedQueues(ctx context.Context) error {
	voice, chat, email, sms, social := atende.ChannelVoice, atende.ChannelChat, atende.ChannelEmail, atende.ChannelSMS, atende.ChannelSocial
	const hour = 3600
	specs := []struct {
		name, desc string
		lang       string
		topics     []topic
		channels   []atende.Channel
		needs      []need
		pct, sec   int
		prio, wait int
		team       string
	}{
		{"Soporte técnico ES", "Averías de fibra, wifi y móvil en España", "es", []topic{topicTech, topicGeneral},
			[]atende.Channel{voice, chat, sms, social}, []need{{skillES, 5}, {skillTechnical, 5}}, 80, 20, 50, 900, teamMadrid},
		{"Facturación ES", "Facturas, cobros y devoluciones", "es", []topic{topicBilling},
			[]atende.Channel{voice, chat, social}, []need{{skillES, 5}, {skillBilling, 4}}, 80, 20, 40, 900, teamMadrid},
		{"Ventas ES", "Altas, mejoras de tarifa y portabilidades", "es", []topic{topicSales},
			[]atende.Channel{voice, chat, social}, []need{{skillES, 5}, {skillSales, 5}}, 80, 20, 60, 600, teamMadrid},
		{"Retención", "Solicitudes de baja: cada cliente cuenta", "es", []topic{topicRetention},
			[]atende.Channel{voice, chat, social}, []need{{skillES, 6}, {skillRetention, 6}}, 90, 30, 80, 600, teamMadrid},
		{"Correo ES", "Correos electrónicos de clientes en España", "es", nil,
			[]atende.Channel{email}, []need{{skillES, 5}}, 90, 4 * hour, 20, 0, teamMadrid},
		{"Atendimento BR", "Suporte, faturas, vendas e cancelamentos no Brasil", "pt-BR",
			[]topic{topicTech, topicBilling, topicSales, topicRetention, topicGeneral},
			[]atende.Channel{voice, chat, sms, social}, []need{{skillPT, 5}}, 80, 20, 50, 900, teamSaoPaulo},
		{"E-mail BR", "E-mails de clientes no Brasil", "pt-BR", nil,
			[]atende.Channel{email}, []need{{skillPT, 5}}, 80, 8 * hour, 20, 0, teamSaoPaulo},
		{"Sales US", "New service, upgrades and save offers in the US", "en", []topic{topicSales, topicRetention},
			[]atende.Channel{voice, chat, email}, []need{{skillEN, 5}, {skillSales, 5}}, 80, 20, 60, 600, teamUS},
		{"Support US", "Outages, Wi-Fi and billing questions in the US", "en", []topic{topicTech, topicBilling, topicGeneral},
			[]atende.Channel{voice, chat, sms, social}, []need{{skillEN, 5}}, 90, 30, 50, 900, teamUS},
		{"Email US", "Customer email in the US", "en", nil,
			[]atende.Channel{email}, []need{{skillEN, 5}}, 90, 2 * hour, 20, 0, teamUS},
	}
	for _, sp := range specs {
		q := &atende.Queue{Name: sp.name, Description: sp.desc, Channels: sp.channels, SLTargetPct: sp.pct, SLThresholdSec: sp.sec,
			Priority: sp.prio, MaxWaitSec: sp.wait, TeamIDs: []string{sd.teams[sp.team].ID}}
		q.Routing.WrapUpSec = 30 // after-contact work, as in most centres
		for _, n := range sp.needs {
			q.Skills = append(q.Skills, atende.RequiredSkill{SkillID: sd.skills[n.skill], MinProficiency: n.min})
		}
		if err := sd.s.CreateQueue(ctx, sd.actor, q); err != nil {
			return fmt.Errorf("%s: %w", sp.name, err)
		}
		sq := &seedQueue{lang: sp.lang, topics: sp.topics, team: sp.team, q: q}
		for _, u := range sd.users {
			if u.isAgent() && slices.Contains(u.teams, sp.team) && qualifies(u, sp.needs) {
				sq.agents = append(sq.agents, u)
			}
		}
		if len(sq.agents) == 0 {
			return fmt.Errorf("queue %s: no demo agent qualifies", sp.name)
		}
		sd.queues = append(sd.queues, sq)
	}
	return nil
}

func qualifies(u *seedUser, needs []need) bool {
	for _, n := range needs {
		if u.skills[n.skill] < n.min {
			return false
		}
	}
	return true
}

// queueFor picks the queue a conversation lands in: the one for its language
// and topic when it serves the channel, else the first of the language that
// serves the channel (the general or the email queue).
func (sd *seeder) queueFor(lang string, tp topic, ch atende.Channel) *seedQueue {
	var fallback *seedQueue
	for _, q := range sd.queues {
		if q.lang != lang || !slices.Contains(q.q.Channels, ch) {
			continue
		}
		if slices.Contains(q.topics, tp) {
			return q
		}
		if fallback == nil {
			fallback = q
		}
	}
	return fallback
}

func (sd *seeder) seedAgentStates(ctx context.Context) error {
	for _, u := range sd.users {
		if u.status == "" {
			continue
		}
		if _, err := sd.s.SetAgentState(ctx, sd.actor, u.user.ID, u.status, u.reason); err != nil {
			return fmt.Errorf("%s: %w", u.email, err)
		}
	}
	return nil
}

// pick returns a random element of xs.
func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// chance is true with probability p.
func chance(rng *rand.Rand, p float64) bool { return rng.Float64() < p }

// weighted picks an index with probability proportional to its weight.
func weighted(rng *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := rng.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}
