package store

import (
	"encoding/base64"

	"github.com/atende/atende"
)

// ListOptions asks for one page of a list ordered by id (ids are time-ordered).
type ListOptions struct {
	Cursor string // opaque, from Page.Next; empty for the first page
	Limit  int    // 1-200; 0 means 50
}

// Page is one page of a list and the cursor of the next, empty at the end.
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next_cursor,omitempty"`
}

// bounds validates the options and returns the id to list after and the limit.
func (o ListOptions) bounds() (after string, limit int, err error) {
	limit = o.Limit
	if limit == 0 {
		limit = 50
	}
	if limit < 1 || limit > 200 {
		return "", 0, atende.FieldError("limit", "must be between 1 and 200")
	}
	if o.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(o.Cursor)
		if err != nil || !atende.ValidID(string(b)) {
			return "", 0, atende.FieldError("cursor", "is not a cursor from this API")
		}
		after = string(b)
	}
	return after, limit, nil
}

// paginate trims items fetched with limit+1 to a page.
func paginate[T any](items []T, limit int, id func(T) string) Page[T] {
	p := Page[T]{Items: items}
	if p.Items == nil {
		p.Items = []T{}
	}
	if len(items) > limit {
		p.Items = items[:limit]
		p.Next = base64.RawURLEncoding.EncodeToString([]byte(id(items[limit-1])))
	}
	return p
}
