package atende

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

const exampleQueue = "0190a1b2-0000-7000-8000-000000000001"

func exampleFlow(t *testing.T) *Flow {
	t.Helper()
	var f Flow
	raw := `{
	  "name": "Main line", "language": "es", "entry": "welcome",
	  "nodes": {
	    "welcome": {"kind": "play", "prompts": ["welcome"], "next": "hours"},
	    "hours": {"kind": "hours", "hours": {"weekly": [{"day": 1, "open": "09:00", "close": "18:00"}], "holidays": [{"date": "2026-12-25", "name": "Navidad"}]},
	              "branches": {"open": "main", "closed": "closed", "holiday": "closed"}},
	    "main": {"kind": "menu", "prompts": ["menu"], "options": {"1": "account", "2": "lookup", "0": "queue"}, "branches": {"fallback": "queue"}},
	    "account": {"kind": "collect", "prompts": ["enter_account"], "max_digits": 16, "min_digits": 13, "check": "luhn", "variable": "card", "next": "queue"},
	    "lookup": {"kind": "http", "url": "https://crm.example.com/customers?phone={{caller}}", "extract": {"customer": "data.name"},
	               "branches": {"ok": "queue", "error": "queue"}},
	    "queue": {"kind": "queue", "queue_id": "` + exampleQueue + `", "priority": 5, "branches": {"failed": "closed"}},
	    "closed": {"kind": "hangup", "prompts": ["out_of_hours", "goodbye"]}
	  }
	}`
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		t.Fatal(err)
	}
	return &f
}

func TestFlowValidExampleFillsDefaults(t *testing.T) {
	f := exampleFlow(t)
	if issues := f.Check(); len(issues) != 0 {
		t.Fatalf("issues: %v", issues)
	}
	m := f.Nodes["main"]
	if m.TimeoutSec != 5 || m.Retries != 0 || !slices.Equal(m.InvalidPrompts, []string{"invalid"}) || !slices.Equal(m.NoInputPrompts, []string{"no_input"}) {
		t.Fatalf("menu defaults: %+v", m)
	}
	if c := f.Nodes["account"]; c.Terminator != "#" || c.TimeoutSec != 5 {
		t.Fatalf("collect defaults: %+v", c)
	}
	if h := f.Nodes["lookup"]; h.Method != "GET" || h.TimeoutSec != 3 {
		t.Fatalf("http defaults: %+v", h)
	}
	if got := f.QueueIDs(); !slices.Equal(got, []string{exampleQueue}) {
		t.Fatalf("queues %v", got)
	}
}

func TestFlowCheckReportsFieldPaths(t *testing.T) {
	cases := []struct {
		name   string
		change func(f *Flow)
		field  string
		msg    string
	}{
		{"unknown next", func(f *Flow) { n := f.Nodes["welcome"]; n.Next = "x"; f.Nodes["welcome"] = n }, "nodes.welcome.next", `unknown node "x"`},
		{"missing next", func(f *Flow) { n := f.Nodes["welcome"]; n.Next = ""; f.Nodes["welcome"] = n }, "nodes.welcome.next", "is required"},
		{"unknown entry", func(f *Flow) { f.Entry = "nowhere" }, "entry", `unknown node "nowhere"`},
		{"unknown option target", func(f *Flow) { f.Nodes["main"].Options["3"] = "ghost" }, "nodes.main.options.3", `unknown node "ghost"`},
		{"bad digit", func(f *Flow) { f.Nodes["main"].Options["12"] = "queue" }, "nodes.main.options", "is not a key"},
		{"field of another kind", func(f *Flow) { n := f.Nodes["welcome"]; n.Number = "+34910000000"; f.Nodes["welcome"] = n }, "nodes.welcome.number", "does not apply to a play node"},
		{"unknown kind", func(f *Flow) { f.Nodes["x"] = FlowNode{Kind: "dance"} }, "nodes.x.kind", "must be one of"},
		{"unknown prompt", func(f *Flow) { n := f.Nodes["welcome"]; n.Prompts = []string{"welcom"}; f.Nodes["welcome"] = n }, "nodes.welcome.prompts[0]", "not a prompt of the catalogue"},
		{"bad branch name", func(f *Flow) { f.Nodes["hours"].Branches["maybe"] = "main" }, "nodes.hours.branches.maybe", "is not a branch of a hours node"},
		{"required branch", func(f *Flow) { delete(f.Nodes["hours"].Branches, "closed") }, "nodes.hours.branches.closed", "is required"},
		{"bad hours", func(f *Flow) { f.Nodes["hours"].Hours.Weekly[0].Close = "08:00" }, "nodes.hours.hours.weekly[0].close", "after open"},
		{"bad pattern", func(f *Flow) { n := f.Nodes["account"]; n.Pattern = "(["; f.Nodes["account"] = n }, "nodes.account.pattern", "not a regular expression"},
		{"bad check", func(f *Flow) { n := f.Nodes["account"]; n.Check = "crc"; f.Nodes["account"] = n }, "nodes.account.check", "must be one of"},
		{"reserved variable", func(f *Flow) { n := f.Nodes["account"]; n.Variable = "caller"; f.Nodes["account"] = n }, "nodes.account.variable", "set by the call"},
		{"digits order", func(f *Flow) { n := f.Nodes["account"]; n.MaxDigits = 4; f.Nodes["account"] = n }, "nodes.account.max_digits", "between min_digits"},
		{"host variable", func(f *Flow) {
			n := f.Nodes["lookup"]
			n.URL = "https://{{caller}}.example.com/"
			f.Nodes["lookup"] = n
		}, "nodes.lookup.url", "host may not hold variables"},
		{"ftp url", func(f *Flow) { n := f.Nodes["lookup"]; n.URL = "ftp://example.com/x"; f.Nodes["lookup"] = n }, "nodes.lookup.url", "http:// or https://"},
		{"bad json path", func(f *Flow) { f.Nodes["lookup"].Extract["customer"] = "data..name" }, "nodes.lookup.extract.customer", "dotted path"},
		{"queue without id", func(f *Flow) { n := f.Nodes["queue"]; n.QueueID = ""; f.Nodes["queue"] = n }, "nodes.queue.queue_id", "is required"},
		{"transfer number", func(f *Flow) {
			f.Nodes["x"] = FlowNode{Kind: NodeTransfer, Number: "910000000"}
			f.Nodes["closed"].Prompts[0] = "goodbye"
		}, "nodes.x.number", "E.164"},
		{"language", func(f *Flow) { f.Language = "fr" }, "language", "must be one of"},
		{"bad node id", func(f *Flow) { f.Nodes["bad id"] = FlowNode{Kind: NodeHangup} }, "nodes.bad id", "node ids are"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := exampleFlow(t)
			c.change(f)
			err := f.Validate()
			e, ok := err.(*Error)
			if !ok || e.Code != EInvalid {
				t.Fatalf("Validate = %v, want a field error", err)
			}
			if e.Field != c.field || !strings.Contains(e.Message, c.msg) {
				t.Fatalf("got %s: %s; want %s: ...%s...", e.Field, e.Message, c.field, c.msg)
			}
		})
	}
}

func TestFlowUnreachableNodeIsAWarning(t *testing.T) {
	f := exampleFlow(t)
	f.Nodes["orphan"] = FlowNode{Kind: NodeHangup}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	issues := f.Check()
	if len(issues) != 1 || issues[0].Severity != "warning" || issues[0].Field != "nodes.orphan" {
		t.Fatalf("issues %v", issues)
	}
}

func TestPresetFlows(t *testing.T) {
	for _, name := range FlowPresets {
		f, err := PresetFlow(name, "Preset "+name, "", exampleQueue)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if issues := f.Check(); len(issues) != 0 {
			t.Fatalf("%s: %v", name, issues)
		}
		if !slices.Contains(f.QueueIDs(), exampleQueue) {
			t.Fatalf("%s does not reach the queue", name)
		}
	}
	br, _ := PresetFlow("brazil", "SAC", "", exampleQueue)
	if br.Language != "pt-BR" || br.Preset != PresetBrazil {
		t.Fatalf("brazil %+v", br)
	}
	menu := br.Nodes["menu"]
	if !slices.Equal(menu.Prompts, []string{"menu_complaint", "menu_cancellation", "menu_agent"}) || len(menu.Options) != 3 {
		t.Fatalf("brazil menu %+v", menu)
	}
	// The first menu must keep the SAC options on every later save.
	menu.Prompts = []string{"menu_complaint", "menu_agent"}
	br.Nodes["menu"] = menu
	err := br.Validate()
	if e, ok := err.(*Error); !ok || e.Field != "nodes.menu.prompts" || !strings.Contains(e.Message, "menu_cancellation") {
		t.Fatalf("brazil without cancellation: %v", err)
	}
	// A Brazil flow that skips the menu is refused too.
	br2, _ := PresetFlow("brazil", "SAC", "", exampleQueue)
	w := br2.Nodes["welcome"]
	w.Next = "hours"
	br2.Nodes["welcome"] = w
	if err := br2.Validate(); err == nil || !strings.Contains(err.Error(), "needs a menu before any queue node") {
		t.Fatalf("brazil without menu: %v", err)
	}
	es, _ := PresetFlow("spain", "Línea", "", exampleQueue)
	if es.Language != "es" || es.Preset != PresetSpain {
		t.Fatalf("spain %+v", es)
	}
	if _, err := PresetFlow("mars", "x", "", exampleQueue); err == nil {
		t.Fatal("unknown preset accepted")
	}
	if _, err := PresetFlow("basic", "x", "", "nope"); err == nil {
		t.Fatal("preset without a queue accepted")
	}
}

func TestCheckDigitSchemes(t *testing.T) {
	cases := []struct {
		scheme, digits string
		ok             bool
	}{
		{"luhn", "4539578763621486", true},
		{"luhn", "4539578763621487", false},
		{"luhn", "79927398713", true},
		{"luhn", "7", false},
		{"mod11", "2615339", true}, // 261533: weighted sum 90, 11 - 90 mod 11 = 9
		{"mod11", "2615338", false},
		{"mod11", "1", false},
		{"cpf", "52998224725", true},
		{"cpf", "52998224724", false},
		{"cpf", "11111111111", false},
		{"cpf", "5299822472", false},
		{"luhn", "45a9", false},
		{"nope", "0", false},
	}
	for _, c := range cases {
		if got := ValidCheckDigits(c.scheme, c.digits); got != c.ok {
			t.Errorf("%s(%s) = %v, want %v", c.scheme, c.digits, got, c.ok)
		}
	}
}

func TestRenderFlowTemplateEscapesValues(t *testing.T) {
	vars := map[string]string{"caller": "+34 600&x=1", "name": "Ana"}
	got := RenderFlowTemplate("https://crm.example.com/c?phone={{caller}}&n={{ name }}&z={{missing}}", vars, PathQueryEscape)
	want := "https://crm.example.com/c?phone=%2B34%20600%26x%3D1&n=Ana&z="
	if got != want {
		t.Fatalf("got %s want %s", got, want)
	}
	u, err := url.Parse(got)
	if err != nil || u.Query().Get("phone") != "+34 600&x=1" {
		t.Fatalf("round trip %v %v", u, err)
	}
}

func TestCalendarHoliday(t *testing.T) {
	loc, _ := time.LoadLocation("America/Sao_Paulo")
	c := Calendar{Holidays: []Holiday{{Date: "2026-11-20", Name: "Consciência Negra"}}}
	// 01:30 UTC on the 21st is still the 20th in São Paulo.
	h, ok := c.Holiday(time.Date(2026, 11, 21, 1, 30, 0, 0, time.UTC), loc)
	if !ok || h.Name != "Consciência Negra" {
		t.Fatalf("holiday %v %v", h, ok)
	}
	if _, ok := c.Holiday(time.Date(2026, 11, 21, 4, 0, 0, 0, time.UTC), loc); ok {
		t.Fatal("the 21st is no holiday")
	}
}

func FuzzFlowCheck(f *testing.F) {
	f.Add([]byte(`{"name":"x","entry":"a","nodes":{"a":{"kind":"hangup"}}}`))
	f.Add([]byte(`{"name":"x","entry":"a","nodes":{"a":{"kind":"menu","prompts":["menu"],"options":{"1":"a"}}}}`))
	f.Add([]byte(`{"name":"x","entry":"a","preset":"br","nodes":{"a":{"kind":"play","next":"a","prompts":["number:{{x}}"]}}}`))
	f.Add([]byte(`{"name":"x","entry":"h","nodes":{"h":{"kind":"http","url":"https://a/{{b}}","extract":{"v":"a.b"},"branches":{"ok":"h","error":"h"}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fl Flow
		if json.Unmarshal(b, &fl) != nil {
			return
		}
		issues := fl.Check()
		for _, is := range issues {
			if is.Field == "" || is.Message == "" || (is.Severity != "error" && is.Severity != "warning") {
				t.Fatalf("malformed issue %+v", is)
			}
		}
		if fl.Validate() == nil {
			// A valid flow keeps every target inside the flow and stays valid
			// after a JSON round trip.
			for id, n := range fl.Nodes {
				for _, to := range n.Targets() {
					if _, ok := fl.Nodes[to]; !ok {
						t.Fatalf("node %s leads to unknown %s", id, to)
					}
				}
			}
			again, _ := json.Marshal(fl)
			var fl2 Flow
			if err := json.Unmarshal(again, &fl2); err != nil {
				t.Fatal(err)
			}
			if err := fl2.Validate(); err != nil {
				t.Fatalf("valid flow invalid after round trip: %v", err)
			}
		}
	})
}
