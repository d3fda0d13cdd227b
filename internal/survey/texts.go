package survey

import (
	"strconv"
	"strings"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/i18n"
)

// Question returns the question of kind in lang: the tenant's own, else the
// catalogue's, with {{tenant}} replaced by the tenant's name.
func Question(set *atende.SurveySettings, kind, lang, tenantName string) string {
	q := ""
	if set != nil {
		q = set.Question(kind, lang)
	}
	if q == "" {
		q = i18n.T(lang, "survey.question."+kind)
	}
	return strings.ReplaceAll(q, "{{tenant}}", tenantName)
}

// Scores lists the scores of a kind, lowest first.
func Scores(kind string) []int {
	if kind == atende.SurveyKindNPS {
		return []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	}
	return []int{1, 2, 3, 4, 5}
}

// ValidScore reports whether score answers kind.
func ValidScore(kind string, score int) bool {
	s := Scores(kind)
	return score >= s[0] && score <= s[len(s)-1]
}

// ScoreLabel is how a score reads to the customer: "5 - Very satisfied" for
// the ends of the scale, the number otherwise.
func ScoreLabel(kind, lang string, score int) string {
	s := Scores(kind)
	n := strconv.Itoa(score)
	switch score {
	case s[0]:
		return n + " - " + i18n.T(lang, "survey.scale."+kind+".low")
	case s[len(s)-1]:
		return n + " - " + i18n.T(lang, "survey.scale."+kind+".high")
	}
	return n
}

// fill replaces the {{name}} placeholders of a catalogue text.
func fill(text string, vars map[string]string) string {
	for k, v := range vars {
		text = strings.ReplaceAll(text, "{{"+k+"}}", v)
	}
	return text
}
