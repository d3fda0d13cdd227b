package store

import (
	"context"
	"strings"
	"testing"

	"github.com/atende/atende"
)

func TestFlowsCRUDVersionsAndTenants(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, sys := newTenant(t, s, "Acme")
		_, sysB := newTenant(t, s, "Other")
		q := &atende.Queue{Name: "Atendimento", Channels: []atende.Channel{atende.ChannelVoice}}
		if err := s.CreateQueue(ctx, sys, q); err != nil {
			t.Fatal(err)
		}
		skill := &atende.Skill{Name: "Português"}
		if err := s.CreateSkill(ctx, sys, skill); err != nil {
			t.Fatal(err)
		}
		f, err := atende.PresetFlow("brazil", "SAC", "", q.ID)
		if err != nil {
			t.Fatal(err)
		}
		qn := f.Nodes["queue"]
		qn.Skills = []atende.RequiredSkill{{SkillID: skill.ID, MinProficiency: 5}}
		f.Nodes["queue"] = qn
		if err := s.CreateFlow(ctx, sys, f); err != nil {
			t.Fatal(err)
		}
		if f.Version != 1 || f.TenantID != sys.TenantID || !atende.ValidID(f.ID) {
			t.Fatalf("created %+v", f)
		}
		got, err := s.Flow(ctx, sys.TenantID, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Preset != atende.PresetBrazil || got.Language != "pt-BR" || len(got.Nodes) != len(f.Nodes) ||
			got.Nodes["queue"].Skills[0].SkillID != skill.ID || got.Nodes["menu"].Options["2"] != "cancellation" {
			t.Fatalf("read back %+v", got)
		}
		// The same name is a conflict on name; another tenant may use it.
		dup, _ := atende.PresetFlow("basic", "SAC", "", q.ID)
		err = s.CreateFlow(ctx, sys, dup)
		wantCode(t, err, atende.EConflict)
		if e := err.(*atende.Error); e.Field != "name" {
			t.Fatalf("conflict field %q", e.Field)
		}
		// Queues and skills are looked up in the actor's tenant only.
		foreign, _ := atende.PresetFlow("basic", "SAC", "", q.ID)
		err = s.CreateFlow(ctx, sysB, foreign)
		wantCode(t, err, atende.EInvalid)
		if e := err.(*atende.Error); !strings.HasPrefix(e.Field, "nodes.") || !strings.HasSuffix(e.Field, ".queue_id") {
			t.Fatalf("foreign queue field %q", e.Field)
		}
		if _, err := s.Flow(ctx, sysB.TenantID, f.ID); atende.ErrorCode(err) != atende.ENotFound {
			t.Fatalf("other tenant reads the flow: %v", err)
		}
		page, err := s.Flows(ctx, sysB.TenantID, ListOptions{})
		if err != nil || len(page.Items) != 0 {
			t.Fatalf("other tenant lists %v %v", page.Items, err)
		}
		_, err = s.UpdateFlow(ctx, sysB, f.ID, 0, func(*atende.Flow) error { return nil })
		wantCode(t, err, atende.ENotFound)
		wantCode(t, s.DeleteFlow(ctx, sysB, f.ID, 0), atende.ENotFound)

		// Updates check the version and revalidate.
		_, err = s.UpdateFlow(ctx, sys, f.ID, 7, func(*atende.Flow) error { return nil })
		wantCode(t, err, atende.EPreconditionFailed)
		_, err = s.UpdateFlow(ctx, sys, f.ID, 1, func(f *atende.Flow) error {
			n := f.Nodes["welcome"]
			n.Next = "nowhere"
			f.Nodes["welcome"] = n
			return nil
		})
		if e, ok := err.(*atende.Error); !ok || e.Field != "nodes.welcome.next" || !strings.Contains(e.Message, `unknown node "nowhere"`) {
			t.Fatalf("bad target: %v", err)
		}
		up, err := s.UpdateFlow(ctx, sys, f.ID, 1, func(f *atende.Flow) error {
			f.Name = "SAC 24h"
			f.Nodes["goodbye"] = atende.FlowNode{Kind: atende.NodeHangup, Prompts: []string{"callback_confirm", "goodbye"}}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if up.Version != 2 || up.Name != "SAC 24h" {
			t.Fatalf("updated %+v", up)
		}
		again, _ := s.Flow(ctx, sys.TenantID, f.ID)
		if len(again.Nodes["goodbye"].Prompts) != 2 || again.Version != 2 {
			t.Fatalf("stored %+v", again.Nodes["goodbye"])
		}
		page, err = s.Flows(ctx, sys.TenantID, ListOptions{})
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != f.ID {
			t.Fatalf("list %v %v", page.Items, err)
		}
		wantCode(t, s.DeleteFlow(ctx, sys, f.ID, 1), atende.EPreconditionFailed)
		if err := s.DeleteFlow(ctx, sys, f.ID, 2); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Flow(ctx, sys.TenantID, f.ID); atende.ErrorCode(err) != atende.ENotFound {
			t.Fatalf("deleted flow still there: %v", err)
		}
	})
}

func TestFlowUnknownSkillIsAFieldError(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, sys := newTenant(t, s, "Acme")
		q := &atende.Queue{Name: "Ventas", Channels: []atende.Channel{atende.ChannelVoice}}
		if err := s.CreateQueue(ctx, sys, q); err != nil {
			t.Fatal(err)
		}
		f, _ := atende.PresetFlow("spain", "Principal", "", q.ID)
		n := f.Nodes["queue"]
		n.Skills = []atende.RequiredSkill{{SkillID: atende.NewID(), MinProficiency: 1}}
		f.Nodes["queue"] = n
		err := s.CreateFlow(ctx, sys, f)
		if e, ok := err.(*atende.Error); !ok || e.Field != "nodes.queue.skills[0].skill_id" {
			t.Fatalf("unknown skill: %v", err)
		}
	})
}
