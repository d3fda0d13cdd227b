package webchat

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/atende/atende"
)

func TestTokenNamesOnlyItsConversation(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Now()
	c := Claims{TenantID: atende.NewID(), WidgetID: atende.NewID(), VisitorID: atende.NewID(), ConversationID: atende.NewID(), Expires: now.Add(time.Hour).Unix()}
	tok := Sign(key, c)
	if !strings.HasPrefix(tok, TokenPrefix) {
		t.Fatalf("token %q lacks the prefix", tok)
	}
	got, err := Verify(key, tok, now)
	if err != nil || got != c {
		t.Fatalf("verify: %+v %v", got, err)
	}
	if tn, ok := TenantOf(tok); !ok || tn != c.TenantID {
		t.Fatalf("tenant of: %q %v", tn, ok)
	}
	// Another conversation's id in the payload, same signature: refused.
	other := c
	other.ConversationID = atende.NewID()
	forged := Sign(key, other)
	payload, _, _ := strings.Cut(strings.TrimPrefix(forged, TokenPrefix), ".")
	_, sig, _ := strings.Cut(strings.TrimPrefix(tok, TokenPrefix), ".")
	for name, bad := range map[string]string{
		"swapped payload": TokenPrefix + payload + "." + sig,
		"other key":       Sign([]byte("another key, just as long as the first"), c),
		"no prefix":       strings.TrimPrefix(tok, TokenPrefix),
		"no signature":    TokenPrefix + payload,
		"garbage":         "vt_!!!.???",
		"empty":           "",
		"huge":            TokenPrefix + strings.Repeat("A", 5000),
	} {
		if _, err := Verify(key, bad, now); atende.ErrorCode(err) != atende.EUnauthorized {
			t.Errorf("%s: %v, want unauthorized", name, err)
		}
	}
	if _, err := Verify(key, tok, now.Add(2*time.Hour)); atende.ErrorCode(err) != atende.EUnauthorized {
		t.Errorf("expired token accepted: %v", err)
	}
}

func TestSanitizeHostilePayloads(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Hola, ¿me ayudan?", "Hola, ¿me ayudan?"},
		{"<script>alert(1)</script>hola", "hola"},
		{"<SCRIPT src=x>document.cookie</SCRIPT >after", "after"},
		{`<img src=x onerror="alert(1)">foto`, "foto"},
		{`<a href="javascript:alert(1)">clic</a>`, "clic"},
		{"javascript:alert(1)", "javascript :alert(1)"},
		{"JaVaScRiPt:alert(1)", "JaVaScRiPt :alert(1)"},
		{"data:text/html;base64,PHNjcmlwdD4=", "data :text/html;base64,PHNjcmlwdD4="},
		{"2 < 3 and 5 > 4", "2 < 3 and 5 > 4"},
		{"<style>body{display:none}</style>ok", "ok"},
		{"<!-- comment -->texto", "texto"},
		{"abc\u202Eevil\u202Cdef", "abcevildef"},
		{"a\u2066b\u2069c\u200Fd", "abcd"},
		{"line1\r\n\n\n\n\nline2", "line1\n\nline2"},
		{"nul\x00byte\x07", "nulbyte"},
		{"<b>negrita</b> y <i>cursiva</i>", "negrita y cursiva"},
		{"unterminated <script", "unterminated"},
		{"olá 👋🏽 日本語", "olá 👋🏽 日本語"},
	} {
		got, err := Sanitize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Sanitize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for name, in := range map[string]string{
		"only markup": "<script>alert(1)</script>",
		"only spaces": "  \n\t ",
		"bad utf-8":   "a\xffb",
		"too long":    strings.Repeat("á", MaxMessageRunes+1),
		"only bidi":   "\u202E\u202E",
	} {
		if _, err := Sanitize(in); atende.ErrorCode(err) != atende.EInvalid {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if got, err := Sanitize(strings.Repeat("ü", MaxMessageRunes)); err != nil || utf8.RuneCountInString(got) != MaxMessageRunes {
		t.Errorf("longest message refused: %v", err)
	}
}

// FuzzSanitize: whatever a visitor sends, what comes out is valid UTF-8 with
// no tag opener followed by a letter, no bidi overrides, no control
// characters but newlines, and no live javascript: scheme.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"hola", "<script>x</script>", "<img onerror=x>", "javascript:x", "a\u202Eb", "<<a>>", "<", "ja<b>vascript:x", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Sanitize(in)
		if err != nil {
			return
		}
		if !utf8.ValidString(out) || out == "" {
			t.Fatalf("Sanitize(%q) = %q", in, out)
		}
		for i := 0; i+1 < len(out); i++ {
			if out[i] == '<' && (isASCIILetter(out[i+1]) || out[i+1] == '/' || out[i+1] == '!') {
				t.Fatalf("Sanitize(%q) = %q keeps a tag", in, out)
			}
		}
		low := strings.ToLower(out)
		if strings.Contains(low, "javascript:") || strings.Contains(low, "vbscript:") {
			t.Fatalf("Sanitize(%q) = %q keeps a script scheme", in, out)
		}
		for _, r := range out {
			if isBidiControl(r) || (r != '\n' && r < 0x20) {
				t.Fatalf("Sanitize(%q) = %q keeps %U", in, out, r)
			}
		}
	})
}

func TestVisibleHidesNotesAndSystemEntries(t *testing.T) {
	evs := []atende.TimelineEvent{
		{Seq: 1, Kind: atende.KindMessage, Direction: "in", AuthorKind: "contact", Body: "hola", ClientID: "c1"},
		{Seq: 2, Kind: atende.KindNote, AuthorKind: "user", AuthorID: atende.NewID(), Body: "cliente difícil"},
		{Seq: 3, Kind: atende.KindAssignment, AuthorKind: "system"},
		{Seq: 4, Kind: atende.KindMessage, Direction: "out", AuthorKind: "user", AuthorID: atende.NewID(), Body: "¿en qué le ayudo?"},
	}
	got := Visible(evs)
	if len(got) != 2 || got[0].Author != "visitor" || got[0].ClientID != "c1" || got[1].Author != "agent" || got[1].Seq != 4 {
		t.Fatalf("visible: %+v", got)
	}
}

// TestSanitizeWorstCaseIsFast: markup built to make the stripper rescan
// stays fast at the size limit.
func TestSanitizeWorstCaseIsFast(t *testing.T) {
	start := time.Now()
	for _, in := range []string{
		strings.Repeat("<script>", MaxMessageRunes/8),
		strings.Repeat("<a", MaxMessageRunes/2),
		strings.Repeat("javascript:", MaxMessageRunes/11),
		strings.Repeat("İ<script>", MaxMessageRunes/9),
	} {
		Sanitize(in)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}
