package webchat

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/atende/atende"
)

// MaxMessageRunes bounds one visitor message; longer text is refused, not
// cut, so the visitor knows.
const MaxMessageRunes = 4000

// Sanitize turns what a visitor typed into plain text safe to store and show:
// HTML tags and the content of script and style elements are dropped,
// javascript: and data: URL schemes are defused, control and bidirectional
// override characters (which can disguise text in the desktop) are removed,
// and runs of blank lines are squeezed. The desktop renders text, never HTML;
// this is the second fence.
func Sanitize(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", atende.FieldError("body", "is not valid UTF-8")
	}
	if len(s) > MaxMessageRunes*4 || utf8.RuneCountInString(s) > MaxMessageRunes {
		return "", atende.FieldError("body", "is longer than %d characters", MaxMessageRunes)
	}
	s = stripTags(s)
	var b strings.Builder
	b.Grow(len(s))
	newlines := 0
	for _, r := range s {
		switch {
		case r == '\n':
			newlines++
			if newlines > 2 {
				continue
			}
		case r == '\r':
			continue
		case r == '\t':
			r = ' '
		case isBidiControl(r), unicode.IsControl(r), r == '\uFEFF', r == '\u200B':
			continue
		}
		if r != '\n' {
			newlines = 0
		}
		b.WriteRune(r)
	}
	out := defuseSchemes(strings.TrimSpace(defuseOpeners(b.String())))
	if out == "" {
		return "", atende.FieldError("body", "is empty once markup is removed")
	}
	return out, nil
}

// stripTags drops everything between < and > when it looks like a tag, and
// the whole content of script and style elements. A "<" that starts no tag
// (as in "2 < 3") stays.
func stripTags(s string) string {
	if !strings.ContainsRune(s, '<') {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		if len(s) < 2 || !(isASCIILetter(s[1]) || s[1] == '/' || s[1] == '!' || s[1] == '?') {
			b.WriteByte('<')
			s = s[1:]
			continue
		}
		end := strings.IndexByte(s, '>')
		if end < 0 {
			// An unterminated tag: drop the rest, it is markup.
			break
		}
		tag := strings.ToLower(s[1:end])
		s = s[end+1:]
		for _, raw := range []string{"script", "style"} {
			if strings.HasPrefix(tag, raw) {
				if j := indexFold(s, "</"+raw); j >= 0 {
					s = s[j:]
				} else {
					s = ""
				}
			}
		}
	}
	return b.String()
}

// defuseOpeners separates a "<" from a letter after it when stripping put
// them together ("<<a>b" leaves "<b"), so that no tag survives.
func defuseOpeners(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(s[i])
		if s[i] == '<' && i+1 < len(s) && (isASCIILetter(s[i+1]) || s[i+1] == '/' || s[i+1] == '!' || s[i+1] == '?') {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// indexFold is strings.Index ignoring ASCII case, for an ASCII sub; unlike
// lowering s first, its answer is an index into s itself.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

func isASCIILetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// defuseSchemes breaks URL schemes that run code when a careless renderer
// makes a link of them: "javascript:" becomes "javascript :".
func defuseSchemes(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		for _, scheme := range []string{"javascript:", "vbscript:", "data:"} {
			if n := len(scheme); i+n <= len(s) && strings.EqualFold(s[i:i+n], scheme) {
				b.WriteString(s[i : i+n-1])
				b.WriteString(" ")
				i += n - 1 // the colon is written below
				break
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isBidiControl reports the characters that reorder text (Trojan Source).
func isBidiControl(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069') || r == '\u200E' || r == '\u200F' || r == '\u061C'
}
