package httpapi

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/atende/atende"
)

// FuzzDecodeCreate feeds arbitrary bodies to the strict decoder used by every
// create: it must never panic, and whatever it accepts must be a valid UTF-8
// JSON object that re-encodes.
func FuzzDecodeCreate(f *testing.F) {
	for _, s := range []string{
		`{"name":"Ana","identities":[{"kind":"phone","value":"+34612345678"}],"fields":{"plan":"x"},"tags":["vip"]}`,
		`{"name":42}`, `{"id":"x"}`, `[]`, `null`, `{"name":"a"} {}`, "{\"name\":\"\xff\"}", `{"fields":{"a":{"b":[1,2,{"c":null}]}}}`,
		`{"name":"\u0000"}`, `{"tags":[1e400]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var c atende.Contact
		err := decodeStrict(body, &c)
		if err != nil {
			var de *decodeError
			var ae *atende.Error
			if !errors.As(err, &de) && !errors.As(err, &ae) {
				t.Fatalf("decodeStrict returned an untyped error %T: %v", err, err)
			}
			return
		}
		if _, err := json.Marshal(c); err != nil {
			t.Fatalf("accepted body does not re-encode: %v", err)
		}
	})
}

// FuzzMergePatch applies arbitrary patches to a stored queue: never a panic,
// never a change to a read-only field.
func FuzzMergePatch(f *testing.F) {
	for _, s := range []string{`{"name":"Ventas"}`, `{"skills":null}`, `{"id":"x"}`, `{"channels":["chat"],"priority":3}`, `[]`, `{"sl_target_pct":"80"}`, `{"team_ids":{"a":1}}`} {
		f.Add([]byte(s))
	}
	cur := atende.Queue{ID: atende.NewID(), TenantID: atende.NewID(), Name: "Soporte", Channels: []atende.Channel{"chat"}, Version: 3}
	f.Fuzz(func(t *testing.T, patch []byte) {
		var next atende.Queue
		if err := applyMergePatch(patch, &cur, &next, readOnlyFields); err != nil {
			return
		}
		if next.ID != cur.ID || next.TenantID != cur.TenantID || next.Version != cur.Version {
			t.Fatalf("patch %q changed a read-only field: %+v", patch, next)
		}
	})
}
