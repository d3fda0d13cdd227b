package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/atende/atende"
)

// configEntity drives the behaviour every configuration entity shares through
// closures, so one table covers teams, skills, reason codes, dispositions and
// queues alike.
type configEntity struct {
	name string // audit entity and event prefix
	// create stores the n-th valid item; the same n twice collides on name or code.
	create func(s *Store, a atende.Actor, n int) (id string, err error)
	get    func(s *Store, tenantID, id string) (label string, version int64, err error)
	list   func(s *Store, tenantID string, o ListOptions) (ids []string, next string, err error)
	// rename changes the name or code to label.
	rename func(s *Store, a atende.Actor, id string, ifVersion int64, label string) (version int64, err error)
	// invalid changes the item so it fails validation on field.
	invalid      func(s *Store, a atende.Actor, id string) error
	invalidField string
	del          func(s *Store, a atende.Actor, id string, ifVersion int64) error
}

var ctxb = context.Background()

func cfgLabels(s string) map[string]string { return map[string]string{"en": s, "es": s + " (es)"} }

var configEntities = []configEntity{
	{
		name: "team",
		create: func(s *Store, a atende.Actor, n int) (string, error) {
			t := &atende.Team{Name: fmt.Sprintf("Team %d", n), Description: "d"}
			err := s.CreateTeam(ctxb, a, t)
			return t.ID, err
		},
		get: func(s *Store, tenantID, id string) (string, int64, error) {
			t, err := s.Team(ctxb, tenantID, id)
			if err != nil {
				return "", 0, err
			}
			return t.Name, t.Version, nil
		},
		list: func(s *Store, tenantID string, o ListOptions) ([]string, string, error) {
			p, err := s.Teams(ctxb, tenantID, o)
			return idsOf(p.Items, func(t atende.Team) string { return t.ID }), p.Next, err
		},
		rename: func(s *Store, a atende.Actor, id string, v int64, label string) (int64, error) {
			t, err := s.UpdateTeam(ctxb, a, id, v, func(t *atende.Team) error { t.Name = label; return nil })
			if err != nil {
				return 0, err
			}
			return t.Version, nil
		},
		invalid: func(s *Store, a atende.Actor, id string) error {
			_, err := s.UpdateTeam(ctxb, a, id, 0, func(t *atende.Team) error { t.Name = "  "; return nil })
			return err
		},
		invalidField: "name",
		del:          func(s *Store, a atende.Actor, id string, v int64) error { return s.DeleteTeam(ctxb, a, id, v) },
	},
	{
		name: "skill",
		create: func(s *Store, a atende.Actor, n int) (string, error) {
			k := &atende.Skill{Name: fmt.Sprintf("Skill %d", n)}
			err := s.CreateSkill(ctxb, a, k)
			return k.ID, err
		},
		get: func(s *Store, tenantID, id string) (string, int64, error) {
			k, err := s.Skill(ctxb, tenantID, id)
			if err != nil {
				return "", 0, err
			}
			return k.Name, k.Version, nil
		},
		list: func(s *Store, tenantID string, o ListOptions) ([]string, string, error) {
			p, err := s.Skills(ctxb, tenantID, o)
			return idsOf(p.Items, func(k atende.Skill) string { return k.ID }), p.Next, err
		},
		rename: func(s *Store, a atende.Actor, id string, v int64, label string) (int64, error) {
			k, err := s.UpdateSkill(ctxb, a, id, v, func(k *atende.Skill) error { k.Name = label; return nil })
			if err != nil {
				return 0, err
			}
			return k.Version, nil
		},
		invalid: func(s *Store, a atende.Actor, id string) error {
			_, err := s.UpdateSkill(ctxb, a, id, 0, func(k *atende.Skill) error { k.Name = ""; return nil })
			return err
		},
		invalidField: "name",
		del:          func(s *Store, a atende.Actor, id string, v int64) error { return s.DeleteSkill(ctxb, a, id, v) },
	},
	{
		name: "reason_code",
		create: func(s *Store, a atende.Actor, n int) (string, error) {
			r := &atende.ReasonCode{Code: fmt.Sprintf("code_%d", n), Labels: cfgLabels("Lunch"), Paid: n%2 == 0, Active: true}
			err := s.CreateReasonCode(ctxb, a, r)
			return r.ID, err
		},
		get: func(s *Store, tenantID, id string) (string, int64, error) {
			r, err := s.ReasonCode(ctxb, tenantID, id)
			if err != nil {
				return "", 0, err
			}
			return r.Code, r.Version, nil
		},
		list: func(s *Store, tenantID string, o ListOptions) ([]string, string, error) {
			p, err := s.ReasonCodes(ctxb, tenantID, o)
			return idsOf(p.Items, func(r atende.ReasonCode) string { return r.ID }), p.Next, err
		},
		rename: func(s *Store, a atende.Actor, id string, v int64, label string) (int64, error) {
			r, err := s.UpdateReasonCode(ctxb, a, id, v, func(r *atende.ReasonCode) error { r.Code = label; return nil })
			if err != nil {
				return 0, err
			}
			return r.Version, nil
		},
		invalid: func(s *Store, a atende.Actor, id string) error {
			_, err := s.UpdateReasonCode(ctxb, a, id, 0, func(r *atende.ReasonCode) error { r.Labels = map[string]string{"xx": "?"}; return nil })
			return err
		},
		invalidField: "labels",
		del:          func(s *Store, a atende.Actor, id string, v int64) error { return s.DeleteReasonCode(ctxb, a, id, v) },
	},
	{
		name: "disposition",
		create: func(s *Store, a atende.Actor, n int) (string, error) {
			d := &atende.Disposition{Code: fmt.Sprintf("disp.%d", n), Labels: cfgLabels("Sold"), Category: "sale", Resolves: true, Active: true}
			err := s.CreateDisposition(ctxb, a, d)
			return d.ID, err
		},
		get: func(s *Store, tenantID, id string) (string, int64, error) {
			d, err := s.Disposition(ctxb, tenantID, id)
			if err != nil {
				return "", 0, err
			}
			return d.Code, d.Version, nil
		},
		list: func(s *Store, tenantID string, o ListOptions) ([]string, string, error) {
			p, err := s.Dispositions(ctxb, tenantID, o)
			return idsOf(p.Items, func(d atende.Disposition) string { return d.ID }), p.Next, err
		},
		rename: func(s *Store, a atende.Actor, id string, v int64, label string) (int64, error) {
			d, err := s.UpdateDisposition(ctxb, a, id, v, func(d *atende.Disposition) error { d.Code = label; return nil })
			if err != nil {
				return 0, err
			}
			return d.Version, nil
		},
		invalid: func(s *Store, a atende.Actor, id string) error {
			_, err := s.UpdateDisposition(ctxb, a, id, 0, func(d *atende.Disposition) error { d.Code = "has space"; return nil })
			return err
		},
		invalidField: "code",
		del:          func(s *Store, a atende.Actor, id string, v int64) error { return s.DeleteDisposition(ctxb, a, id, v) },
	},
	{
		name: "queue",
		create: func(s *Store, a atende.Actor, n int) (string, error) {
			q := &atende.Queue{Name: fmt.Sprintf("Queue %d", n), Channels: []atende.Channel{atende.ChannelChat, atende.ChannelEmail}}
			err := s.CreateQueue(ctxb, a, q)
			return q.ID, err
		},
		get: func(s *Store, tenantID, id string) (string, int64, error) {
			q, err := s.Queue(ctxb, tenantID, id)
			if err != nil {
				return "", 0, err
			}
			return q.Name, q.Version, nil
		},
		list: func(s *Store, tenantID string, o ListOptions) ([]string, string, error) {
			p, err := s.Queues(ctxb, tenantID, o)
			return idsOf(p.Items, func(q atende.Queue) string { return q.ID }), p.Next, err
		},
		rename: func(s *Store, a atende.Actor, id string, v int64, label string) (int64, error) {
			q, err := s.UpdateQueue(ctxb, a, id, v, func(q *atende.Queue) error { q.Name = label; return nil })
			if err != nil {
				return 0, err
			}
			return q.Version, nil
		},
		invalid: func(s *Store, a atende.Actor, id string) error {
			_, err := s.UpdateQueue(ctxb, a, id, 0, func(q *atende.Queue) error { q.Channels = nil; return nil })
			return err
		},
		invalidField: "channels",
		del:          func(s *Store, a atende.Actor, id string, v int64) error { return s.DeleteQueue(ctxb, a, id, v) },
	},
}

func idsOf[T any](items []T, id func(T) string) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	wantCode(t, err, atende.EInvalid)
	if e, ok := err.(*atende.Error); !ok || e.Field != field {
		t.Fatalf("error = %v, want field %q", err, field)
	}
}

// cfgEventTypes returns the types and subjects of the tenant's events in order.
func cfgEventTypes(t *testing.T, s *Store, tenantID string) []string {
	t.Helper()
	rows, err := s.rdb.Query(s.q(`SELECT type, subject, perm, data FROM events WHERE tenant_id = ? ORDER BY id`), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ, subject, perm, data string
		if err := rows.Scan(&typ, &subject, &perm, &data); err != nil {
			t.Fatal(err)
		}
		if !json.Valid([]byte(data)) || data == "null" {
			t.Fatalf("event %s %s has data %q", typ, subject, data)
		}
		if typ != "tenant.created" && perm != string(atende.PermConfigRead) && perm != string(atende.PermUsersRead) {
			t.Fatalf("event %s has perm %q", typ, perm)
		}
		out = append(out, typ+" "+subject)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestConfigEntities(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		for _, e := range configEntities {
			t.Run(e.name, func(t *testing.T) {
				tA, a := newTenant(t, s, "Tenant A "+e.name)
				a.UserID, a.Name, a.IP = atende.NewID(), "Ana Admin", "192.0.2.7"
				tB, b := newTenant(t, s, "Tenant B "+e.name)

				t.Run("create, get and paginate without gaps", func(t *testing.T) {
					var want []string
					for n := range 7 {
						id, err := e.create(s, a, n)
						if err != nil {
							t.Fatalf("create %d: %v", n, err)
						}
						want = append(want, id)
					}
					if _, err := e.create(s, b, 100); err != nil {
						t.Fatal(err)
					}
					label, v, err := e.get(s, tA.ID, want[0])
					if err != nil || v != 1 || label == "" {
						t.Fatalf("get = %q, %d, %v", label, v, err)
					}
					var got []string
					o := ListOptions{Limit: 3}
					for pages := 0; ; pages++ {
						ids, next, err := e.list(s, tA.ID, o)
						if err != nil {
							t.Fatal(err)
						}
						if len(ids) > 3 || pages > 3 {
							t.Fatalf("page %d has %d items", pages, len(ids))
						}
						got = append(got, ids...)
						if next == "" {
							break
						}
						o.Cursor = next
					}
					if !slices.Equal(got, want) {
						t.Fatalf("listed %v, want %v in creation order", got, want)
					}
					_, _, err = e.list(s, tA.ID, ListOptions{Cursor: "not a cursor"})
					wantField(t, err, "cursor")
				})

				id, err := e.create(s, a, 1000)
				if err != nil {
					t.Fatal(err)
				}

				t.Run("duplicate name or code conflicts", func(t *testing.T) {
					_, err := e.create(s, a, 1000)
					wantCode(t, err, atende.EConflict)
					// The same name in another tenant is fine.
					if _, err := e.create(s, b, 1000); err != nil {
						t.Fatal(err)
					}
					other, _ := e.create(s, a, 1001)
					_, err = e.rename(s, a, other, 0, mustLabel(t, e, s, tA.ID, id))
					wantCode(t, err, atende.EConflict)
				})

				t.Run("update checks the version", func(t *testing.T) {
					v, err := e.rename(s, a, id, 1, "renamed-1")
					if err != nil || v != 2 {
						t.Fatalf("rename = %d, %v", v, err)
					}
					_, err = e.rename(s, a, id, 1, "stale")
					wantCode(t, err, atende.EPreconditionFailed)
					v, err = e.rename(s, a, id, 0, "renamed-2")
					if err != nil || v != 3 {
						t.Fatalf("unconditional rename = %d, %v", v, err)
					}
					if label, v, _ := e.get(s, tA.ID, id); label != "renamed-2" || v != 3 {
						t.Fatalf("after rename: %q version %d", label, v)
					}
				})

				t.Run("validation names the field", func(t *testing.T) {
					wantField(t, e.invalid(s, a, id), e.invalidField)
					if _, v, _ := e.get(s, tA.ID, id); v != 3 {
						t.Fatalf("failed update changed the version to %d", v)
					}
				})

				t.Run("another tenant's id is not found", func(t *testing.T) {
					_, _, err := e.get(s, tB.ID, id)
					wantCode(t, err, atende.ENotFound)
					_, err = e.rename(s, b, id, 0, "hijack")
					wantCode(t, err, atende.ENotFound)
					wantCode(t, e.del(s, b, id, 0), atende.ENotFound)
					ids, _, err := e.list(s, tB.ID, ListOptions{Limit: 200})
					if err != nil || len(ids) != 2 || slices.Contains(ids, id) {
						t.Fatalf("tenant B lists %v, %v", ids, err)
					}
					if label, _, err := e.get(s, tA.ID, id); err != nil || label != "renamed-2" {
						t.Fatalf("tenant A's item after B's attempts: %q, %v", label, err)
					}
				})

				t.Run("audit entries keep before and after", func(t *testing.T) {
					p, err := s.AuditLog(ctxb, tA.ID, AuditFilter{Entity: e.name, EntityID: id}, ListOptions{})
					if err != nil {
						t.Fatal(err)
					}
					var actions []string
					for _, en := range p.Items {
						actions = append(actions, en.Action)
					}
					want := []string{e.name + ".updated", e.name + ".updated", e.name + ".created"}
					if !slices.Equal(actions, want) {
						t.Fatalf("audit actions %v, want %v (newest first)", actions, want)
					}
					last := p.Items[0]
					if last.ActorID != a.UserID || last.ActorName != "Ana Admin" || last.IP != "192.0.2.7" || last.TenantID != tA.ID {
						t.Fatalf("audit actor %+v", last)
					}
					var before, after map[string]any
					if err := json.Unmarshal(last.Before, &before); err != nil {
						t.Fatal(err)
					}
					if err := json.Unmarshal(last.After, &after); err != nil {
						t.Fatal(err)
					}
					if before["version"] != 2.0 || after["version"] != 3.0 {
						t.Fatalf("audit before %v after %v", before, after)
					}
					if created := p.Items[2]; created.Before != nil || created.After == nil {
						t.Fatalf("create audit before %s after %s", created.Before, created.After)
					}
					b, _ := s.AuditLog(ctxb, tB.ID, AuditFilter{EntityID: id}, ListOptions{})
					if len(b.Items) != 0 {
						t.Fatalf("tenant B sees A's audit entries: %+v", b.Items)
					}
				})

				t.Run("delete checks the version and removes", func(t *testing.T) {
					wantCode(t, e.del(s, a, id, 1), atende.EPreconditionFailed)
					if err := e.del(s, a, id, 3); err != nil {
						t.Fatal(err)
					}
					_, _, err := e.get(s, tA.ID, id)
					wantCode(t, err, atende.ENotFound)
					wantCode(t, e.del(s, a, id, 0), atende.ENotFound)
					_, err = e.rename(s, a, id, 0, "ghost")
					wantCode(t, err, atende.ENotFound)
					p, _ := s.AuditLog(ctxb, tA.ID, AuditFilter{EntityID: id}, ListOptions{Limit: 1})
					if len(p.Items) != 1 || p.Items[0].Action != e.name+".deleted" || p.Items[0].Before == nil || p.Items[0].After != nil {
						t.Fatalf("delete audit %+v", p.Items)
					}
				})

				t.Run("events are in the outbox", func(t *testing.T) {
					evs := cfgEventTypes(t, s, tA.ID)
					for _, want := range []string{".created ", ".updated ", ".deleted "} {
						if !slices.Contains(evs, e.name+want+id) {
							t.Fatalf("no %s event in %v", e.name+want+id, evs)
						}
					}
					for _, ev := range cfgEventTypes(t, s, tB.ID) {
						if ev[len(ev)-36:] == id {
							t.Fatalf("tenant B has event %s", ev)
						}
					}
				})
			})
		}
	})
}

func mustLabel(t *testing.T, e configEntity, s *Store, tenantID, id string) string {
	t.Helper()
	label, _, err := e.get(s, tenantID, id)
	if err != nil {
		t.Fatal(err)
	}
	return label
}

// cfgUser creates a user to put in teams and give skills.
func cfgUser(t *testing.T, s *Store, a atende.Actor, email string, skills ...atende.AgentSkill) string {
	t.Helper()
	u := &atende.User{Email: email, Name: email, Roles: []atende.Role{atende.RoleAgent}, Active: true, Skills: skills}
	if err := s.CreateUser(ctxb, a, u, ""); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestTeamMembers(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		tA, a := newTenant(t, s, "Members A")
		_, b := newTenant(t, s, "Members B")
		u1, u2, u3 := cfgUser(t, s, a, "u1@example.com"), cfgUser(t, s, a, "u2@example.com"), cfgUser(t, s, a, "u3@example.com")
		foreign := cfgUser(t, s, b, "other@example.com")

		empty := &atende.Team{Name: "Empty"}
		if err := s.CreateTeam(ctxb, a, empty); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Team(ctxb, tA.ID, empty.ID); got.MemberIDs == nil || len(got.MemberIDs) != 0 {
			t.Fatalf("empty team members = %#v, want []", got.MemberIDs)
		}

		for _, tc := range []struct {
			name    string
			members []string
		}{
			{"a user of another tenant", []string{u1, foreign}},
			{"a user that does not exist", []string{atende.NewID()}},
			{"something not an id", []string{"bob"}},
		} {
			t.Run("rejects "+tc.name, func(t *testing.T) {
				wantField(t, s.CreateTeam(ctxb, a, &atende.Team{Name: "Bad " + tc.name, MemberIDs: tc.members}), "member_ids")
			})
		}

		team := &atende.Team{Name: "Sales", MemberIDs: []string{u3, u1, u3}}
		if err := s.CreateTeam(ctxb, a, team); err != nil {
			t.Fatal(err)
		}
		want := []string{u1, u3}
		slices.Sort(want)
		got, err := s.Team(ctxb, tA.ID, team.ID)
		if err != nil || !slices.Equal(got.MemberIDs, want) {
			t.Fatalf("members = %v, %v; want %v sorted and unique", got.MemberIDs, err, want)
		}
		if u, _ := s.User(ctxb, tA.ID, u1); u == nil || !slices.Contains(u.TeamIDs, team.ID) {
			t.Fatalf("user's teams do not show the team: %+v", u)
		}

		up, err := s.UpdateTeam(ctxb, a, team.ID, 1, func(t *atende.Team) error { t.MemberIDs = []string{u2}; return nil })
		if err != nil || !slices.Equal(up.MemberIDs, []string{u2}) || up.Version != 2 {
			t.Fatalf("UpdateTeam = %+v, %v", up, err)
		}
		_, err = s.UpdateTeam(ctxb, a, team.ID, 0, func(t *atende.Team) error { t.MemberIDs = append(t.MemberIDs, foreign); return nil })
		wantField(t, err, "member_ids")

		p, err := s.Teams(ctxb, tA.ID, ListOptions{})
		if err != nil || len(p.Items) != 2 || !slices.Equal(p.Items[1].MemberIDs, []string{u2}) || len(p.Items[0].MemberIDs) != 0 {
			t.Fatalf("Teams = %+v, %v", p.Items, err)
		}

		// The audit keeps the member list before and after.
		log, _ := s.AuditLog(ctxb, tA.ID, AuditFilter{Entity: "team", EntityID: team.ID}, ListOptions{Limit: 1})
		var before, after atende.Team
		json.Unmarshal(log.Items[0].Before, &before)
		json.Unmarshal(log.Items[0].After, &after)
		if !slices.Equal(before.MemberIDs, want) || !slices.Equal(after.MemberIDs, []string{u2}) {
			t.Fatalf("audit members before %v after %v", before.MemberIDs, after.MemberIDs)
		}

		if err := s.DeleteTeam(ctxb, a, team.ID, 0); err != nil {
			t.Fatal(err)
		}
		var n int
		s.rdb.QueryRow(s.q(`SELECT COUNT(*) FROM team_members WHERE team_id = ?`), team.ID).Scan(&n)
		if n != 0 {
			t.Fatalf("%d memberships outlive the team", n)
		}
	})
}

func TestQueueReferences(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		tA, a := newTenant(t, s, "Queues A")
		_, b := newTenant(t, s, "Queues B")
		skill := &atende.Skill{Name: "Spanish"}
		team := &atende.Team{Name: "Tier 1"}
		foreignSkill := &atende.Skill{Name: "Spanish"}
		foreignTeam := &atende.Team{Name: "Tier 1"}
		for _, err := range []error{s.CreateSkill(ctxb, a, skill), s.CreateTeam(ctxb, a, team), s.CreateSkill(ctxb, b, foreignSkill), s.CreateTeam(ctxb, b, foreignTeam)} {
			if err != nil {
				t.Fatal(err)
			}
		}
		chat := []atende.Channel{atende.ChannelChat}

		for _, tc := range []struct {
			name  string
			q     atende.Queue
			field string
		}{
			{"skill of another tenant", atende.Queue{Skills: []atende.RequiredSkill{{SkillID: foreignSkill.ID, MinProficiency: 3}}}, "skills"},
			{"missing skill", atende.Queue{Skills: []atende.RequiredSkill{{SkillID: atende.NewID(), MinProficiency: 3}}}, "skills"},
			{"proficiency out of range", atende.Queue{Skills: []atende.RequiredSkill{{SkillID: skill.ID, MinProficiency: 11}}}, "skills"},
			{"team of another tenant", atende.Queue{TeamIDs: []string{foreignTeam.ID}}, "team_ids"},
			{"missing team", atende.Queue{TeamIDs: []string{atende.NewID()}}, "team_ids"},
			{"unknown channel", atende.Queue{Channels: []atende.Channel{"fax"}}, "channels"},
			{"service level over 100%", atende.Queue{SLTargetPct: 101, SLThresholdSec: 20}, "sl_target_pct"},
		} {
			t.Run("rejects "+tc.name, func(t *testing.T) {
				q := tc.q
				q.Name = "Bad " + tc.name
				if q.Channels == nil {
					q.Channels = chat
				}
				wantField(t, s.CreateQueue(ctxb, a, &q), tc.field)
			})
		}

		q := &atende.Queue{Name: "Support", Channels: []atende.Channel{atende.ChannelChat, atende.ChannelChat, atende.ChannelVoice},
			Skills:  []atende.RequiredSkill{{SkillID: skill.ID, MinProficiency: 5}},
			TeamIDs: []string{team.ID, team.ID}, Priority: 7}
		if err := s.CreateQueue(ctxb, a, q); err != nil {
			t.Fatal(err)
		}
		got, err := s.Queue(ctxb, tA.ID, q.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Channels, []atende.Channel{atende.ChannelChat, atende.ChannelVoice}) || !slices.Equal(got.TeamIDs, []string{team.ID}) ||
			len(got.Skills) != 1 || got.Skills[0] != (atende.RequiredSkill{SkillID: skill.ID, MinProficiency: 5}) ||
			got.SLTargetPct != 80 || got.SLThresholdSec != 20 || got.Priority != 7 || !got.CreatedAt.Equal(q.CreatedAt) {
			t.Fatalf("Queue = %+v", got)
		}

		// Skills and teams a queue uses cannot go away under it.
		wantCode(t, s.DeleteSkill(ctxb, a, skill.ID, 0), atende.EConflict)
		wantCode(t, s.DeleteTeam(ctxb, a, team.ID, 0), atende.EConflict)

		up, err := s.UpdateQueue(ctxb, a, q.ID, 1, func(q *atende.Queue) error {
			q.Skills, q.TeamIDs = nil, nil
			return nil
		})
		if err != nil || up.Skills == nil || up.TeamIDs == nil || len(up.Skills)+len(up.TeamIDs) != 0 {
			t.Fatalf("UpdateQueue = %+v, %v", up, err)
		}
		_, err = s.UpdateQueue(ctxb, a, q.ID, 0, func(q *atende.Queue) error { q.TeamIDs = []string{foreignTeam.ID}; return nil })
		wantField(t, err, "team_ids")
		if err := s.DeleteSkill(ctxb, a, skill.ID, 0); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteTeam(ctxb, a, team.ID, 0); err != nil {
			t.Fatal(err)
		}
		p, _ := s.Queues(ctxb, tA.ID, ListOptions{})
		if b, _ := json.Marshal(p.Items); !json.Valid(b) || len(p.Items) != 1 || p.Items[0].Skills == nil {
			t.Fatalf("Queues = %s", b)
		}
	})
}

func TestSkillDeleteRemovesAgentSkills(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		tA, a := newTenant(t, s, "Skills A")
		keep, drop := &atende.Skill{Name: "Keep"}, &atende.Skill{Name: "Drop"}
		if err := s.CreateSkill(ctxb, a, keep); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateSkill(ctxb, a, drop); err != nil {
			t.Fatal(err)
		}
		uid := cfgUser(t, s, a, "agent@example.com", atende.AgentSkill{SkillID: keep.ID, Proficiency: 4}, atende.AgentSkill{SkillID: drop.ID, Proficiency: 9})
		if err := s.DeleteSkill(ctxb, a, drop.ID, 1); err != nil {
			t.Fatal(err)
		}
		u, err := s.User(ctxb, tA.ID, uid)
		if err != nil || len(u.Skills) != 1 || u.Skills[0].SkillID != keep.ID {
			t.Fatalf("agent skills after delete = %+v, %v", u, err)
		}
		var n int
		s.rdb.QueryRow(s.q(`SELECT COUNT(*) FROM agent_skills WHERE skill_id = ?`), drop.ID).Scan(&n)
		if n != 0 {
			t.Fatalf("%d agent_skills rows outlive the skill", n)
		}
	})
}

func TestReasonCodeByCodeAndInUse(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		tA, a := newTenant(t, s, "Reasons A")
		tB, _ := newTenant(t, s, "Reasons B")
		r := &atende.ReasonCode{Code: " lunch ", Labels: map[string]string{"es": "Almuerzo", "pt-BR": "Almoço"}, Paid: false, Active: true}
		if err := s.CreateReasonCode(ctxb, a, r); err != nil {
			t.Fatal(err)
		}
		got, err := s.ReasonCodeByCode(ctxb, tA.ID, "lunch")
		if err != nil || got.ID != r.ID || got.Labels["pt-BR"] != "Almoço" || !got.Active || got.Paid {
			t.Fatalf("ReasonCodeByCode = %+v, %v", got, err)
		}
		_, err = s.ReasonCodeByCode(ctxb, tB.ID, "lunch")
		wantCode(t, err, atende.ENotFound)
		_, err = s.ReasonCodeByCode(ctxb, tA.ID, "dinner")
		wantCode(t, err, atende.ENotFound)
		wantField(t, s.CreateReasonCode(ctxb, a, &atende.ReasonCode{Code: "", Labels: cfgLabels("x")}), "code")

		uid := cfgUser(t, s, a, "away@example.com")
		if _, err := s.SetAgentState(ctxb, a, uid, atende.StatusAway, "lunch"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.DeleteReasonCode(ctxb, a, r.ID, 0), atende.EConflict)
		off, err := s.UpdateReasonCode(ctxb, a, r.ID, 1, func(r *atende.ReasonCode) error { r.Active = false; return nil })
		if err != nil || off.Active || off.Version != 2 {
			t.Fatalf("deactivate = %+v, %v", off, err)
		}
	})
}

func TestDispositionInUse(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		tA, a := newTenant(t, s, "Dispositions A")
		inactive := &atende.Disposition{Code: "spam", Labels: cfgLabels("Spam"), Active: false, RequireNote: true}
		if err := s.CreateDisposition(ctxb, a, inactive); err != nil {
			t.Fatal(err)
		}
		got, err := s.Disposition(ctxb, tA.ID, inactive.ID)
		if err != nil || got.Active || !got.RequireNote || got.Labels["en"] != "Spam" {
			t.Fatalf("Disposition = %+v, %v", got, err)
		}
		wantField(t, s.CreateDisposition(ctxb, a, &atende.Disposition{Code: "x", Labels: cfgLabels("x"), Category: strings.Repeat("c", 65)}), "category")

		// A conversation that carries the disposition keeps it from deletion.
		contact, conv := atende.NewID(), atende.NewID()
		now := s.now()
		if _, err := s.wdb.Exec(s.q(`INSERT INTO contacts (id, tenant_id, fields, tags, created_at, updated_at) VALUES (?, ?, '{}', '[]', ?, ?)`), contact, tA.ID, now, now); err != nil {
			t.Fatal(err)
		}
		if _, err := s.wdb.Exec(s.q(`INSERT INTO conversations (id, tenant_id, protocol, contact_id, channel, channels, status, tags, disposition_id, last_activity_at, created_at, updated_at)
			VALUES (?, ?, 'P1', ?, 'chat', '["chat"]', 'closed', '[]', ?, ?, ?, ?)`), conv, tA.ID, contact, inactive.ID, now, now, now); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.DeleteDisposition(ctxb, a, inactive.ID, 0), atende.EConflict)
	})
}

func TestAuditLogFiltersAndPages(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		tA, a := newTenant(t, s, "Audit A")
		alice, bob := a, a
		alice.UserID, alice.Kind, alice.Name = atende.NewID(), "user", "Alice"
		bob.UserID, bob.Kind, bob.Name = atende.NewID(), "token", "Bob's script"
		var skills []string
		for n := range 5 {
			actor := alice
			if n%2 == 1 {
				actor = bob
			}
			k := &atende.Skill{Name: fmt.Sprintf("S%d", n)}
			if err := s.CreateSkill(ctxb, actor, k); err != nil {
				t.Fatal(err)
			}
			skills = append(skills, k.ID)
		}
		if _, err := s.UpdateSkill(ctxb, bob, skills[0], 0, func(k *atende.Skill) error { k.Description = "now described"; return nil }); err != nil {
			t.Fatal(err)
		}

		// Walk every skill entry two at a time, newest first.
		var got []atende.AuditEntry
		o := ListOptions{Limit: 2}
		for {
			p, err := s.AuditLog(ctxb, tA.ID, AuditFilter{Entity: "skill"}, o)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, p.Items...)
			if p.Next == "" {
				break
			}
			o.Cursor = p.Next
		}
		if len(got) != 6 {
			t.Fatalf("got %d skill audit entries, want 6", len(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i].ID >= got[i-1].ID {
				t.Fatalf("entries not newest first: %s then %s", got[i-1].ID, got[i].ID)
			}
		}
		if got[0].Action != "skill.updated" || got[0].EntityID != skills[0] || got[0].ActorKind != "token" || got[0].ActorName != "Bob's script" {
			t.Fatalf("newest entry %+v", got[0])
		}
		if got[5].Action != "skill.created" || got[5].EntityID != skills[0] || got[5].Before != nil {
			t.Fatalf("oldest entry %+v", got[5])
		}

		for _, tc := range []struct {
			name string
			f    AuditFilter
			want int
		}{
			{"by actor", AuditFilter{ActorID: bob.UserID}, 3},
			{"by entity id", AuditFilter{EntityID: skills[0]}, 2},
			{"by entity and actor", AuditFilter{Entity: "skill", EntityID: skills[0], ActorID: alice.UserID}, 1},
			{"by other entity", AuditFilter{Entity: "queue"}, 0},
			{"everything", AuditFilter{}, 7}, // with tenant.created
		} {
			t.Run(tc.name, func(t *testing.T) {
				p, err := s.AuditLog(ctxb, tA.ID, tc.f, ListOptions{})
				if err != nil || len(p.Items) != tc.want || p.Items == nil || p.Next != "" {
					t.Fatalf("AuditLog(%+v) = %d items, next %q, %v; want %d", tc.f, len(p.Items), p.Next, err, tc.want)
				}
			})
		}
		_, err := s.AuditLog(ctxb, tA.ID, AuditFilter{}, ListOptions{Limit: 500})
		wantField(t, err, "limit")
	})
}

// Concurrent unconditional updates must all apply, one version each: on
// PostgreSQL the row lock makes each update read the previous one's version.
func TestQueueConcurrentUpdatesSerialise(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		tA, a := newTenant(t, s, "Concurrent")
		q := &atende.Queue{Name: "Busy", Channels: []atende.Channel{atende.ChannelVoice}}
		if err := s.CreateQueue(ctxb, a, q); err != nil {
			t.Fatal(err)
		}
		const n = 8
		errs := make(chan error, n)
		for range n {
			go func() {
				_, err := s.UpdateQueue(ctxb, a, q.ID, 0, func(q *atende.Queue) error { q.Priority++; return nil })
				errs <- err
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Queue(ctxb, tA.ID, q.ID)
		if err != nil || got.Version != n+1 || got.Priority != n {
			t.Fatalf("after %d updates: version %d priority %d, %v", n, got.Version, got.Priority, err)
		}
	})
}

func TestQueueRoutingTargetsAndCycles(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		mk := func(name string, r func(*atende.QueueRouting)) (*atende.Queue, error) {
			q := &atende.Queue{Name: name, Channels: []atende.Channel{atende.ChannelVoice}}
			if r != nil {
				r(&q.Routing)
			}
			return q, s.CreateQueue(ctx, a, q)
		}
		qa, err := mk("A", nil)
		if err != nil {
			t.Fatal(err)
		}
		if qa.Routing.Strategy != atende.StrategyLongestIdle || qa.Routing.OfferTimeoutSec != 20 {
			t.Fatalf("routing defaults not filled: %+v", qa.Routing)
		}
		got, _ := s.Queue(ctx, a.TenantID, qa.ID)
		if got.Routing.AgingSec != 60 || got.Routing.ClosedAction.Type != atende.ActionVoicemail {
			t.Fatalf("routing not stored: %+v", got.Routing)
		}
		qb, err := mk("B", func(r *atende.QueueRouting) {
			r.MaxWaitAction = atende.QueueAction{Type: atende.ActionOverflow, QueueID: qa.ID}
		})
		if err != nil {
			t.Fatal(err)
		}
		// Diamond shapes are fine: C overflows to A and B, B to A.
		if _, err := mk("C", func(r *atende.QueueRouting) {
			r.FullAction = atende.QueueAction{Type: atende.ActionOverflow, QueueID: qa.ID}
			r.MaxWaitAction = atende.QueueAction{Type: atende.ActionOverflow, QueueID: qb.ID}
		}); err != nil {
			t.Fatalf("diamond rejected: %v", err)
		}
		_, err = mk("D", func(r *atende.QueueRouting) {
			r.MaxWaitAction = atende.QueueAction{Type: atende.ActionOverflow, QueueID: atende.NewID()}
		})
		wantCode(t, err, atende.EInvalid)
		// A → B would close the loop B → A.
		_, err = s.UpdateQueue(ctx, a, qa.ID, 0, func(q *atende.Queue) error {
			q.Routing.NoMatchAction = atende.QueueAction{Type: atende.ActionOverflow, QueueID: qb.ID}
			return nil
		})
		if atende.ErrorCode(err) != atende.EInvalid || !strings.Contains(err.Error(), "A → B → A") {
			t.Fatalf("cycle: %v", err)
		}
		// Spain preset caps the wait at 3 minutes with a callback.
		es, err := mk("ES", func(r *atende.QueueRouting) { r.Preset = atende.PresetSpain })
		if err != nil || es.MaxWaitSec != 180 || es.Routing.MaxWaitAction.Type != atende.ActionCallback {
			t.Fatalf("spain preset: %+v %v", es, err)
		}
		_, err = mk("BR", func(r *atende.QueueRouting) {
			r.Preset = atende.PresetBrazil
			r.ClosedAction = atende.QueueAction{Type: atende.ActionReject}
		})
		wantCode(t, err, atende.EInvalid)
	})
}

func TestQueueTheTeamsCannotServeIsRefused(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, a := newTenant(t, s, "Acme")
		klingon := &atende.Skill{Name: "Klingon"}
		if err := s.CreateSkill(ctx, a, klingon); err != nil {
			t.Fatal(err)
		}
		u := &atende.User{Email: "ana@acme.es", Name: "Ana", Roles: []atende.Role{atende.RoleAgent}, Active: true,
			Skills: []atende.AgentSkill{{SkillID: klingon.ID, Proficiency: 4}}}
		if err := s.CreateUser(ctx, a, u, ""); err != nil {
			t.Fatal(err)
		}
		team := &atende.Team{Name: "Madrid", MemberIDs: []string{u.ID}}
		if err := s.CreateTeam(ctx, a, team); err != nil {
			t.Fatal(err)
		}
		q := &atende.Queue{Name: "K", Channels: []atende.Channel{atende.ChannelChat}, TeamIDs: []string{team.ID},
			Skills: []atende.RequiredSkill{{SkillID: klingon.ID, MinProficiency: 8}}}
		wantCode(t, s.CreateQueue(ctx, a, q), atende.EInvalid)
		// An escalation that relaxes the minimum to what the team has makes it reachable.
		q.Routing.Escalations = []atende.Escalation{{AfterSec: 60, Type: atende.EscalateRelaxSkill, SkillID: klingon.ID, MinProficiency: 4}}
		if err := s.CreateQueue(ctx, a, q); err != nil {
			t.Fatalf("reachable after relaxing: %v", err)
		}
	})
}
