package httpapi

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/email"
)

// routesEmailView serves an email's sanitised HTML as a document of its own,
// for the desktop's sandboxed iframe. It cannot be an iframe srcdoc: a
// srcdoc document inherits the app's Content-Security-Policy, which allows
// no remote images, so "show remote images" could never work there. Served
// here, the frame gets a policy of its own: images from atende and data:
// only, plus http(s) when the agent asked for remote images.
func (s *Server) routesEmailView() {
	st := s.cfg.Store
	s.handle(route{Method: "GET", Path: "/conversations/{id}/events/{seq}/email", Perm: atende.PermConversationsRead, Tag: "email",
		Summary: "An email timeline entry's sanitised HTML as a text/html document for a sandboxed frame: cid: images point at the media, remote images stay blocked unless remote_images=true",
		Query:   []param{{"remote_images", "boolean", "load the message's remote images (default false: they stay blocked)"}},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
			if err != nil || seq < 1 {
				return atende.Errorf(atende.ENotFound, "not found")
			}
			evs, err := st.Timeline(r.Context(), p.TenantID, id, seq-1, 1)
			if err != nil {
				return err
			}
			if len(evs) == 0 || evs[0].Seq != seq || evs[0].Channel != atende.ChannelEmail {
				return atende.Errorf(atende.ENotFound, "no email at that position of the conversation")
			}
			var data struct {
				Email *email.EventData `json:"email"`
			}
			if err := json.Unmarshal(evs[0].Data, &data); err != nil || data.Email == nil || data.Email.Message == nil {
				return atende.Errorf(atende.ENotFound, "that entry is not an email")
			}
			remote := r.URL.Query().Get("remote_images") == "true"
			doc := emailDocument(data.Email.Message, remote)
			imgSrc := "'self' data:"
			if remote {
				imgSrc += " https: http:"
			}
			h := w.Header()
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Cache-Control", "private, no-store")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("X-Frame-Options", "SAMEORIGIN")
			// No scripts at all (default-src 'none', and a sandbox without
			// allow-scripts); allow-same-origin only lets the desktop measure
			// the frame and fold the quoted history from outside.
			h.Set("Content-Security-Policy", "default-src 'none'; img-src "+imgSrc+"; style-src 'unsafe-inline'; "+
				"base-uri 'none'; form-action 'none'; frame-ancestors 'self'; "+
				"sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox")
			w.WriteHeader(http.StatusOK)
			_, err = w.Write([]byte(doc))
			return err
		}})
}

var (
	remoteSrc = regexp.MustCompile(`(src=")` + email.RemoteScheme + `:([^"]*)(")`)
	cidSrc    = regexp.MustCompile(`(?i)(src=")cid:([^"]+)(")`)
)

// emailDocument wraps the sanitised HTML in a page: cid: references become
// the inline part's media URL, and atende-remote: URLs turn back into the
// remote ones only when remote is set (otherwise they load nothing).
func emailDocument(m *email.Message, remote bool) string {
	body := cidSrc.ReplaceAllStringFunc(m.HTML, func(s string) string {
		g := cidSrc.FindStringSubmatch(s)
		cid := html.UnescapeString(g[2])
		if u, err := url.PathUnescape(cid); err == nil {
			cid = u
		}
		for _, p := range m.Parts {
			if p.ContentID != "" && p.MediaID != "" && strings.EqualFold(p.ContentID, cid) {
				return g[1] + apiPrefix + "/media/" + p.MediaID + g[3]
			}
		}
		return s
	})
	// A blocked image becomes an empty placeholder, so the frame neither
	// requests it nor reports a policy violation.
	const blank = `src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7" data-remote-image=""`
	body = remoteSrc.ReplaceAllStringFunc(body, func(s string) string {
		if !remote {
			return blank
		}
		g := remoteSrc.FindStringSubmatch(s)
		orig, err := url.QueryUnescape(html.UnescapeString(g[2]))
		if err != nil {
			return blank
		}
		u, err := url.Parse(orig)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return blank
		}
		return g[1] + html.EscapeString(u.String()) + g[3]
	})
	return `<!doctype html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">` +
		`<style>html{color-scheme:light}body{margin:0;padding:12px 14px;font:14px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;` +
		`color:#1f2933;background:#fff;overflow-wrap:anywhere}img{max-width:100%;height:auto}table{max-width:100%}` +
		`blockquote{margin:.5em 0 .5em .25em;padding-left:.75em;border-left:3px solid #cbd2d9;color:#52606d}` +
		`img[data-remote-image]{display:inline-block;min-width:16px;min-height:16px;background:#eef2f6;outline:1px dashed #9aa5b1}</style>` +
		`</head><body>` + body + `</body></html>`
}
