package atende

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNormalizeIdentity: any input either fails with a field error or yields
// a canonical value that normalises to itself.
func FuzzNormalizeIdentity(f *testing.F) {
	for _, s := range []struct{ kind, network, value, region string }{
		{"phone", "", "612 345 678", "ES"}, {"phone", "", "(11) 98765-4321", "BR"}, {"phone", "", "+1 212 555 0199", "US"},
		{"phone", "", "0034612345678", "ES"}, {"email", "", "Ana@Example.COM", "ES"}, {"email", "", "\"a b\"@x.es", ""},
		{"chat", "", "visitor_12345678", ""}, {"social", "instagram", "@Ana.Lopez", ""}, {"social", "whatsapp", "+55 11 98765 4321", "BR"},
		{"phone", "", "+999999999999999999999", "ZZ"}, {"email", "", "a@b@c", ""},
	} {
		f.Add(s.kind, s.network, s.value, s.region)
	}
	f.Fuzz(func(t *testing.T, kind, network, value, region string) {
		id := Identity{Kind: IdentityKind(kind), Network: network, Value: value}
		if err := NormalizeIdentity(&id, region); err != nil {
			e, ok := err.(*Error)
			if !ok || e.Code != EInvalid || !strings.HasPrefix(e.Field, "identities.") {
				t.Fatalf("error %v is not a field error on identities", err)
			}
			return
		}
		if !utf8.ValidString(id.Value) || id.Value == "" {
			t.Fatalf("accepted %q as %q", value, id.Value)
		}
		again := id
		if err := NormalizeIdentity(&again, region); err != nil || again.Value != id.Value {
			t.Fatalf("%q normalised to %q, which normalises to %q (%v)", value, id.Value, again.Value, err)
		}
		if id.Kind == IdentityPhone && !strings.HasPrefix(id.Value, "+") {
			t.Fatalf("phone %q is not E.164: %q", value, id.Value)
		}
	})
}
