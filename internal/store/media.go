package store

import (
	"context"
	"database/sql"
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
