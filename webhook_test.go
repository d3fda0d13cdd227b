package atende

import (
	"net/url"
	"strings"
	"testing"
)

func TestWebhookValidate(t *testing.T) {
	for _, tc := range []struct {
		url    string
		events []string
		field  string // "" valid
	}{
		{"https://hooks.example.com/in?x=1", []string{"task.*", "alert.*", "conversation.created", "*"}, ""},
		{"http://127.0.0.1:8080/in", nil, ""}, // form only: the delivery guard decides on http
		{"", nil, "url"},
		{"ftp://hooks.example.com", nil, "url"},
		{"https://", nil, "url"},
		{"https://u:p@hooks.example.com", nil, "url"},
		{"https://hooks.example.com/#x", nil, "url"},
		{"https://hooks.example.com/ in", nil, "url"},
		{"https://hooks.example.com:0/", nil, "url"},
		{"mailto:x@example.com", nil, "url"},
		{"https://hooks.example.com/" + strings.Repeat("a", MaxWebhookURL), nil, "url"},
		{"https://hooks.example.com", []string{"Task.Created"}, "events"},
		{"https://hooks.example.com", []string{"task.**"}, "events"},
		{"https://hooks.example.com", []string{"task..created"}, "events"},
		{"https://hooks.example.com", []string{".*"}, "events"},
		{"https://hooks.example.com", []string{""}, "events"},
	} {
		w := Webhook{URL: tc.url, Events: tc.events}
		err := w.Validate()
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%q %q: %v", tc.url, tc.events, err)
		case tc.field != "" && (err == nil || err.(*Error).Field != tc.field):
			t.Errorf("%q %q: %v, want an error on %s", tc.url, tc.events, err, tc.field)
		}
	}
}

func TestWebhookWants(t *testing.T) {
	w := Webhook{Events: []string{"task.*", "conversation.created"}}
	for typ, want := range map[string]bool{
		"task.created": true, "task.offer.accepted": true, "conversation.created": true,
		"conversation.updated": false, "taskforce.created": false, "task": false, "alert.raised": false,
	} {
		if w.Wants(typ) != want {
			t.Errorf("Wants(%q) = %v", typ, !want)
		}
	}
	if (&Webhook{}).Wants("task.created") {
		t.Error("a webhook with no events wants one")
	}
	if !(&Webhook{Events: []string{"*"}}).Wants("anything.at_all") {
		t.Error(`"*" does not want everything`)
	}
}

// FuzzWebhookValidate: whatever an administrator sends, validation does not
// panic, and what it accepts is an http(s) URL with a host and no
// credentials, and patterns of lower-case words.
func FuzzWebhookValidate(f *testing.F) {
	f.Add("https://hooks.example.com/in", "task.*")
	f.Add("http://[::1]:80/x?y#z", "*")
	f.Add("https://a@b/", "a.b.c")
	f.Add("HTTPS://EXAMPLE.COM", "task.")
	f.Add("https://%zz", ".*")
	f.Fuzz(func(t *testing.T, raw, pattern string) {
		w := Webhook{URL: raw, Events: []string{pattern}, Description: pattern}
		err := w.Validate()
		if ValidEventPattern(pattern) {
			typ := strings.TrimSuffix(pattern, "*") + "x"
			if pattern != "*" && !strings.HasSuffix(pattern, ".*") {
				typ = pattern
			}
			if !MatchEventPattern(pattern, typ) {
				t.Fatalf("pattern %q does not match %q", pattern, typ)
			}
		}
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("%q: %T is not a field error", raw, err)
			}
			return
		}
		u, perr := url.Parse(w.URL)
		if perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" || u.User != nil || strings.ContainsAny(w.URL, "# \t\n") {
			t.Fatalf("accepted %q", w.URL)
		}
		for _, p := range w.Events {
			for _, r := range strings.TrimSuffix(p, ".*") {
				if p != "*" && !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
					t.Fatalf("accepted pattern %q", p)
				}
			}
			if p != "*" && (strings.HasPrefix(p, ".") || strings.Contains(p, "..")) {
				t.Fatalf("accepted pattern %q", p)
			}
		}
	})
}
