package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/atende/atende"
)

var errFlowNotFound = atende.Errorf(atende.ENotFound, "flow not found")

const flowCols = `id, tenant_id, name, definition, created_at, updated_at, version`

// flowDefinition is the JSON of a flow's definition column.
type flowDefinition struct {
	Language string                     `json:"language"`
	Entry    string                     `json:"entry"`
	Nodes    map[string]atende.FlowNode `json:"nodes"`
	Preset   string                     `json:"preset,omitempty"`
}

func scanFlow(row interface{ Scan(...any) error }) (*atende.Flow, error) {
	var f atende.Flow
	var def string
	if err := row.Scan(&f.ID, &f.TenantID, &f.Name, &def, &f.CreatedAt, &f.UpdatedAt, &f.Version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errFlowNotFound
		}
		return nil, err
	}
	var d flowDefinition
	if err := fromJSON(def, &d); err != nil {
		return nil, err
	}
	f.Language, f.Entry, f.Nodes, f.Preset = d.Language, d.Entry, d.Nodes, d.Preset
	if f.Nodes == nil {
		f.Nodes = map[string]atende.FlowNode{}
	}
	f.CreatedAt, f.UpdatedAt = f.CreatedAt.UTC(), f.UpdatedAt.UTC()
	return &f, nil
}

func definitionOf(f *atende.Flow) string {
	return jsonText(flowDefinition{Language: f.Language, Entry: f.Entry, Nodes: f.Nodes, Preset: f.Preset})
}

// flowNameTaken turns a unique violation into a conflict on the name.
func flowNameTaken(err error) error {
	if atende.ErrorCode(mapErr(err)) == atende.EConflict {
		return &atende.Error{Code: atende.EConflict, Field: "name", Message: "another flow has this name"}
	}
	return err
}

// uploadRefs lists a node's "upload:<media id>" prompts by field path.
func uploadRefs(id string, n *atende.FlowNode) map[string]string {
	out := map[string]string{}
	for field, ps := range map[string][]string{"prompts": n.Prompts, "invalid_prompts": n.InvalidPrompts, "no_input_prompts": n.NoInputPrompts} {
		for i, p := range ps {
			if m, ok := strings.CutPrefix(p, "upload:"); ok {
				out[fmt.Sprintf("nodes.%s.%s[%d]", id, field, i)] = m
			}
		}
	}
	return out
}

// prepareFlow validates f and checks that the queues, skills and uploaded
// prompts its nodes name exist in the actor's tenant.
func (t *tx) prepareFlow(f *atende.Flow) error {
	if err := f.Validate(); err != nil {
		return err
	}
	for _, id := range f.NodeIDs() {
		n := f.Nodes[id]
		refs := uploadRefs(id, &n)
		for _, field := range sortedFields(refs) {
			ok, err := t.tenantHas("media", refs[field])
			if err != nil {
				return err
			}
			if !ok {
				return atende.FieldError(field, "unknown uploaded prompt %q", refs[field])
			}
		}
		if n.QueueID != "" {
			ok, err := t.tenantHas("queues", n.QueueID)
			if err != nil {
				return err
			}
			if !ok {
				return atende.FieldError("nodes."+id+".queue_id", "unknown queue %q", n.QueueID)
			}
		}
		for i, s := range n.Skills {
			ok, err := t.tenantHas("skills", s.SkillID)
			if err != nil {
				return err
			}
			if !ok {
				return atende.FieldError(fmt.Sprintf("nodes.%s.skills[%d].skill_id", id, i), "unknown skill %q", s.SkillID)
			}
		}
	}
	return nil
}

// CreateFlow stores a new flow in the actor's tenant.
func (s *Store) CreateFlow(ctx context.Context, a atende.Actor, f *atende.Flow) error {
	return s.write(ctx, "flow.create", a, func(tx *tx) error {
		if err := tx.prepareFlow(f); err != nil {
			return err
		}
		f.ID, f.TenantID = atende.NewID(), a.TenantID
		f.CreatedAt, f.UpdatedAt, f.Version = tx.now, tx.now, 1
		if _, err := tx.exec(`INSERT INTO voice_flows (`+flowCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			f.ID, f.TenantID, f.Name, definitionOf(f), f.CreatedAt, f.UpdatedAt, f.Version); err != nil {
			return flowNameTaken(err)
		}
		return tx.change("flow.created", "flow", f.ID, atende.PermConfigRead, nil, f)
	})
}

// Flow returns a flow of the tenant.
func (s *Store) Flow(ctx context.Context, tenantID, id string) (*atende.Flow, error) {
	var f *atende.Flow
	err := s.read("flow.get", func() (err error) {
		f, err = scanFlow(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+flowCols+` FROM voice_flows WHERE tenant_id = ? AND id = ?`), tenantID, id))
		return err
	})
	return f, err
}

// Flows lists the tenant's flows by id.
func (s *Store) Flows(ctx context.Context, tenantID string, o ListOptions) (Page[atende.Flow], error) {
	after, limit, err := o.bounds()
	if err != nil {
		return Page[atende.Flow]{}, err
	}
	var items []atende.Flow
	err = s.read("flow.list", func() error {
		rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+flowCols+` FROM voice_flows WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`), tenantID, after, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			f, err := scanFlow(rows)
			if err != nil {
				return err
			}
			items = append(items, *f)
		}
		return rows.Err()
	})
	if err != nil {
		return Page[atende.Flow]{}, err
	}
	return paginate(items, limit, func(f atende.Flow) string { return f.ID }), nil
}

// UpdateFlow applies change to a flow of the actor's tenant. ifVersion,
// when not 0, must equal the stored version.
func (s *Store) UpdateFlow(ctx context.Context, a atende.Actor, id string, ifVersion int64, change func(*atende.Flow) error) (*atende.Flow, error) {
	var out *atende.Flow
	err := s.write(ctx, "flow.update", a, func(tx *tx) error {
		before, err := scanFlow(tx.queryRow(`SELECT `+flowCols+` FROM voice_flows WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		// A copy decoded afresh, so the change cannot alter "before", kept
		// for the audit log.
		f, err := scanFlowCopy(before)
		if err != nil {
			return err
		}
		if err := change(f); err != nil {
			return err
		}
		f.ID, f.TenantID, f.CreatedAt = before.ID, before.TenantID, before.CreatedAt
		if err := tx.prepareFlow(f); err != nil {
			return err
		}
		f.UpdatedAt, f.Version = tx.now, before.Version+1
		if err := tx.execOne(errFlowNotFound, `UPDATE voice_flows SET name = ?, definition = ?, updated_at = ?, version = ? WHERE tenant_id = ? AND id = ? AND version = ?`,
			f.Name, definitionOf(f), f.UpdatedAt, f.Version, f.TenantID, f.ID, before.Version); err != nil {
			return flowNameTaken(err)
		}
		out = f
		return tx.change("flow.updated", "flow", f.ID, atende.PermConfigRead, before, f)
	})
	return out, err
}

// scanFlowCopy deep-copies a flow through its stored form.
func scanFlowCopy(f *atende.Flow) (*atende.Flow, error) {
	c := *f
	var d flowDefinition
	if err := fromJSON(definitionOf(f), &d); err != nil {
		return nil, err
	}
	c.Nodes = d.Nodes
	if c.Nodes == nil {
		c.Nodes = map[string]atende.FlowNode{}
	}
	return &c, nil
}

// DeleteFlow removes a flow of the actor's tenant.
func (s *Store) DeleteFlow(ctx context.Context, a atende.Actor, id string, ifVersion int64) error {
	return s.write(ctx, "flow.delete", a, func(tx *tx) error {
		before, err := scanFlow(tx.queryRow(`SELECT `+flowCols+` FROM voice_flows WHERE tenant_id = ? AND id = ?`+tx.rowLock(), a.TenantID, id))
		if err != nil {
			return err
		}
		if err := checkVersion(ifVersion, before.Version); err != nil {
			return err
		}
		if err := tx.execOne(errFlowNotFound, `DELETE FROM voice_flows WHERE tenant_id = ? AND id = ? AND version = ?`, a.TenantID, id, before.Version); err != nil {
			return err
		}
		return tx.removed("flow.deleted", "flow", id, before)
	})
}

// FlowReferenceIssues lists, as errors, the queues and skills f names that
// do not exist in the tenant (a queue deleted after the flow was saved).
func (s *Store) FlowReferenceIssues(ctx context.Context, tenantID string, f *atende.Flow) ([]atende.FlowIssue, error) {
	var out []atende.FlowIssue
	err := s.read("flow.references", func() error {
		has := func(table, id string) (bool, error) {
			var n int
			err := s.rdb.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM `+table+` WHERE tenant_id = ? AND id = ?`), tenantID, id).Scan(&n)
			return n > 0, err
		}
		for _, id := range f.NodeIDs() {
			n := f.Nodes[id]
			refs := uploadRefs(id, &n)
			for _, field := range sortedFields(refs) {
				ok, err := has("media", refs[field])
				if err != nil {
					return err
				}
				if !ok {
					out = append(out, atende.FlowIssue{Field: field, Message: fmt.Sprintf("unknown uploaded prompt %q", refs[field]), Severity: "error"})
				}
			}
			if atende.ValidID(n.QueueID) {
				ok, err := has("queues", n.QueueID)
				if err != nil {
					return err
				}
				if !ok {
					out = append(out, atende.FlowIssue{Field: "nodes." + id + ".queue_id", Message: fmt.Sprintf("unknown queue %q", n.QueueID), Severity: "error"})
				}
			}
			for i, sk := range n.Skills {
				if !atende.ValidID(sk.SkillID) {
					continue
				}
				ok, err := has("skills", sk.SkillID)
				if err != nil {
					return err
				}
				if !ok {
					out = append(out, atende.FlowIssue{Field: fmt.Sprintf("nodes.%s.skills[%d].skill_id", id, i), Message: fmt.Sprintf("unknown skill %q", sk.SkillID), Severity: "error"})
				}
			}
		}
		return nil
	})
	return out, err
}

func sortedFields(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
