// Package media keeps the files conversations carry — attachments, inline
// images, recordings, voicemail — on the filesystem under the data
// directory, addressed by tenant and id. Files are written to a temporary
// name, fsynced and renamed, so a file that exists is whole; their metadata
// lives in the store.
package media

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/atende/atende"
)

// File is a stored file's metadata.
type File struct {
	ID          string `json:"id"`
	TenantID    string `json:"tenant_id"`
	Name        string `json:"name"`         // the name it came with, for downloads
	ContentType string `json:"content_type"` // as declared or sniffed
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

// ErrTooLarge is returned when a file exceeds the limit given to Put.
var ErrTooLarge = atende.Errorf(atende.EInvalid, "the file is larger than allowed")

// Store keeps files under a root directory.
type Store struct {
	root string
}

// New returns a store rooted at dir (created when missing).
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("media directory: %w", err)
	}
	return &Store{root: dir}, nil
}

var safeName = regexp.MustCompile(`[^\pL\pN._ -]+`)

// CleanName makes a user-supplied file name safe to keep and show.
func CleanName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.TrimSpace(safeName.ReplaceAllString(name, "_"))
	if name == "" || name == "." || name == ".." {
		name = "file"
	}
	if len(name) > 200 {
		ext := filepath.Ext(name)
		if len(ext) > 20 {
			ext = ""
		}
		name = name[:200-len(ext)] + ext
	}
	return name
}

func (s *Store) path(tenantID, id string) (string, error) {
	if !atende.ValidID(tenantID) || !atende.ValidID(id) {
		return "", atende.Errorf(atende.ENotFound, "file not found")
	}
	// Shard by the id's random end: ids start with a timestamp, so their
	// first characters would put a tenant's files in one directory.
	return filepath.Join(s.root, tenantID, id[len(id)-2:], id), nil
}

// Put stores the content of r, at most limit bytes, and returns its metadata.
// The file is durable when Put returns.
func (s *Store) Put(ctx context.Context, tenantID, name, contentType string, r io.Reader, limit int64) (*File, error) {
	f := &File{ID: atende.NewID(), TenantID: tenantID, Name: CleanName(name), ContentType: contentType}
	dst, err := s.path(tenantID, f.ID)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".upload-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // after the rename this removes nothing
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(&ctxReader{ctx, r}, limit+1))
	if err == nil && n > limit {
		err = ErrTooLarge
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return nil, err
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return nil, err
	}
	f.Size, f.SHA256 = n, hex.EncodeToString(h.Sum(nil))
	return f, nil
}

// Open returns a stored file's content.
func (s *Store) Open(tenantID, id string) (*os.File, error) {
	p, err := s.path(tenantID, id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, atende.Errorf(atende.ENotFound, "file not found")
	}
	return f, err
}

// Delete removes a stored file; a missing file is not an error.
func (s *Store) Delete(tenantID, id string) error {
	p, err := s.path(tenantID, id)
	if err != nil {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ctxReader stops a long copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
