package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/email"
	"github.com/atende/atende/internal/media"
)

const viewedMail = "From: Ana <ana@cliente.es>\r\n" +
	"To: soporte@tenant-a.es\r\n" +
	"Subject: Factura\r\n" +
	"Message-ID: <view-1@cliente.es>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/related; boundary=rel\r\n" +
	"\r\n" +
	"--rel\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"\r\n" +
	`<p>Hola <img src="https://tracker.example/p.png?a=1&amp;b=2" width="1"> <img src="cid:logo@cliente"></p>` +
	`<script>alert(1)</script><blockquote type="cite">antes</blockquote>` + "\r\n" +
	"--rel\r\n" +
	"Content-Type: image/png\r\n" +
	"Content-ID: <logo@cliente>\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"iVBORw0KGgo=\r\n" +
	"--rel--\r\n"

// importViewed imports viewedMail into tenant A and returns the
// conversation and the seq of its email entry.
func importViewed(t *testing.T, a *testAPI) (string, int64) {
	t.Helper()
	ctx := context.Background()
	ms, err := media.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mb, err := a.store.Mailbox(ctx, a.tenant["a"].ID, a.ids["mailbox"])
	if err != nil {
		t.Fatal(err)
	}
	im := &email.Importer{Store: a.store, Media: ms}
	res, err := im.Import(ctx, mb, email.Envelope{}, strings.NewReader(viewedMail), 0)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := a.store.Timeline(ctx, a.tenant["a"].ID, res.ConversationID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.ID == res.EventID {
			return res.ConversationID, e.Seq
		}
	}
	t.Fatalf("imported entry %s not in the timeline", res.EventID)
	return "", 0
}

func TestEmailViewBlocksRemoteImagesUntilAsked(t *testing.T) {
	a := newTestAPI(t)
	conv, seq := importViewed(t, a)
	path := fmt.Sprintf("%s/conversations/%s/events/%d/email", apiPrefix, conv, seq)

	resp := a.do("GET", path, a.tokens["agent"], nil, nil, nil)
	doc := readAll(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), doc)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "img-src 'self' data:;", "sandbox allow-same-origin", "frame-ancestors 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "allow-scripts") || strings.Contains(csp, "https:") {
		t.Errorf("policy %q allows too much", csp)
	}
	if got := resp.Header.Get("X-Frame-Options"); got != "SAMEORIGIN" {
		t.Errorf("X-Frame-Options %q", got)
	}
	if strings.Contains(doc, "tracker.example") || strings.Contains(doc, "atende-remote:") || !strings.Contains(doc, "data-remote-image") {
		t.Errorf("blocked document still names the remote image: %s", doc)
	}
	if strings.Contains(doc, "<script") || strings.Contains(doc, "cid:") || !strings.Contains(doc, `src="/api/v1/media/`) {
		t.Errorf("document: %s", doc)
	}
	if !strings.Contains(doc, `<blockquote type="cite">antes</blockquote>`) {
		t.Errorf("quoted history not kept whole: %s", doc)
	}

	resp = a.do("GET", path+"?remote_images=true", a.tokens["agent"], nil, nil, nil)
	doc = readAll(t, resp)
	if !strings.Contains(doc, `src="https://tracker.example/p.png?a=1&amp;b=2"`) {
		t.Errorf("remote image not restored: %s", doc)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: https: http:;") {
		t.Errorf("revealed policy %q", csp)
	}
}

func TestEmailViewNotFound(t *testing.T) {
	a := newTestAPI(t)
	conv, seq := importViewed(t, a)
	for name, path := range map[string]string{
		"a chat message":   fmt.Sprintf("/conversations/%s/events/1/email", a.ids["conversation"]),
		"past the end":     fmt.Sprintf("/conversations/%s/events/%d/email", conv, seq+50),
		"not a number":     fmt.Sprintf("/conversations/%s/events/x/email", conv),
		"another tenant's": fmt.Sprintf("/conversations/%s/events/%d/email", conv, seq),
	} {
		tok := a.tokens["agent"]
		if name == "another tenant's" {
			tok = a.tokens["b-admin"]
		}
		resp := a.do("GET", apiPrefix+path, tok, nil, nil, nil)
		body := readAll(t, resp)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "urn:atende:problem:"+string(atende.ENotFound)) {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
}
