package i18n

import (
	"slices"
	"strings"
	"testing"
)

func TestCataloguesHaveTheSameKeys(t *testing.T) {
	en := Keys("en")
	slices.Sort(en)
	for _, lang := range Languages[1:] {
		got := Keys(lang)
		slices.Sort(got)
		if !slices.Equal(en, got) {
			t.Errorf("catalogue %s keys differ from en:\n en: %v\n %s: %v", lang, en, lang, got)
		}
		for _, k := range got {
			if strings.Count(T(lang, k), "%") != strings.Count(T("en", k), "%") {
				t.Errorf("%s %s: format verbs differ from en", lang, k)
			}
		}
	}
}

func TestNegotiate(t *testing.T) {
	for _, c := range []struct{ header, fallback, want string }{
		{"pt-BR,pt;q=0.9", "en", "pt-BR"},
		{"pt-PT", "en", "pt-BR"},
		{"es-MX,es;q=0.8,en;q=0.5", "en", "es"},
		{"de-DE", "es", "es"},
		{"", "pt-BR", "pt-BR"},
		{"", "", "en"},
		{"en-GB", "es", "en"},
		{";;;garbage", "es", "es"},
	} {
		if got := Negotiate(c.header, c.fallback); got != c.want {
			t.Errorf("Negotiate(%q, %q) = %q, want %q", c.header, c.fallback, got, c.want)
		}
	}
	if T("es", "login.wait", 30) != "Demasiados intentos fallidos; inténtalo de nuevo en 30 segundos" {
		t.Errorf("T formatted %q", T("es", "login.wait", 30))
	}
	if T("xx", "problem.not_found") != "Not found" || T("en", "no.such.key") != "no.such.key" {
		t.Error("fallbacks wrong")
	}
}
