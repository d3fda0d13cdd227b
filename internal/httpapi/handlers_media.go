package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/media"
	"github.com/atende/atende/internal/store"
)

// maxMediaBytes bounds one uploaded file.
const maxMediaBytes = 25 << 20

// mediaOutput is a stored file as the API answers it.
type mediaOutput struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	CreatedAt   time.Time `json:"created_at"`
}

func (s *Server) routesMedia() {
	s.handle(route{Method: "POST", Path: "/media", Perm: atende.PermConversationsWrite, Tag: "conversations", Status: http.StatusCreated,
		Summary: "Upload a file to attach to messages and notes: the body is the file, Content-Type its type; at most 25 MiB",
		Query:   []param{{"name", "string", "the file's name"}},
		Out:     mediaOutput{}, handler: s.uploadMedia})
	s.handle(route{Method: "GET", Path: "/media/{id}", Perm: atende.PermConversationsRead, Tag: "conversations",
		Summary: "Download a file; images, PDF, audio and video of safe types show inline, anything else downloads",
		Query:   []param{{"download", "integer", "1: always as a download"}},
		handler: s.downloadMedia})
}

// mediaStore is where files live; nil on a server without one.
func (s *Server) mediaStore() (*media.Store, error) {
	if s.cfg.Email == nil || s.cfg.Email.Media == nil {
		return nil, &decodeError{"unavailable", "this server keeps no files", ""}
	}
	return s.cfg.Email.Media, nil
}

func (s *Server) uploadMedia(w http.ResponseWriter, r *http.Request, p *principal) error {
	f, err := s.putMedia(r.Context(), r, p.actor(r), maxMediaBytes, nil)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, mediaOutput{ID: f.ID, Name: f.Name, ContentType: f.ContentType, Size: f.Size, SHA256: f.SHA256, CreatedAt: time.Now().UTC()})
}

// upload is a file as a request announces it.
type upload struct {
	Name     string // cleaned
	Declared string // the Content-Type header's media type, lower case
}

// parseUpload reads the file's name and declared type from a raw-body
// upload (?name=, Content-Type).
func parseUpload(r *http.Request) (upload, error) {
	name := r.URL.Query().Get("name")
	if strings.TrimSpace(name) == "" || len(name) > 1000 {
		return upload{}, atende.FieldError("name", "is required: the file's name, at most 1000 bytes")
	}
	up := upload{Name: media.CleanName(strings.ToValidUTF8(name, ""))}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || len(mt) > 100 {
			return upload{}, atende.FieldError("content_type", "the Content-Type header is not a media type")
		}
		up.Declared = strings.ToLower(mt)
	}
	return up, nil
}

// sniffedType is the type a file's first bytes show, without parameters.
func sniffedType(head []byte) string {
	mt, _, _ := strings.Cut(http.DetectContentType(head), ";")
	return strings.TrimSpace(mt)
}

// sniffFamily is the top-level type content sniffing can vouch for.
func sniffFamily(mt string) string {
	switch {
	case mt == "application/pdf":
		return "pdf"
	case strings.HasPrefix(mt, "image/"), strings.HasPrefix(mt, "audio/"), strings.HasPrefix(mt, "video/"):
		t, _, _ := strings.Cut(mt, "/")
		return t
	}
	return ""
}

// contentTypeFor decides the type a file is kept and served as. A declared
// type the content contradicts (a page calling itself image/png) is not
// believed: such a file is kept as application/octet-stream, which only ever
// downloads.
func contentTypeFor(declared, sniffed string) string {
	if declared == "" || declared == "application/octet-stream" {
		return sniffed
	}
	if fam := sniffFamily(declared); fam != "" && sniffFamily(sniffed) != fam {
		return "application/octet-stream"
	}
	return declared
}

// putMedia stores a raw-body upload of at most limit bytes. check, when
// given, vets the upload's declared and sniffed types and size before the
// file is kept.
func (s *Server) putMedia(ctx context.Context, r *http.Request, a atende.Actor, limit int64, check func(up upload, sniffed string, size int64) error) (*media.File, error) {
	ms, err := s.mediaStore()
	if err != nil {
		return nil, err
	}
	up, err := parseUpload(r)
	if err != nil {
		return nil, err
	}
	if r.ContentLength > limit {
		return nil, &decodeError{"body_too_large", "the file is larger than allowed", "file"}
	}
	br := bufio.NewReaderSize(r.Body, 512)
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	if len(head) == 0 {
		return nil, atende.FieldError("file", "is empty")
	}
	sniffed := sniffedType(head)
	if check != nil {
		if err := check(up, sniffed, max(r.ContentLength, int64(len(head)))); err != nil {
			return nil, err
		}
	}
	f, err := ms.Put(ctx, a.TenantID, up.Name, contentTypeFor(up.Declared, sniffed), br, limit)
	if errors.Is(err, media.ErrTooLarge) {
		return nil, &decodeError{"body_too_large", "the file is larger than allowed", "file"}
	}
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Store.AddMedia(ctx, a, f); err != nil {
		ms.Delete(a.TenantID, f.ID)
		return nil, err
	}
	return f, nil
}

// inlineTypes are shown in the browser; everything else downloads. No SVG
// or HTML: they can carry script.
var inlineTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf",
	"audio/mpeg", "audio/ogg", "audio/wav", "audio/webm", "audio/mp4", "video/mp4", "video/webm", "video/ogg"}

func (s *Server) downloadMedia(w http.ResponseWriter, r *http.Request, p *principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f, err := s.cfg.Store.Media(r.Context(), p.TenantID, id)
	if err != nil {
		return err
	}
	return s.serveMedia(w, r, f)
}

// serveMedia streams a stored file with headers that keep the browser from
// running it: nosniff, a sandboxing CSP, and inline only for safe types.
func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request, f *media.File) error {
	ms, err := s.mediaStore()
	if err != nil {
		return err
	}
	fh, err := ms.Open(f.TenantID, f.ID)
	if err != nil {
		return err
	}
	defer fh.Close()
	disp := "attachment"
	if slices.Contains(inlineTypes, f.ContentType) && r.URL.Query().Get("download") != "1" {
		disp = "inline"
	}
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": f.Name}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("ETag", `"`+f.SHA256+`"`)
	http.ServeContent(w, r, "", time.Time{}, fh)
	return nil
}

// attach resolves a message's attachments (media ids of the tenant) into
// the entry's data, {"attachments":[...]}, next to any other data given. A
// message of files alone gets their names as its text.
func (m *messageInput) attach(ctx context.Context, st *store.Store, tenantID string, e *atende.TimelineEvent) error {
	if len(m.Attachments) == 0 {
		return nil
	}
	if len(m.Attachments) > store.MaxAttachments {
		return atende.FieldError("attachments", "at most %d files", store.MaxAttachments)
	}
	files, err := st.MediaFiles(ctx, tenantID, "attachments", m.Attachments)
	if err != nil {
		return err
	}
	atts := make([]store.Attachment, len(files))
	names := make([]string, len(files))
	for i, f := range files {
		atts[i], names[i] = store.AttachmentOf(f), f.Name
	}
	data := map[string]any{}
	if len(e.Data) > 0 {
		if err := json.Unmarshal(e.Data, &data); err != nil {
			return atende.FieldError("data", "is not an object")
		}
	}
	data["attachments"] = atts
	if e.Data, err = json.Marshal(data); err != nil {
		return err
	}
	if strings.TrimSpace(e.Body) == "" {
		e.Body = strings.Join(names, ", ")
	}
	return nil
}
