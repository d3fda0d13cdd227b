package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/media"
)

// AddMedia records the metadata of a file the media store holds.
func (s *Store) AddMedia(ctx context.Context, a atende.Actor, f *media.File) error {
	return s.write(ctx, "media.add", a, func(tx *tx) error {
		_, err := tx.exec(`INSERT INTO media (id, tenant_id, name, content_type, size, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			f.ID, a.TenantID, f.Name, f.ContentType, f.Size, f.SHA256, tx.now)
		return err
	})
}

// Media returns a file's metadata.
func (s *Store) Media(ctx context.Context, tenantID, id string) (*media.File, error) {
	var f media.File
	err := s.read("media.get", func() error {
		err := s.rdb.QueryRowContext(ctx, s.q(`SELECT id, tenant_id, name, content_type, size, sha256 FROM media WHERE tenant_id = ? AND id = ?`), tenantID, id).
			Scan(&f.ID, &f.TenantID, &f.Name, &f.ContentType, &f.Size, &f.SHA256)
		if errors.Is(err, sql.ErrNoRows) {
			return atende.Errorf(atende.ENotFound, "file not found")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// Attachment is a file a message or note carries, as its timeline entry's
// data keeps it: {"attachments":[{id, name, content_type, size}]}.
type Attachment struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// MaxAttachments bounds the files of one message or note.
const MaxAttachments = 10

// AttachmentOf is what a timeline entry keeps of a stored file.
func AttachmentOf(f *media.File) Attachment {
	return Attachment{ID: f.ID, Name: f.Name, ContentType: f.ContentType, Size: f.Size}
}

// AttachmentsOf reads the attachments of a timeline entry's data; nil when it
// has none (or the data is not that shape: email entries keep theirs apart).
func AttachmentsOf(data json.RawMessage) []Attachment {
	if len(data) == 0 {
		return nil
	}
	var d struct {
		Attachments []Attachment `json:"attachments"`
	}
	if json.Unmarshal(data, &d) != nil {
		return nil
	}
	return d.Attachments
}

// MediaFiles returns the metadata of files of the tenant by id, in the order
// given; an id that is not a file of the tenant is a field error on field.
func (s *Store) MediaFiles(ctx context.Context, tenantID, field string, ids []string) ([]*media.File, error) {
	out := make([]*media.File, 0, len(ids))
	for _, id := range ids {
		if !atende.ValidID(id) {
			return nil, atende.FieldError(field, "%q is not a file of this tenant", id)
		}
		f, err := s.Media(ctx, tenantID, id)
		if atende.ErrorCode(err) == atende.ENotFound {
			return nil, atende.FieldError(field, "%q is not a file of this tenant", id)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// CustomerAttachment returns a file when a message of the conversation the
// customer sees (theirs or an agent's, never a note or a system entry)
// carries it; anything else is not found, so a visitor reaches no other
// file.
func (s *Store) CustomerAttachment(ctx context.Context, tenantID, conversationID, mediaID string) (*media.File, error) {
	notFound := atende.Errorf(atende.ENotFound, "file not found")
	if !atende.ValidID(mediaID) || !atende.ValidID(conversationID) {
		return nil, notFound
	}
	found := false
	err := s.read("media.customer", func() error {
		// Ids are UUIDs, so the pattern holds no wildcard of its own; the
		// match is confirmed on the decoded data below.
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT data FROM conversation_events
			WHERE tenant_id = ? AND conversation_id = ? AND kind = 'message' AND author_kind IN ('contact', 'user') AND data LIKE ?`),
			tenantID, conversationID, "%"+mediaID+"%")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() && !found {
			var data string
			if err := rows.Scan(&data); err != nil {
				return err
			}
			for _, a := range AttachmentsOf(json.RawMessage(data)) {
				found = found || a.ID == mediaID
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound
	}
	return s.Media(ctx, tenantID, mediaID)
}

// DeleteMedia forgets a file's metadata (its content is the media store's
// to delete).
func (s *Store) DeleteMedia(ctx context.Context, a atende.Actor, id string) error {
	return s.write(ctx, "media.delete", a, func(tx *tx) error {
		_, err := tx.exec(`DELETE FROM media WHERE tenant_id = ? AND id = ?`, a.TenantID, id)
		return err
	})
}
