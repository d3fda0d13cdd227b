package widget

import (
	"testing"

	"github.com/atende/atende"
)

func TestValidateWidget(t *testing.T) {
	ok := func() *Widget {
		w := Defaults()
		w.Name, w.QueueID, w.AllowedOrigins = "Loja", atende.NewID(), []string{"https://Loja.Example.com.br/"}
		return w
	}
	if w := ok(); w.Validate() != nil || w.AllowedOrigins[0] != "https://loja.example.com.br" {
		t.Fatalf("valid widget refused or not normalised: %+v", w)
	}
	for _, tc := range []struct {
		field  string
		change func(*Widget)
	}{
		{"name", func(w *Widget) { w.Name = " " }},
		{"queue_id", func(w *Widget) { w.QueueID = "x" }},
		{"allowed_origins", func(w *Widget) { w.AllowedOrigins = []string{"https://a.com/path"} }},
		{"allowed_origins", func(w *Widget) { w.AllowedOrigins = []string{"javascript:alert(1)"} }},
		{"allowed_origins", func(w *Widget) { w.AllowedOrigins = []string{"*"} }},
		{"language", func(w *Widget) { w.Language = "fr" }},
		{"theme.primary_color", func(w *Widget) { w.Theme.PrimaryColor = "red;background:url(x)" }},
		{"theme.position", func(w *Widget) { w.Theme.Position = "top" }},
		{"theme.logo_url", func(w *Widget) { w.Theme.LogoURL = "javascript:alert(1)" }},
		{"theme.logo_url", func(w *Widget) { w.Theme.LogoURL = "http://insecure.example/logo.png" }},
		{"pre_chat.privacy_text", func(w *Widget) { w.PreChat.PrivacyText = map[string]string{"de": "x"} }},
		{"uploads.max_bytes", func(w *Widget) { w.Uploads.MaxBytes = MaxUploadBytes + 1 }},
		{"uploads.mime_types", func(w *Widget) { w.Uploads.MIMETypes = []string{"png"} }},
	} {
		w := ok()
		tc.change(w)
		err := w.Validate()
		if e, isErr := err.(*atende.Error); !isErr || e.Field != tc.field {
			t.Errorf("%s: got %v", tc.field, err)
		}
	}
}

func TestUploadLimits(t *testing.T) {
	w := Defaults()
	if err := w.UploadAllowed("image/PNG; charset=x", 1000); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mt   string
		size int64
	}{{"image/png", 6 << 20}, {"image/png", 0}, {"text/html", 10}, {"application/x-msdownload", 10}} {
		if w.UploadAllowed(c.mt, c.size) == nil {
			t.Errorf("%s of %d accepted", c.mt, c.size)
		}
	}
	w.Uploads.MaxBytes = 0
	if w.UploadAllowed("image/png", 10) == nil {
		t.Error("uploads off but accepted")
	}
}

func TestPrivacyTextFallsBackToTheWidgetLanguage(t *testing.T) {
	w := Defaults()
	w.PreChat.PrivacyText = map[string]string{"es": "Tratamos sus datos…", "en": "We process your data…"}
	if w.PrivacyFor("en") != "We process your data…" || w.PrivacyFor("pt-BR") != "Tratamos sus datos…" {
		t.Fatal("privacy text")
	}
}
