package flow

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/voice/prompts"
	"github.com/atende/atende/internal/webhook"
	"github.com/prometheus/client_golang/prometheus"
)

const queueA = "0190a1b2-0000-7000-8000-00000000000a"

// scriptedCall plays the caller's side from a script. Each entry is what the
// caller does the next time the flow listens: "!k" presses k during a
// prompt (barge-in), digits answer a ReadDigits, "" lets it time out. When
// the script runs out the caller hangs up.
type scriptedCall struct {
	script    []string
	played    []string // "lang/id" of every prompt played
	reads     []string // "max/timeout/terminator" of every ReadDigits
	langs     []string
	hungUp    bool
	transfers []string
	enqueued  []QueueRequest
	outcome   QueueOutcome
	callbacks []string
	recorded  []int
	transferErr,
	enqueueErr error
}

func (c *scriptedCall) next() (string, bool) {
	if len(c.script) == 0 {
		return "", false
	}
	s := c.script[0]
	c.script = c.script[1:]
	return s, true
}

func (c *scriptedCall) Play(ctx context.Context, ps ...prompts.Ref) (string, error) {
	if c.hungUp {
		return "", ErrHangup
	}
	for _, p := range ps {
		if p.MediaID == "" && !prompts.Has(p.Lang, p.ID) {
			return "", errors.New("played a prompt the catalogue does not have: " + p.String())
		}
		c.played = append(c.played, p.String())
	}
	if len(c.script) > 0 && strings.HasPrefix(c.script[0], "!") {
		s, _ := c.next()
		return s[1:], nil
	}
	return "", nil
}

func (c *scriptedCall) ReadDigits(ctx context.Context, max int, timeout time.Duration, term string) (string, error) {
	c.reads = append(c.reads, strings.Join([]string{itoa(max), timeout.String(), term}, "/"))
	s, ok := c.next()
	if !ok {
		c.hungUp = true
		return "", ErrHangup
	}
	if term != "" {
		s, _, _ = strings.Cut(s, term)
	}
	if len(s) > max {
		s = s[:max]
	}
	return s, nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// counter reads a counter of reg with the given labels, 0 when absent.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func (c *scriptedCall) SetLanguage(lang string) { c.langs = append(c.langs, lang) }
func (c *scriptedCall) Hangup(context.Context) error {
	c.hungUp = true
	return nil
}
func (c *scriptedCall) Transfer(_ context.Context, n string) error {
	c.transfers = append(c.transfers, n)
	return c.transferErr
}
func (c *scriptedCall) Enqueue(_ context.Context, r QueueRequest) (QueueOutcome, error) {
	c.enqueued = append(c.enqueued, r)
	return c.outcome, c.enqueueErr
}
func (c *scriptedCall) RecordVoicemail(_ context.Context, max int) (string, error) {
	c.recorded = append(c.recorded, max)
	return "0190a1b2-0000-7000-8000-0000000000ff", nil
}
func (c *scriptedCall) OfferCallback(_ context.Context, q string) error {
	c.callbacks = append(c.callbacks, q)
	return nil
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

func mustFlow(t *testing.T, raw string) *atende.Flow {
	t.Helper()
	var f atende.Flow
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		t.Fatal(err)
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	return &f
}

func nodes(r *Result) string {
	var s []string
	for _, st := range r.Trace {
		s = append(s, st.Node+">"+st.Result)
	}
	return strings.Join(s, " ")
}

const menuFlow = `{"name": "t", "language": "en", "entry": "welcome", "nodes": {
  "welcome": {"kind": "play", "prompts": ["welcome"], "next": "main"},
  "main": {"kind": "menu", "prompts": ["menu"], "options": {"1": "sales", "2": "es"}, "retries": 2, "branches": {"fallback": "bye"}},
  "sales": {"kind": "queue", "queue_id": "` + queueA + `", "priority": 7, "prompts": ["please_wait"]},
  "es": {"kind": "language", "language": "es", "prompts": ["welcome"], "next": "sales"},
  "bye": {"kind": "hangup", "prompts": ["goodbye"]}
}}`

func TestMenuBargeInChoosesAnOption(t *testing.T) {
	f := mustFlow(t, menuFlow)
	c := &scriptedCall{script: []string{"!1"}, outcome: QueueAnswered}
	reg := prometheus.NewRegistry()
	e := &Engine{Metrics: NewMetrics(reg)}
	res := e.Run(context.Background(), f, c, Input{CallID: "c1", Caller: "+34600000001", Called: "+34910000000"})
	if res.Outcome != OutcomeAnswered || nodes(res) != "welcome>next main>option:1 sales>end" {
		t.Fatalf("outcome %s trace %s", res.Outcome, nodes(res))
	}
	// The key pressed during the greeting answers the menu at once.
	if !slices.Equal(c.played, []string{"en/welcome", "en/please_wait"}) || len(c.reads) != 0 {
		t.Fatalf("played %v reads %v", c.played, c.reads)
	}
	if len(c.enqueued) != 1 || c.enqueued[0].QueueID != queueA || c.enqueued[0].Priority != 7 || c.enqueued[0].Vars["caller"] != "+34600000001" {
		t.Fatalf("enqueued %+v", c.enqueued)
	}
	if res.QueueID != queueA || res.Visits["main"] != 1 {
		t.Fatalf("result %+v", res)
	}
	if got := counter(t, reg, "atende_flow_node_visits_total", map[string]string{"kind": "menu", "result": "option"}); got != 1 {
		t.Fatalf("menu option visits %v", got)
	}
	if got := counter(t, reg, "atende_flow_outcomes_total", map[string]string{"outcome": "answered"}); got != 1 {
		t.Fatalf("answered outcomes %v", got)
	}
}

func TestMenuRetriesThenFallback(t *testing.T) {
	f := mustFlow(t, menuFlow)
	c := &scriptedCall{script: []string{"", "9", ""}}
	res := (&Engine{}).Run(context.Background(), f, c, Input{})
	if res.Outcome != OutcomeHangup || nodes(res) != "welcome>next main>fallback bye>end" {
		t.Fatalf("outcome %s trace %s", res.Outcome, nodes(res))
	}
	want := []string{"en/welcome", "en/menu", "en/no_input", "en/menu", "en/invalid", "en/menu", "en/goodbye"}
	if !slices.Equal(c.played, want) {
		t.Fatalf("played %v\nwant   %v", c.played, want)
	}
	if !slices.Equal(c.reads, []string{"1/5s/", "1/5s/", "1/5s/"}) || !c.hungUp {
		t.Fatalf("reads %v hung up %v", c.reads, c.hungUp)
	}
	if res.Trace[1].Detail != "no_input" {
		t.Fatalf("fallback detail %q", res.Trace[1].Detail)
	}
}

func TestLanguageNodeSwitchesPrompts(t *testing.T) {
	f := mustFlow(t, menuFlow)
	c := &scriptedCall{script: []string{"2"}, outcome: QueueAnswered}
	res := (&Engine{}).Run(context.Background(), f, c, Input{})
	if res.Language != "es" || !slices.Equal(c.langs, []string{"en", "es"}) {
		t.Fatalf("language %s calls %v", res.Language, c.langs)
	}
	if !slices.Equal(c.played[len(c.played)-2:], []string{"es/welcome", "es/please_wait"}) || c.enqueued[0].Language != "es" {
		t.Fatalf("played %v", c.played)
	}
}

func TestCallerHangsUpInMenu(t *testing.T) {
	f := mustFlow(t, menuFlow)
	c := &scriptedCall{}
	res := (&Engine{}).Run(context.Background(), f, c, Input{})
	if res.Outcome != OutcomeCallerHangup || len(c.enqueued) != 0 {
		t.Fatalf("outcome %s", res.Outcome)
	}
}

func TestCollectValidatesAndStores(t *testing.T) {
	f := mustFlow(t, `{"name": "t", "language": "pt-BR", "entry": "cpf", "nodes": {
	  "cpf": {"kind": "collect", "prompts": ["enter_document"], "min_digits": 11, "max_digits": 11, "check": "cpf", "variable": "cpf",
	          "retries": 1, "timeout_sec": 8, "next": "say", "branches": {"fallback": "bye"}},
	  "say": {"kind": "play", "prompts": ["digits:{{cpf}}"], "next": "bye"},
	  "bye": {"kind": "hangup"}
	}}`)
	c := &scriptedCall{script: []string{"52998224724#", "!5", "2998224725"}}
	res := (&Engine{}).Run(context.Background(), f, c, Input{})
	if res.Outcome != OutcomeHangup || res.Vars["cpf"] != "52998224725" || nodes(res) != "cpf>next say>next bye>end" {
		t.Fatalf("outcome %s vars %v trace %s", res.Outcome, res.Vars, nodes(res))
	}
	// A key pressed during the "invalid" prompt starts the second entry.
	if !slices.Equal(c.reads, []string{"11/8s/#", "10/8s/#"}) {
		t.Fatalf("reads %v", c.reads)
	}
	if !slices.Contains(c.played, "pt-BR/invalid") || c.played[len(c.played)-1] != "pt-BR/n_5" {
		t.Fatalf("played %v", c.played)
	}
}

func TestCollectPatternAndFallback(t *testing.T) {
	f := mustFlow(t, `{"name": "t", "entry": "acct", "nodes": {
	  "acct": {"kind": "collect", "prompts": ["enter_account"], "min_digits": 4, "max_digits": 6, "pattern": "9[0-9]+", "variable": "acct",
	           "next": "ok", "branches": {"fallback": "bye"}},
	  "ok": {"kind": "hangup"}, "bye": {"kind": "hangup", "prompts": ["goodbye"]}
	}}`)
	c := &scriptedCall{script: []string{"123456"}}
	res := (&Engine{}).Run(context.Background(), f, c, Input{})
	if nodes(res) != "acct>fallback bye>end" || res.Vars["acct"] != "" {
		t.Fatalf("trace %s vars %v", nodes(res), res.Vars)
	}
	c = &scriptedCall{script: []string{"91234"}}
	if res = (&Engine{}).Run(context.Background(), f, c, Input{}); res.Vars["acct"] != "91234" {
		t.Fatalf("vars %v", res.Vars)
	}
}

func TestHoursBranches(t *testing.T) {
	f := mustFlow(t, `{"name": "t", "entry": "h", "nodes": {
	  "h": {"kind": "hours", "queue_id": "`+queueA+`", "branches": {"open": "open", "closed": "closed", "holiday": "holiday"}},
	  "open": {"kind": "hangup"}, "closed": {"kind": "hangup", "prompts": ["out_of_hours"]}, "holiday": {"kind": "hangup", "prompts": ["holiday"]}
	}}`)
	madrid, _ := time.LoadLocation("Europe/Madrid")
	cal := &atende.Calendar{Weekly: []atende.OpenHours{{Day: time.Monday, Open: "09:00", Close: "18:00"}},
		Holidays: []atende.Holiday{{Date: "2026-12-08", Name: "Inmaculada"}}}
	in := Input{Location: madrid, Calendar: func(_ context.Context, q string) (*atende.Calendar, error) {
		if q != queueA {
			return nil, errors.New("unknown queue")
		}
		return cal, nil
	}}
	cases := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 11, 30, 8, 30, 0, 0, time.UTC), "h>open open>end"},       // Monday 09:30 in Madrid
		{time.Date(2026, 11, 30, 17, 30, 0, 0, time.UTC), "h>closed closed>end"},  // Monday 18:30 in Madrid
		{time.Date(2026, 12, 7, 23, 30, 0, 0, time.UTC), "h>holiday holiday>end"}, // already the 8th in Madrid
		{time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC), "h>holiday holiday>end"},  // a Tuesday holiday
		{time.Date(2026, 12, 14, 7, 59, 0, 0, time.UTC), "h>closed closed>end"},   // 08:59 in Madrid
	}
	for _, tc := range cases {
		res := (&Engine{Clock: fixedClock{tc.at}}).Run(context.Background(), f, &scriptedCall{}, in)
		if nodes(res) != tc.want {
			t.Errorf("%s: %s, want %s", tc.at, nodes(res), tc.want)
		}
	}
	// No way to read the queue's calendar: closed, and the trace says why.
	res := (&Engine{Clock: fixedClock{cases[0].at}}).Run(context.Background(), f, &scriptedCall{}, Input{})
	if nodes(res) != "h>closed closed>end" || res.Trace[0].Detail == "" {
		t.Fatalf("no calendar: %s %+v", nodes(res), res.Trace[0])
	}
}

func TestSetAndSayNumber(t *testing.T) {
	f := mustFlow(t, `{"name": "t", "language": "es", "entry": "s", "nodes": {
	  "s": {"kind": "set", "set": {"pos": "45", "who": "{{caller}}"}, "next": "p"},
	  "p": {"kind": "play", "prompts": ["queue_position", "number:{{pos}}", "number:{{who}}"], "next": "bye"},
	  "bye": {"kind": "hangup"}
	}}`)
	c := &scriptedCall{}
	res := (&Engine{}).Run(context.Background(), f, c, Input{Caller: "x"})
	if res.Vars["who"] != "x" {
		t.Fatalf("vars %v", res.Vars)
	}
	// "x" is no number: that prompt is skipped, the rest plays.
	if !slices.Equal(c.played, []string{"es/queue_position", "es/n_40", "es/n_and", "es/n_5"}) {
		t.Fatalf("played %v", c.played)
	}
}

func httpFlow(url string, timeout int) string {
	return `{"name": "t", "entry": "look", "nodes": {
	  "look": {"kind": "http", "url": "` + url + `", "timeout_sec": ` + itoa(timeout) + `,
	           "extract": {"name": "customer.name", "vip": "customer.vip", "first": "orders.0.id", "none": "customer.nothing"},
	           "branches": {"ok": "ok", "error": "err", "timeout": "slow"}},
	  "ok": {"kind": "hangup"}, "err": {"kind": "hangup"}, "slow": {"kind": "hangup"}
	}}`
}

func TestHTTPLookup(t *testing.T) {
	var gotQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			<-r.Context().Done()
			return
		case "/fail":
			http.Error(w, "no", http.StatusServiceUnavailable)
			return
		case "/post":
			var in struct{ Phone string }
			if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&in) != nil {
				http.Error(w, "bad", http.StatusBadRequest)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"customer": map[string]string{"name": in.Phone}})
			return
		}
		gotQuery = r.URL.Query().Get("phone")
		_, _ = w.Write([]byte(`{"customer": {"name": "Ana Ruiz", "vip": true}, "orders": [{"id": 1234567890123}]}`))
	}))
	defer srv.Close()
	e := &Engine{HTTP: webhook.NewClient(&webhook.Guard{AllowLoopback: true}, 5*time.Second), Guard: &webhook.Guard{AllowLoopback: true}}
	in := Input{Caller: "+34 600&x"}

	res := e.Run(context.Background(), mustFlow(t, httpFlow(srv.URL+"/c?phone={{caller}}", 2)), &scriptedCall{}, in)
	if nodes(res) != "look>ok ok>end" || gotQuery != "+34 600&x" {
		t.Fatalf("trace %s query %q", nodes(res), gotQuery)
	}
	if v := res.Vars; v["name"] != "Ana Ruiz" || v["vip"] != "true" || v["first"] != "1234567890123" || v["none"] != "" || v["http_status"] != "200" {
		t.Fatalf("vars %v", v)
	}
	// A POST body gets its variables JSON-escaped.
	post := mustFlow(t, httpFlow(srv.URL+"/post", 2))
	n := post.Nodes["look"]
	n.Method, n.Body = "POST", `{"phone": "{{caller}}"}`
	post.Nodes["look"] = n
	res = e.Run(context.Background(), post, &scriptedCall{}, Input{Caller: `+34 "600"\`})
	if nodes(res) != "look>ok ok>end" || res.Vars["name"] != `+34 "600"\` {
		t.Fatalf("post: %s %v", nodes(res), res.Vars)
	}
	res = e.Run(context.Background(), mustFlow(t, httpFlow(srv.URL+"/fail", 2)), &scriptedCall{}, in)
	if nodes(res) != "look>error err>end" || res.Vars["http_status"] != "503" {
		t.Fatalf("503: %s %v", nodes(res), res.Vars)
	}
	res = e.Run(context.Background(), mustFlow(t, httpFlow(srv.URL+"/slow", 1)), &scriptedCall{}, in)
	if nodes(res) != "look>timeout slow>end" {
		t.Fatalf("slow: %s", nodes(res))
	}
	// The SSRF guard of webhooks applies: loopback is refused unless allowed.
	strict := &Engine{HTTP: webhook.NewClient(&webhook.Guard{}, 5*time.Second), Guard: &webhook.Guard{}}
	gotQuery = ""
	res = strict.Run(context.Background(), mustFlow(t, httpFlow(srv.URL+"/c?phone=1", 2)), &scriptedCall{}, in)
	if nodes(res) != "look>error err>end" || gotQuery != "" || !strings.Contains(res.Trace[0].Detail, "public addresses") {
		t.Fatalf("guarded: %s %q %+v", nodes(res), gotQuery, res.Trace[0])
	}
}

func TestStepLimitStopsLoops(t *testing.T) {
	f := mustFlow(t, `{"name": "t", "entry": "a", "nodes": {
	  "a": {"kind": "set", "set": {"x": "1"}, "next": "b"}, "b": {"kind": "set", "set": {"x": "2"}, "next": "a"}
	}}`)
	c := &scriptedCall{}
	res := (&Engine{MaxSteps: 10}).Run(context.Background(), f, c, Input{})
	if res.Outcome != OutcomeStepLimit || len(res.Trace) != 10 || !c.hungUp || res.Visits["a"] != 5 {
		t.Fatalf("outcome %s steps %d hung up %v", res.Outcome, len(res.Trace), c.hungUp)
	}
	if c.played[0] != "es/technical_problem" {
		t.Fatalf("played %v", c.played)
	}
}

const endsFlow = `{"name": "t", "language": "en", "entry": "m", "nodes": {
  "m": {"kind": "menu", "prompts": ["menu"], "options": {"1": "q", "2": "cb", "3": "xfer", "4": "vm"}},
  "q": {"kind": "queue", "queue_id": "` + queueA + `", "branches": {"failed": "cb"}},
  "cb": {"kind": "callback", "queue_id": "` + queueA + `", "branches": {"declined": "vm"}},
  "xfer": {"kind": "transfer", "number": "+5511999990000", "prompts": ["transferring"]},
  "vm": {"kind": "voicemail", "max_sec": 60}
}}`

func TestEndings(t *testing.T) {
	f := mustFlow(t, endsFlow)
	cases := []struct {
		name    string
		call    *scriptedCall
		outcome Outcome
		trace   string
		check   func(t *testing.T, c *scriptedCall, r *Result)
	}{
		{"queue refuses, callback accepted", &scriptedCall{script: []string{"!1", "!1"}, outcome: QueueFailed}, OutcomeCallback,
			"m>option:1 q>failed cb>accepted", func(t *testing.T, c *scriptedCall, r *Result) {
				if !slices.Equal(c.callbacks, []string{queueA}) || !slices.Contains(c.played, "en/callback_confirm") || !c.hungUp {
					t.Fatalf("callbacks %v played %v", c.callbacks, c.played)
				}
			}},
		{"callback declined to voicemail", &scriptedCall{script: []string{"2", "9"}}, OutcomeVoicemail,
			"m>option:2 cb>declined vm>end", func(t *testing.T, c *scriptedCall, r *Result) {
				if !slices.Equal(c.recorded, []int{60}) || r.VoicemailID == "" || !slices.Contains(c.played, "en/voicemail_saved") {
					t.Fatalf("recorded %v %q played %v", c.recorded, r.VoicemailID, c.played)
				}
			}},
		{"queue's action sends to voicemail", &scriptedCall{script: []string{"1"}, outcome: QueueVoicemail}, OutcomeVoicemail,
			"m>option:1 q>voicemail", func(t *testing.T, c *scriptedCall, r *Result) {
				if !slices.Equal(c.recorded, []int{120}) {
					t.Fatalf("recorded %v", c.recorded)
				}
			}},
		{"queue enqueue error counts as failed", &scriptedCall{script: []string{"1", ""}, enqueueErr: errors.New("down")}, OutcomeVoicemail,
			"m>option:1 q>failed cb>declined vm>end", nil},
		{"caller leaves the queue", &scriptedCall{script: []string{"1"}, outcome: QueueHangup}, OutcomeCallerHangup, "m>option:1 q>caller_hangup", nil},
		{"transfer", &scriptedCall{script: []string{"3"}}, OutcomeTransferred, "m>option:3 xfer>end", func(t *testing.T, c *scriptedCall, r *Result) {
			if !slices.Equal(c.transfers, []string{"+5511999990000"}) {
				t.Fatalf("transfers %v", c.transfers)
			}
		}},
		{"transfer fails", &scriptedCall{script: []string{"3"}, transferErr: errors.New("486 busy")}, OutcomeHangup, "m>option:3 xfer>failed",
			func(t *testing.T, c *scriptedCall, r *Result) {
				if !c.hungUp || r.Trace[1].Detail != "486 busy" || !slices.Contains(c.played, "en/technical_problem") {
					t.Fatalf("%v %+v %v", c.hungUp, r.Trace[1], c.played)
				}
			}},
		{"menu without fallback hangs up", &scriptedCall{script: []string{"7"}}, OutcomeHangup, "m>fallback", func(t *testing.T, c *scriptedCall, r *Result) {
			if !slices.Equal(c.played, []string{"en/menu", "en/invalid", "en/goodbye"}) {
				t.Fatalf("played %v", c.played)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := (&Engine{}).Run(context.Background(), f, tc.call, Input{})
			if res.Outcome != tc.outcome || nodes(res) != tc.trace {
				t.Fatalf("outcome %s trace %q; want %s %q", res.Outcome, nodes(res), tc.outcome, tc.trace)
			}
			if tc.check != nil {
				tc.check(t, tc.call, res)
			}
		})
	}
}

func TestBrazilPresetRuns(t *testing.T) {
	f, err := atende.PresetFlow("brazil", "SAC", "", queueA)
	if err != nil {
		t.Fatal(err)
	}
	c := &scriptedCall{script: []string{"2"}, outcome: QueueAnswered}
	open := &atende.Calendar{}
	res := (&Engine{}).Run(context.Background(), f, c, Input{Calendar: func(context.Context, string) (*atende.Calendar, error) { return open, nil }})
	if res.Outcome != OutcomeAnswered || c.enqueued[0].Vars["reason"] != "cancellation" {
		t.Fatalf("outcome %s vars %v trace %s", res.Outcome, c.enqueued, nodes(res))
	}
	want := []string{"pt-BR/welcome", "pt-BR/menu_complaint", "pt-BR/menu_cancellation", "pt-BR/menu_agent"}
	if !slices.Equal(c.played[:4], want) {
		t.Fatalf("played %v", c.played)
	}
}

// BenchmarkRunMenuToQueue measures the interpreter's own cost for a call
// through a greeting, a menu and a queue (the media is scripted).
func BenchmarkRunMenuToQueue(b *testing.B) {
	var f atende.Flow
	if err := json.Unmarshal([]byte(menuFlow), &f); err != nil {
		b.Fatal(err)
	}
	if err := f.Validate(); err != nil {
		b.Fatal(err)
	}
	e := &Engine{Metrics: NewMetrics(nil)}
	b.ReportAllocs()
	for b.Loop() {
		c := &scriptedCall{script: []string{"", "1"}, outcome: QueueAnswered}
		if r := e.Run(context.Background(), &f, c, Input{Caller: "+34600000001"}); r.Outcome != OutcomeAnswered {
			b.Fatal(r.Outcome)
		}
	}
}
