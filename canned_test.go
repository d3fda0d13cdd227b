package atende

import (
	"strings"
	"testing"
)

func TestCannedResponseValidate(t *testing.T) {
	owner := NewID()
	valid := func() CannedResponse {
		return CannedResponse{Scope: CannedPersonal, OwnerID: owner, Shortcut: "saludo", Title: "Saludo", Body: "Hola {{contact.first_name}}"}
	}
	for _, tc := range []struct {
		name   string
		change func(*CannedResponse)
		field  string // "" when valid
	}{
		{"personal with owner", func(c *CannedResponse) {}, ""},
		{"tenant drops the owner", func(c *CannedResponse) { c.Scope = CannedTenant }, ""},
		{"unicode letters, digits, dash and underscore", func(c *CannedResponse) { c.Shortcut = "atención_2-b" }, ""},
		{"a leading slash is what people type", func(c *CannedResponse) { c.Shortcut = "/hola" }, ""},
		{"32 characters", func(c *CannedResponse) { c.Shortcut = strings.Repeat("a", 32) }, ""},
		{"33 characters", func(c *CannedResponse) { c.Shortcut = strings.Repeat("a", 33) }, "shortcut"},
		{"empty shortcut", func(c *CannedResponse) { c.Shortcut = " " }, "shortcut"},
		{"space in shortcut", func(c *CannedResponse) { c.Shortcut = "buenos dias" }, "shortcut"},
		{"dot in shortcut", func(c *CannedResponse) { c.Shortcut = "a.b" }, "shortcut"},
		{"unknown scope", func(c *CannedResponse) { c.Scope = "team" }, "scope"},
		{"personal without owner", func(c *CannedResponse) { c.OwnerID = "" }, "owner_id"},
		{"no title", func(c *CannedResponse) { c.Title = "  " }, "title"},
		{"blank body", func(c *CannedResponse) { c.Body = " \n" }, "body"},
		{"body of 4000 characters", func(c *CannedResponse) { c.Body = strings.Repeat("ñ", 4000) }, ""},
		{"body of 4001 characters", func(c *CannedResponse) { c.Body = strings.Repeat("ñ", 4001) }, "body"},
		{"known language", func(c *CannedResponse) { c.Language = "pt-BR" }, ""},
		{"unknown language", func(c *CannedResponse) { c.Language = "fr" }, "language"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.change(&c)
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Code != EInvalid || e.Field != tc.field {
				t.Fatalf("Validate() = %v, want invalid %s", err, tc.field)
			}
		})
	}
}

func TestCannedResponseNormalises(t *testing.T) {
	c := CannedResponse{Scope: CannedTenant, OwnerID: NewID(), Shortcut: " /Saludo ", Title: " Saludo ", Body: "Hola"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Shortcut != "saludo" || c.Title != "Saludo" || c.OwnerID != "" {
		t.Fatalf("normalised to %+v", c)
	}
}

func TestRenderCanned(t *testing.T) {
	values := map[string]string{
		"contact.name": "María José López", "agent.name": "Ana Ruiz", "protocol": "20261125-000042",
		"tenant.name": "Acme", "queue.name": "",
	}
	for _, tc := range []struct{ body, want string }{
		{"Hola {{contact.first_name}}, soy {{agent.first_name}}.", "Hola María, soy Ana."},
		{"{{ contact.name }} / {{agent.name}}", "María José López / Ana Ruiz"},
		{"Protocolo {{protocol}} de {{tenant.name}}", "Protocolo 20261125-000042 de Acme"},
		{"Cola: [{{queue.name}}]", "Cola: []"},                       // known but missing: empty
		{"{{contact.nmae}} y {{foo}}", "{{contact.nmae}} y {{foo}}"}, // unknown: as typed
		{"{contact.name} {{contact.name", "{contact.name} {{contact.name"},
		{"sin variables", "sin variables"},
	} {
		if got := RenderCanned(tc.body, values); got != tc.want {
			t.Errorf("RenderCanned(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
	// An explicit first name wins over the one taken from the name.
	if got := RenderCanned("{{contact.first_name}}", map[string]string{"contact.name": "López, María", "contact.first_name": "María"}); got != "María" {
		t.Fatalf("explicit first name: %q", got)
	}
	if got := RenderCanned("[{{agent.first_name}}]", nil); got != "[]" {
		t.Fatalf("no values: %q", got)
	}
}
