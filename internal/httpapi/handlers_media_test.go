package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/store"
)

var pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 64)...)

// upload sends a raw-body file to path with a token (agent) or visitor token.
func (a *testAPI) upload(path, token, contentType string, body []byte, hdr map[string]string, out any) *http.Response {
	a.t.Helper()
	h := map[string]string{"Content-Type": contentType}
	for k, v := range hdr {
		h[k] = v
	}
	return a.do("POST", path, token, body, h, out)
}

// TestMediaUploadDownloadAndAttachments: an agent uploads files, the name is
// cleaned, a type the content contradicts is not believed, downloads carry
// headers that keep the browser from running them, and messages and notes
// carry attachments in their data.
func TestMediaUploadDownloadAndAttachments(t *testing.T) {
	a := newTestAPI(t)
	agent := a.tokens["agent"]

	var img mediaOutput
	if r := a.upload(apiPrefix+"/media?name="+url.QueryEscape("../../etc/<foto>.png"), agent, "image/png", pngBytes, nil, &img); r.StatusCode != 201 {
		t.Fatalf("upload: %d %s", r.StatusCode, readAll(t, r))
	}
	if img.Name != "_foto_.png" || img.ContentType != "image/png" || img.Size != int64(len(pngBytes)) || len(img.SHA256) != 64 || img.CreatedAt.IsZero() {
		t.Fatalf("uploaded %+v", img)
	}
	r := a.do("GET", apiPrefix+"/media/"+img.ID, agent, nil, nil, nil)
	if body := readAll(t, r); r.StatusCode != 200 || body != string(pngBytes) {
		t.Fatalf("download %d", r.StatusCode)
	}
	h := r.Header
	if h.Get("Content-Type") != "image/png" || !strings.HasPrefix(h.Get("Content-Disposition"), "inline") ||
		h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Security-Policy") != "sandbox" {
		t.Fatalf("download headers %v", h)
	}
	r = a.do("GET", apiPrefix+"/media/"+img.ID+"?download=1", agent, nil, nil, nil)
	if !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("?download=1: %q", r.Header.Get("Content-Disposition"))
	}

	// A page that calls itself a PNG is kept as bytes that only download;
	// HTML declared as such is never shown inline either.
	var fake, page mediaOutput
	a.upload(apiPrefix+"/media?name=x.png", agent, "image/png", []byte("<html><script>alert(1)</script></html>"), nil, &fake)
	a.upload(apiPrefix+"/media?name=x.html", agent, "text/html", []byte("<html><script>alert(1)</script></html>"), nil, &page)
	if fake.ContentType != "application/octet-stream" {
		t.Fatalf("HTML declared as PNG kept as %q", fake.ContentType)
	}
	for _, f := range []mediaOutput{fake, page} {
		r := a.do("GET", apiPrefix+"/media/"+f.ID, agent, nil, nil, nil)
		if !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") || r.Header.Get("Content-Security-Policy") != "sandbox" {
			t.Fatalf("%s served %v", f.Name, r.Header)
		}
	}

	wantProblem(t, a.upload(apiPrefix+"/media", agent, "image/png", pngBytes, nil, nil), 400, atende.EInvalid, "name")
	wantProblem(t, a.upload(apiPrefix+"/media?name=vacio.txt", agent, "text/plain", []byte{}, nil, nil), 400, atende.EInvalid, "file")
	big := bytes.Repeat([]byte("a"), maxMediaBytes+1)
	wantProblem(t, a.upload(apiPrefix+"/media?name=big.txt", agent, "text/plain", big, nil, nil), 413, "body_too_large", "file")
	wantProblem(t, a.do("GET", apiPrefix+"/media/"+img.ID, a.tokens["b-admin"], nil, nil, nil), 404, atende.ENotFound, "")

	// A message of files alone, and a note with a file and text.
	conv := a.ids["conversation"]
	var res appendResult
	if r := a.do("POST", apiPrefix+"/conversations/"+conv+"/messages", agent, map[string]any{"channel": "chat", "attachments": []string{img.ID, a.ids["media"]}}, nil, &res); r.StatusCode != 201 {
		t.Fatalf("message with files: %d %s", r.StatusCode, readAll(t, r))
	}
	var d struct {
		Attachments []store.Attachment `json:"attachments"`
	}
	json.Unmarshal(res.Event.Data, &d)
	if len(d.Attachments) != 2 || d.Attachments[0] != (store.Attachment{ID: img.ID, Name: "_foto_.png", ContentType: "image/png", Size: img.Size}) || d.Attachments[1].Name != "factura.pdf" {
		t.Fatalf("attachments %s", res.Event.Data)
	}
	if res.Event.Body != "_foto_.png, factura.pdf" {
		t.Fatalf("body of a message of files %q", res.Event.Body)
	}
	if r := a.do("POST", apiPrefix+"/conversations/"+conv+"/notes", agent, map[string]any{"body": "ver adjunto", "attachments": []string{img.ID}}, nil, &res); r.StatusCode != 201 || !strings.Contains(string(res.Event.Data), img.ID) || res.Event.Body != "ver adjunto" {
		t.Fatalf("note with a file: %d %+v", r.StatusCode, res.Event)
	}
	// Another tenant's file, or too many, are refused.
	var other mediaOutput
	a.upload(apiPrefix+"/media?name=b.png", a.tokens["b-admin"], "image/png", pngBytes, nil, &other)
	wantProblem(t, a.do("POST", apiPrefix+"/conversations/"+conv+"/notes", agent, map[string]any{"body": "x", "attachments": []string{other.ID}}, nil, nil), 400, atende.EInvalid, "attachments")
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = img.ID
	}
	wantProblem(t, a.do("POST", apiPrefix+"/conversations/"+conv+"/notes", agent, map[string]any{"body": "x", "attachments": eleven}, nil, nil), 400, atende.EInvalid, "attachments")
}

// FuzzUploadRequest feeds arbitrary names and Content-Type headers to the
// upload parser: never a panic, and an accepted name is clean.
func FuzzUploadRequest(f *testing.F) {
	for _, s := range [][2]string{{"foto.png", "image/png"}, {"../../x", "text/plain; charset=utf-8"}, {"a\x00b", "image/png;;"}, {"", ""}, {"\xff\xfe", "multipart/form-data; boundary="}, {"con", "a/b/c"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, name, ct string) {
		r := httptest.NewRequest("POST", "/api/v1/media?name="+url.QueryEscape(name), nil)
		r.Header.Set("Content-Type", ct)
		up, err := parseUpload(r)
		if err != nil {
			return
		}
		if up.Name == "" || strings.ContainsAny(up.Name, "/\\\x00<>\"") || up.Name == ".." || len(up.Name) > 200 {
			t.Fatalf("name %q cleaned to %q", name, up.Name)
		}
		if strings.ContainsAny(up.Declared, " ;") {
			t.Fatalf("declared type %q from %q", up.Declared, ct)
		}
	})
}
