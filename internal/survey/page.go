package survey

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strconv"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/i18n"
)

//go:embed pages/page.html pages/survey.css
var pageFiles embed.FS

var pageTmpl = template.Must(template.ParseFS(pageFiles, "pages/page.html"))

// CSS is the pages' one stylesheet, served at /s/survey.css: the pages have
// no inline styles or scripts, so their CSP can forbid both.
var CSS, _ = pageFiles.ReadFile("pages/survey.css")

// CSP is the pages' Content-Security-Policy: nothing but the stylesheet
// from this server, forms posting only here, no framing.
const CSP = "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// PageState is what a survey page says.
type PageState int

// Page states.
const (
	PageForm     PageState = iota // the question, the chosen score, a comment box
	PageThanks                    // the answer was stored
	PageAlready                   // the survey was answered before
	PageInvalid                   // forged, changed or expired link
	PageLimited                   // too many requests from this address
	PageError                     // a fault on our side
	PageBadScore                  // the form again, asking for a score
	PageTooLong                   // the form again: the comment is too long
)

// Page is one render of the public survey page.
type Page struct {
	State      PageState
	Lang       string
	TenantName string
	Token      string
	Kind       string
	Question   string
	Score      int // the chosen score; -1: none
	Comment    string
}

type pageScore struct {
	Value    int
	Label    string
	Selected bool
}

// Render writes the page with its status code and security headers.
func (p *Page) Render(w http.ResponseWriter) {
	lang := p.Lang
	if !atende.ValidLanguage(lang) {
		lang = "en"
	}
	t := func(key string) string { return i18n.T(lang, "survey.page."+key) }
	data := map[string]any{"Lang": lang, "TenantName": p.TenantName, "Title": t("title")}
	status := http.StatusOK
	switch p.State {
	case PageThanks:
		data["Message"] = t("thanks")
	case PageAlready:
		data["Message"], status = t("already"), http.StatusConflict
	case PageInvalid:
		data["Message"], data["Error"], status = t("invalid"), true, http.StatusNotFound
	case PageLimited:
		data["Message"], data["Error"], status = t("limited"), true, http.StatusTooManyRequests
	case PageError:
		data["Message"], data["Error"], status = t("error"), true, http.StatusInternalServerError
	case PageForm, PageBadScore, PageTooLong:
		switch {
		case p.State == PageBadScore:
			data["Message"], data["Error"], status = t("choose"), true, http.StatusBadRequest
		case p.State == PageTooLong:
			data["Message"], data["Error"], status = t("too_long"), true, http.StatusBadRequest
		case p.Score >= 0:
			data["Message"] = t("confirm")
		}
		var scores []pageScore
		for _, s := range Scores(p.Kind) {
			scores = append(scores, pageScore{Value: s, Label: ScoreLabel(p.Kind, lang, s), Selected: s == p.Score})
		}
		all := Scores(p.Kind)
		data["Form"], data["Token"], data["Question"], data["Scores"] = true, p.Token, p.Question, scores
		data["NPS"] = p.Kind == atende.SurveyKindNPS
		data["Low"] = strconv.Itoa(all[0]) + " = " + i18n.T(lang, "survey.scale."+p.Kind+".low")
		data["High"] = strconv.Itoa(all[len(all)-1]) + " = " + i18n.T(lang, "survey.scale."+p.Kind+".high")
		data["CommentLabel"], data["Send"], data["Comment"] = t("comment"), t("send"), p.Comment
	}
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, data); err != nil {
		http.Error(w, "survey page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", CSP)
	// The token in the address is the credential: never send it elsewhere.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex, nofollow")
	h.Set("Content-Language", lang)
	w.WriteHeader(status)
	w.Write(b.Bytes())
}
