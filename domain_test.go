package atende

import (
	"testing"
	"time"
)

func TestNormalizePhone(t *testing.T) {
	for _, c := range []struct{ in, region, want string }{
		{"612 345 678", "ES", "+34612345678"},
		{"+34 612-345-678", "BR", "+34612345678"},
		{"0034612345678", "US", "+34612345678"},
		{"(11) 98765-4321", "BR", "+5511987654321"},
		{"+55 11 9 8765 4321", "ES", "+5511987654321"},
		{"(212) 555-0199", "US", "+12125550199"},
		{"91 123 45 67", "ES", "+34911234567"},
		{"12", "ES", ""},
		{"612 345 678", "BR", ""},
		{"not a phone", "ES", ""},
	} {
		got, err := NormalizePhone(c.in, c.region)
		if c.want == "" {
			if err == nil {
				t.Errorf("NormalizePhone(%q, %s) = %q, want an error", c.in, c.region, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("NormalizePhone(%q, %s) = %q, %v; want %q", c.in, c.region, got, err, c.want)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"Ana.Lopez@Example.ES":  "ana.lopez@example.es",
		" joao@empresa.com.br ": "joao@empresa.com.br",
		"Ana <ana@x.es>":        "",
		"ana@":                  "",
		"ana@localhost":         "ana@localhost",
		"ana@nodot":             "",
		`"a b"@x.es`:            "",
	} {
		got, err := NormalizeEmail(in)
		if (want == "") != (err != nil) || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestFormatProtocolUsesTenantDay(t *testing.T) {
	madrid, _ := time.LoadLocation("Europe/Madrid")
	saoPaulo, _ := time.LoadLocation("America/Sao_Paulo")
	at := time.Date(2026, 11, 25, 23, 30, 0, 0, time.UTC) // already the 26th in Madrid
	if got := FormatProtocol(at, madrid, 42); got != "20261126-000042" {
		t.Errorf("Madrid: %s", got)
	}
	if got := FormatProtocol(at, saoPaulo, 1234567); got != "20261125-1234567" {
		t.Errorf("São Paulo: %s", got)
	}
}

func TestTenantValidateDefaults(t *testing.T) {
	tn := Tenant{Name: "Telefónica Atención Ñ"}
	if err := tn.Validate(); err != nil {
		t.Fatal(err)
	}
	if tn.Slug != "telefonica-atencion-n" || tn.Locale != "en-US" || tn.Language != "en" || tn.TimeZone != "UTC" {
		t.Fatalf("defaults: %+v", tn)
	}
	br := Tenant{Name: "Loja", Locale: "pt-BR", TimeZone: "America/Sao_Paulo"}
	if err := br.Validate(); err != nil || br.Language != "pt-BR" || Region(br.Locale) != "BR" {
		t.Fatalf("pt-BR tenant: %+v %v", br, err)
	}
	for _, bad := range []Tenant{{Name: ""}, {Name: "x", Slug: "-x"}, {Name: "x", Locale: "fr-FR"}, {Name: "x", TimeZone: "Mars/Base"}, {Name: "x", Language: "de"}} {
		if err := bad.Validate(); ErrorCode(err) != EInvalid {
			t.Errorf("%+v: %v, want invalid", bad, err)
		}
	}
}

func TestGrantsForScopesNarrowRoles(t *testing.T) {
	g := GrantsFor([]Role{RoleAgent}, []Permission{PermContactsRead, PermUsersManage})
	if !g[PermContactsRead] || g[PermUsersManage] || g[PermConversationsWrite] {
		t.Fatalf("scoped agent grants: %v", g)
	}
	both := GrantsFor([]Role{RoleQA, RolePlanner}, nil)
	if !both[PermConversationsRead] || !both[PermUsersRead] || both[PermConversationsWrite] {
		t.Fatalf("qa+planner grants: %v", both)
	}
}
