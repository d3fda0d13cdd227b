package email

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
)

func TestParseCharsetsEncodedWordsAndSanitising(t *testing.T) {
	f, _ := os.ReadFile("testdata/corpus/alternative-related-latin9.eml")
	var stored []Part
	m, err := Parse(bytes.NewReader(f), func(p *Part, r io.Reader) error {
		n, _ := io.Copy(io.Discard, r)
		p.MediaID, p.Size = "m", n
		stored = append(stored, *p)
		return nil
	}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.From.Name != "María" || !strings.Contains(m.Text, "€ 100 mañana") {
		t.Errorf("from %q text %q", m.From.Name, m.Text)
	}
	if len(stored) != 1 || stored[0].ContentID != "img1" || !stored[0].Inline || !strings.Contains(m.HTML, `src="cid:img1"`) {
		t.Errorf("inline image %+v html %q", stored, m.HTML)
	}
	f, _ = os.ReadFile("testdata/corpus/script-html.eml")
	m, _ = Parse(bytes.NewReader(f), nil, Limits{})
	if strings.Contains(m.HTML, "script") || strings.Contains(m.HTML, "onclick") || strings.Contains(m.HTML, `src="https://`) {
		t.Errorf("unsafe HTML kept: %s", m.HTML)
	}
	if !strings.Contains(m.HTML, RemoteScheme+":https%3A%2F%2Ftrack.example%2Fp.gif") {
		t.Errorf("remote image not blocked for reveal: %s", m.HTML)
	}
	f, _ = os.ReadFile("testdata/corpus/wrong-charset.eml")
	m, _ = Parse(bytes.NewReader(f), nil, Limits{})
	if m.From.Name != "José" || m.Subject != "Cotización €" || !strings.Contains(m.Text, "Cotización en €") {
		t.Errorf("charsets: %q %q %q", m.From.Name, m.Subject, m.Text)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := os.ReadDir("testdata/corpus")
	for _, e := range files {
		b, _ := os.ReadFile("testdata/corpus/" + e.Name())
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(bytes.NewReader(b), func(p *Part, r io.Reader) error { _, err := io.Copy(io.Discard, r); return err }, Limits{})
		if err != nil {
			return
		}
		if !utf8Valid(m.Text) || !utf8Valid(m.Subject) || !utf8Valid(m.HTML) {
			t.Fatalf("invalid UTF-8 out of Parse")
		}
		ProtocolInSubject(m.Subject)
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "") == s }
