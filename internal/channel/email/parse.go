// Package email is atende's email channel: it parses inbound mail into
// conversation messages (threading, contacts, attachments as media), receives
// it through its own SMTP server or an IMAP mailbox, and sends agents' emails
// through a durable outbound queue with SMTP submission and DKIM.
package email

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // ISO-8859-x, Windows-125x, KOI8, GB18030, Shift_JIS, ... (golang.org/x/text)
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/text/encoding/charmap"
)

// Limits bound what parsing reads into memory; bodies of attachments are
// streamed to the sink and never held whole.
type Limits struct {
	MaxHeaderBytes int64 // one header block (default 256 KiB)
	MaxTextBytes   int   // text or HTML kept for display (default 1 MiB)
	MaxDepth       int   // multipart nesting (default 20)
	MaxParts       int   // parts of any kind (default 500)
}

func (l Limits) withDefaults() Limits {
	if l.MaxHeaderBytes == 0 {
		l.MaxHeaderBytes = 256 << 10
	}
	if l.MaxTextBytes == 0 {
		l.MaxTextBytes = 1 << 20
	}
	if l.MaxDepth == 0 {
		l.MaxDepth = 20
	}
	if l.MaxParts == 0 {
		l.MaxParts = 500
	}
	return l
}

// Address is a parsed mail address.
type Address struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
}

// Part is an attachment or inline image, stored as media by the sink.
type Part struct {
	MediaID     string `json:"media_id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	ContentID   string `json:"content_id,omitempty"` // for cid: references in the HTML
	Inline      bool   `json:"inline"`
	Size        int64  `json:"size"`
}

// DSN is what a delivery status notification (RFC 3464) says.
type DSN struct {
	OriginalMessageID string `json:"original_message_id,omitempty"`
	Recipient         string `json:"recipient,omitempty"`
	Action            string `json:"action,omitempty"` // failed, delayed, delivered, ...
	Status            string `json:"status,omitempty"` // e.g. 5.1.1
	Diagnostic        string `json:"diagnostic,omitempty"`
}

// Message is a parsed email.
type Message struct {
	MessageID  string    `json:"message_id"` // without <>; synthetic when missing
	InReplyTo  []string  `json:"in_reply_to,omitempty"`
	References []string  `json:"references,omitempty"`
	From       Address   `json:"from"`
	To         []Address `json:"to,omitempty"`
	Cc         []Address `json:"cc,omitempty"`
	ReplyTo    []Address `json:"reply_to,omitempty"`
	Subject    string    `json:"subject"`
	Date       time.Time `json:"date,omitzero"`
	Text       string    `json:"-"`
	// HTML is sanitised: no scripts, styles or event handlers; remote images
	// are rewritten to atende-remote:<escaped URL> so they load only when
	// the agent asks (the desktop turns them back).
	HTML string `json:"html,omitempty"`
	// QuoteAt is the byte offset in Text where quoted history starts, or -1;
	// the desktop collapses what follows, the text is kept whole.
	QuoteAt       int      `json:"quote_at"`
	HTMLQuote     bool     `json:"html_quote,omitempty"`
	Parts         []Part   `json:"attachments"`
	AutoSubmitted string   `json:"auto_submitted,omitempty"`
	Precedence    string   `json:"precedence,omitempty"`
	ListID        string   `json:"list_id,omitempty"`
	DSN           *DSN     `json:"dsn,omitempty"`
	Warnings      []string `json:"warnings,omitempty"`
	Truncated     bool     `json:"truncated,omitempty"`
}

// Sink stores one attachment's content and fills in p.MediaID and p.Size.
type Sink func(p *Part, body io.Reader) error

// ErrUnparsable wraps what made a message impossible to read at all (the
// header); the importer still keeps the raw message and says so.
var ErrUnparsable = errors.New("unparsable message")

// Parse reads a message from r, streaming attachments to sink. It fails only
// when the top-level header cannot be read; every other oddity (broken
// boundaries, unknown charsets, bad encodings) becomes a warning and parsing
// goes on with what could be read.
func Parse(r io.Reader, sink Sink, lim Limits) (*Message, error) {
	lim = lim.withDefaults()
	e, err := message.ReadWithOptions(r, &message.ReadOptions{MaxHeaderBytes: lim.MaxHeaderBytes})
	m := &Message{QuoteAt: -1, Parts: []Part{}}
	if err != nil && e == nil {
		return nil, fmt.Errorf("%w: %v", ErrUnparsable, err)
	}
	if err != nil {
		m.warn("%v", err)
	}
	m.readHeader(mail.Header{Header: e.Header})
	p := &parser{m: m, sink: sink, lim: lim}
	p.walk(e, 0)
	if m.Text == "" && m.HTML != "" {
		m.Text = htmlToText(m.HTML)
	}
	m.Text = strings.TrimRight(m.Text, " \t\r\n")
	m.QuoteAt = quoteStart(m.Text)
	m.HTMLQuote = htmlHasQuote(m.HTML)
	if len(m.Text) > lim.MaxTextBytes {
		m.Text, m.Truncated = truncateUTF8(m.Text, lim.MaxTextBytes), true
	}
	return m, nil
}

func (m *Message) warn(format string, args ...any) {
	if len(m.Warnings) < 20 {
		m.Warnings = append(m.Warnings, fmt.Sprintf(format, args...))
	}
}

// readHeader takes what atende uses from the top-level header.
func (m *Message) readHeader(h mail.Header) {
	if id, err := h.MessageID(); err == nil && id != "" {
		m.MessageID = normalizeMsgID(id)
	} else if raw := strings.TrimSpace(h.Get("Message-Id")); raw != "" {
		m.MessageID = normalizeMsgID(raw) // not RFC 5322, but still a key
	}
	m.InReplyTo = msgIDList(h, "In-Reply-To")
	m.References = msgIDList(h, "References")
	if s, err := h.Subject(); err == nil {
		m.Subject = cleanLine(s)
	} else {
		m.Subject = cleanLine(h.Get("Subject"))
		m.warn("subject: %v", err)
	}
	if d, err := h.Date(); err == nil {
		m.Date = d.UTC()
	}
	m.From = firstAddress(m, h, "From")
	if m.From.Address == "" {
		if s := firstAddress(m, h, "Sender"); s.Address != "" {
			m.From = s
		}
	}
	m.To = addresses(m, h, "To")
	m.Cc = addresses(m, h, "Cc")
	m.ReplyTo = addresses(m, h, "Reply-To")
	m.AutoSubmitted = strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted")))
	m.Precedence = strings.ToLower(strings.TrimSpace(h.Get("Precedence")))
	m.ListID = cleanLine(h.Get("List-Id"))
}

func msgIDList(h mail.Header, key string) []string {
	ids, err := h.MsgIDList(key)
	if err != nil || len(ids) == 0 {
		// Lenient: take anything between angle brackets.
		ids = nil
		for _, f := range regexp.MustCompile(`<([^<>\s]+)>`).FindAllStringSubmatch(h.Get(key), 100) {
			ids = append(ids, f[1])
		}
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if n := normalizeMsgID(id); n != "" {
			out = append(out, n)
		}
	}
	return out
}

func normalizeMsgID(id string) string {
	id = strings.TrimSpace(strings.Trim(strings.TrimSpace(id), "<>"))
	if len(id) > 900 || !utf8.ValidString(id) {
		sum := sha256.Sum256([]byte(id))
		return "sha256-" + hex.EncodeToString(sum[:]) + "@atende.invalid"
	}
	return id
}

// SyntheticMessageID names a message that has no usable Message-ID by its
// content, so importing it twice is still recognised.
func SyntheticMessageID(sha256hex string) string { return "sha256-" + sha256hex + "@atende.invalid" }

var addrInAngles = regexp.MustCompile(`<([^<>\s]+@[^<>\s]+)>|([^\s<>,;"]+@[^\s<>,;"]+)`)

func addresses(m *Message, h mail.Header, key string) []Address {
	if h.Get(key) == "" {
		return nil
	}
	list, err := h.AddressList(key)
	var out []Address
	if err == nil {
		for _, a := range list {
			out = append(out, Address{Name: cleanLine(a.Name), Address: strings.ToLower(a.Address)})
		}
		return out
	}
	// Broken header: salvage anything that looks like an address.
	for _, f := range addrInAngles.FindAllStringSubmatch(toUTF8([]byte(h.Get(key))), 50) {
		a := f[1]
		if a == "" {
			a = f[2]
		}
		out = append(out, Address{Address: strings.ToLower(a)})
	}
	m.warn("%s: %v", key, err)
	return out
}

func firstAddress(m *Message, h mail.Header, key string) Address {
	if l := addresses(m, h, key); len(l) > 0 {
		return l[0]
	}
	return Address{}
}

type parser struct {
	m     *Message
	sink  Sink
	lim   Limits
	parts int
	html  strings.Builder
}

func (p *parser) walk(e *message.Entity, depth int) {
	p.parts++
	if p.parts > p.lim.MaxParts {
		if p.parts == p.lim.MaxParts+1 {
			p.m.warn("more than %d parts; the rest is only in the raw message", p.lim.MaxParts)
		}
		return
	}
	ctype, params, err := e.Header.ContentType()
	if err != nil || ctype == "" {
		ctype = "text/plain"
	}
	disp, dparams, _ := e.Header.ContentDisposition()
	if mr := e.MultipartReader(); mr != nil {
		if depth >= p.lim.MaxDepth {
			p.m.warn("multipart nested deeper than %d levels; the rest is only in the raw message", p.lim.MaxDepth)
			return
		}
		if ctype == "multipart/report" && strings.EqualFold(params["report-type"], "delivery-status") {
			p.m.DSN = &DSN{}
		}
		alternative := ctype == "multipart/alternative"
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil && part == nil {
				p.m.warn("%s: %v", ctype, err)
				break
			}
			if err != nil {
				p.m.warn("part: %v", err)
			}
			if alternative {
				p.alternative(part, depth+1)
			} else {
				p.walk(part, depth+1)
			}
			// Whatever the part left unread is skipped by NextPart.
		}
		return
	}
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	attachment := strings.EqualFold(disp, "attachment") || name != ""
	switch {
	case p.m.DSN != nil && (ctype == "message/delivery-status" || ctype == "message/global-delivery-status"):
		p.readDSN(e.Body)
		return
	case p.m.DSN != nil && (ctype == "text/rfc822-headers" || ctype == "message/rfc822") && p.m.DSN.OriginalMessageID == "":
		h, err := textproto.ReadHeader(bufio.NewReader(io.LimitReader(e.Body, p.lim.MaxHeaderBytes)))
		if err == nil {
			mh := mail.Header{Header: message.Header{Header: h}}
			if id, err := mh.MessageID(); err == nil {
				p.m.DSN.OriginalMessageID = normalizeMsgID(id)
			}
		}
		return
	case ctype == "text/plain" && !attachment:
		p.appendText(p.readText(e, ctype))
		return
	case ctype == "text/html" && !attachment:
		p.html.WriteString(p.readText(e, ctype))
		p.m.HTML = sanitizeHTML(p.html.String())
		return
	}
	p.store(e, ctype, disp, name, params)
}

// alternative keeps the first text/plain and text/html of a
// multipart/alternative (and walks any nested multipart, such as
// multipart/related holding the HTML and its images).
func (p *parser) alternative(e *message.Entity, depth int) {
	ctype, _, _ := e.Header.ContentType()
	switch {
	case ctype == "text/plain" && p.m.Text != "":
	case ctype == "text/html" && p.m.HTML != "":
	default:
		p.walk(e, depth)
	}
}

func (p *parser) appendText(s string) {
	if p.m.Text != "" {
		p.m.Text += "\n\n"
	}
	p.m.Text += s
}

// readText reads a text part for display, bounded, as valid UTF-8 (go-message
// decoded the declared charset; a wrong or unknown one falls back to
// Windows-1252, a superset of ISO-8859-1 in practice).
func (p *parser) readText(e *message.Entity, ctype string) string {
	b, err := io.ReadAll(io.LimitReader(e.Body, int64(p.lim.MaxTextBytes)+1))
	if err != nil {
		p.m.warn("%s: %v", ctype, err)
	}
	if len(b) > p.lim.MaxTextBytes {
		b = b[:p.lim.MaxTextBytes]
		p.m.Truncated = true
		io.Copy(io.Discard, e.Body)
	}
	return strings.ReplaceAll(toUTF8(b), "\r\n", "\n")
}

func (p *parser) store(e *message.Entity, ctype, disp, name string, params map[string]string) {
	if ctype == "message/rfc822" && name == "" {
		name = "message.eml"
	}
	if name == "" {
		ext, _ := mime.ExtensionsByType(ctype)
		name = "attachment"
		if len(ext) > 0 {
			name += ext[0]
		}
	}
	part := Part{Name: cleanLine(name), ContentType: ctype, ContentID: strings.Trim(strings.TrimSpace(e.Header.Get("Content-Id")), "<>"),
		Inline: strings.EqualFold(disp, "inline") || (disp == "" && strings.HasPrefix(ctype, "image/"))}
	if p.sink == nil {
		n, _ := io.Copy(io.Discard, e.Body)
		part.Size = n
	} else if err := p.sink(&part, e.Body); err != nil {
		p.m.warn("attachment %q: %v", part.Name, err)
		if part.MediaID == "" {
			return
		}
	}
	p.m.Parts = append(p.m.Parts, part)
}

func (p *parser) readDSN(r io.Reader) {
	b, _ := io.ReadAll(io.LimitReader(r, 64<<10))
	// Per-message fields, a blank line, then per-recipient fields.
	for _, line := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = cleanLine(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "final-recipient", "original-recipient":
			if p.m.DSN.Recipient == "" {
				if _, addr, ok := strings.Cut(v, ";"); ok {
					v = addr
				}
				p.m.DSN.Recipient = strings.ToLower(strings.TrimSpace(v))
			}
		case "action":
			p.m.DSN.Action = strings.ToLower(v)
		case "status":
			p.m.DSN.Status = v
		case "diagnostic-code":
			p.m.DSN.Diagnostic = v
		}
	}
}

// toUTF8 returns b as UTF-8 text, reading invalid UTF-8 as Windows-1252.
func toUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

// cleanLine makes a header value one line of valid UTF-8.
func cleanLine(s string) string {
	s = toUTF8([]byte(s))
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 2000 {
		s = truncateUTF8(s, 2000)
	}
	return strings.TrimSpace(s)
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// htmlPolicy keeps formatting, links, tables and images; drops scripts,
// styles, forms, event handlers and unknown URL schemes.
var htmlPolicy = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemes("http", "https", "mailto", "cid", "tel")
	p.AllowAttrs("width", "height", "align").OnElements("img", "table", "td", "th")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^(gmail_quote|moz-cite-prefix|yahoo_quoted)$`)).OnElements("div", "blockquote")
	p.AllowAttrs("type").Matching(regexp.MustCompile(`^cite$`)).OnElements("blockquote")
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.RewriteSrc(func(u *url.URL) {
		if u.Scheme == "http" || u.Scheme == "https" {
			orig := u.String()
			*u = url.URL{Scheme: RemoteScheme, Opaque: url.QueryEscape(orig)}
		}
	})
	return p
}()

// RemoteScheme marks a remote image blocked until the agent reveals it.
const RemoteScheme = "atende-remote"

func sanitizeHTML(s string) string { return htmlPolicy.Sanitize(s) }

var (
	tagRe     = regexp.MustCompile(`(?s)<(script|style|head)[^>]*>.*?</(script|style|head)>|<[^>]*>`)
	breakRe   = regexp.MustCompile(`(?i)<(br|/p|/div|/tr|/li|/h[1-6])[^>]*>`)
	blankRuns = regexp.MustCompile(`\n{3,}`)
)

// htmlToText is a plain rendering of sanitised HTML for the timeline body
// and search when a message has no text part.
func htmlToText(h string) string {
	h = breakRe.ReplaceAllString(h, "\n$0")
	t := tagRe.ReplaceAllString(h, "")
	t = strings.NewReplacer("&nbsp;", " ", "&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'").Replace(t)
	return strings.TrimSpace(blankRuns.ReplaceAllString(t, "\n\n"))
}

// quoteHeader matches the line mail programs put above quoted history, in
// the languages atende serves and the usual separators.
var quoteHeader = regexp.MustCompile(`(?m)^(On .{5,200} wrote:|El .{5,200} escribió:|Em .{5,200} escreveu:|Le .{5,200} a écrit :|-{2,} ?(Original Message|Mensaje original|Mensagem original|Forwarded message|Mensaje reenviado|Mensagem encaminhada) ?-{2,}|_{10,}\s*$\s*^(From|De): )`)

// quoteStart finds where quoted history starts in a text body: a "... wrote:"
// line or a separator, or a run of ">" lines reaching to the end.
func quoteStart(text string) int {
	if loc := quoteHeader.FindStringIndex(text); loc != nil && loc[0] > 0 {
		return loc[0]
	}
	// A trailing block of "> " lines (blank lines allowed).
	lines := strings.SplitAfter(text, "\n")
	at, quoted := len(text), false
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" && (quoted || i == len(lines)-1) {
			at -= len(lines[i])
			continue
		}
		if !strings.HasPrefix(l, ">") {
			break
		}
		quoted = true
		at -= len(lines[i])
	}
	if quoted && at > 0 {
		return at
	}
	return -1
}

var protocolTag = regexp.MustCompile(`\[#(\d{8}-\d{6,12})\]`)

// ProtocolInSubject returns the protocol number quoted as [#20261125-000042]
// in a subject, or "".
func ProtocolInSubject(subject string) string {
	if m := protocolTag.FindStringSubmatch(subject); m != nil {
		return m[1]
	}
	return ""
}

// htmlHasQuote reports whether sanitised HTML holds quoted history.
func htmlHasQuote(h string) bool {
	return strings.Contains(h, "<blockquote") || strings.Contains(h, `class="gmail_quote"`) || bytes.Contains([]byte(h), []byte("moz-cite-prefix"))
}
