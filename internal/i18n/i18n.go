// Package i18n holds the catalogue of user-facing text in every language
// atende speaks (es, pt-BR, en) and picks a language for a request.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"

	"golang.org/x/text/language"
)

//go:embed catalog/*.json
var files embed.FS

// Languages atende is translated to; the first is the fallback.
var Languages = []string{"en", "es", "pt-BR"}

var (
	catalog = map[string]map[string]string{}
	matcher = language.NewMatcher([]language.Tag{language.English, language.Spanish, language.BrazilianPortuguese})
)

func init() {
	for _, lang := range Languages {
		b, err := files.ReadFile("catalog/" + lang + ".json")
		if err != nil {
			panic(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("catalog %s: %v", lang, err))
		}
		catalog[lang] = m
	}
}

// T returns the text for key in lang, formatted with args, falling back to
// English and then to the key itself.
func T(lang, key string, args ...any) string {
	s, ok := catalog[lang][key]
	if !ok {
		s, ok = catalog["en"][key]
	}
	if !ok {
		s = key
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Negotiate picks the best language for an Accept-Language header, falling
// back to fallback (a tenant's or user's default) and then English.
func Negotiate(acceptLanguage, fallback string) string {
	if strings.TrimSpace(acceptLanguage) != "" {
		tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
		if err == nil && len(tags) > 0 {
			_, i, conf := matcher.Match(tags...)
			if conf != language.No {
				return Languages[i]
			}
		}
	}
	for _, l := range Languages {
		if l == fallback {
			return l
		}
	}
	return "en"
}

// Keys returns every key of a language's catalogue (for tests).
func Keys(lang string) []string {
	keys := make([]string, 0, len(catalog[lang]))
	for k := range catalog[lang] {
		keys = append(keys, k)
	}
	return keys
}
