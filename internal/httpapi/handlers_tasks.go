package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/routing"
	"github.com/atende/atende/internal/store"
)

// taskInput creates a task: any work an integration wants routed.
type taskInput struct {
	QueueID          string                 `json:"queue_id"`
	Channel          atende.Channel         `json:"channel"`
	ConversationID   string                 `json:"conversation_id,omitempty"`
	Requirements     []atende.RequiredSkill `json:"requirements,omitempty"`
	Priority         int                    `json:"priority,omitempty"`
	Language         string                 `json:"language,omitempty"`
	Segment          string                 `json:"segment,omitempty"`
	PreferredAgentID string                 `json:"preferred_agent_id,omitempty"`
	LastAgentID      string                 `json:"last_agent_id,omitempty"`
	Attributes       map[string]string      `json:"attributes,omitempty"`
	ExpiresAt        *time.Time             `json:"expires_at,omitempty"`
}

// taskView is a task with its live place in queue, when it is waiting.
type taskView struct {
	routing.Task
	Position *routing.Position `json:"position,omitempty"`
}

// namedAgent is an agent's routing state with the name colleagues know them by.
type namedAgent struct {
	routing.AgentSnapshot
	Name string `json:"name"`
}

type transferInput struct {
	AgentID      string `json:"agent_id,omitempty"`
	QueueID      string `json:"queue_id,omitempty"`
	KeepPriority bool   `json:"keep_priority,omitempty"`
	// Note, when given, is added to the task's conversation as an internal
	// note, so whoever receives it sees why.
	Note string `json:"note,omitempty"`
}

// maxTransferNote bounds a transfer note, in characters.
const maxTransferNote = 2000

type cancelInput struct {
	// Abandoned: the customer left (hung up, closed the chat).
	Abandoned bool `json:"abandoned,omitempty"`
}

func (in *taskInput) validate() error {
	if !atende.ValidID(in.QueueID) {
		return atende.FieldError("queue_id", "is not a queue of this tenant")
	}
	if !atende.ValidChannel(in.Channel) {
		return atende.FieldError("channel", "must be one of voice, chat, email, sms, social")
	}
	if in.Priority < 0 || in.Priority > atende.MaxPriority {
		return atende.FieldError("priority", "must be between 0 and %d", atende.MaxPriority)
	}
	for _, r := range in.Requirements {
		if !atende.ValidID(r.SkillID) || r.MinProficiency < 1 || r.MinProficiency > 10 {
			return atende.FieldError("requirements", "each needs a skill_id and a min_proficiency of 1-10")
		}
	}
	if len(in.Attributes) > 50 {
		return atende.FieldError("attributes", "at most 50")
	}
	for _, id := range []struct{ f, v string }{{"conversation_id", in.ConversationID}, {"preferred_agent_id", in.PreferredAgentID}, {"last_agent_id", in.LastAgentID}} {
		if id.v != "" && !atende.ValidID(id.v) {
			return atende.FieldError(id.f, "is not an id")
		}
	}
	return nil
}

// engine returns the routing engine of the principal's tenant.
func (s *Server) engine(ctx context.Context, p *principal) (*routing.Engine, error) {
	if s.cfg.Router == nil {
		return nil, &decodeError{"unavailable", "routing is not running on this server", ""}
	}
	return s.cfg.Router.Engine(ctx, p.TenantID)
}

// onEngine runs fn on the tenant's routing engine.
func onEngine[T any](ctx context.Context, s *Server, p *principal, fn func(c *routing.Core, now time.Time) (T, error)) (T, error) {
	var zero T
	e, err := s.engine(ctx, p)
	if err != nil {
		return zero, err
	}
	out, err := e.Do(ctx, func(c *routing.Core, now time.Time) (any, error) { return fn(c, now) })
	if err != nil {
		return zero, err
	}
	return out.(T), nil
}

// ownTask checks that the principal holds the task (offered or assigned to
// them), or may manage anyone's.
func ownTask(c *routing.Core, p *principal, taskID string) (*routing.Task, error) {
	t, ok := c.Task(taskID)
	if !ok {
		return nil, atende.Errorf(atende.ENotFound, "task not found or already finished")
	}
	if t.AgentID != p.UserID && !p.can(atende.PermTasksManage) {
		return nil, atende.Errorf(atende.EForbidden, "this task is not yours")
	}
	return t, nil
}

func (s *Server) routesTasks() {
	s.handle(route{Method: "POST", Path: "/tasks", Perm: atende.PermTasksManage, Tag: "routing",
		Summary: "Route a task: any work to be offered to the best available agent", In: taskInput{}, Out: routing.Task{}, Status: http.StatusCreated, idempotent: true,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			var in taskInput
			if err := decode(r, &in); err != nil {
				return err
			}
			if err := in.validate(); err != nil {
				return err
			}
			for _, req := range in.Requirements {
				if _, err := s.cfg.Store.Skill(r.Context(), p.TenantID, req.SkillID); err != nil {
					if atende.ErrorCode(err) == atende.ENotFound {
						return atende.FieldError("requirements", "skill %s does not exist", req.SkillID)
					}
					return err
				}
			}
			t, err := onEngine(r.Context(), s, p, func(c *routing.Core, now time.Time) (*routing.Task, error) {
				return c.AddTask(routing.TaskSpec{QueueID: in.QueueID, Channel: in.Channel, ConversationID: in.ConversationID,
					Requirements: in.Requirements, Priority: in.Priority, Language: in.Language, Segment: in.Segment,
					PreferredAgent: in.PreferredAgentID, LastAgent: in.LastAgentID, Attributes: in.Attributes, ExpiresAt: in.ExpiresAt}, now)
			})
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusCreated, t)
		}})
	s.handle(route{Method: "GET", Path: "/tasks", Perm: atende.PermTasksRead, Tag: "routing", Summary: "List tasks, newest first",
		Out: store.Page[routing.Task]{}, Query: append([]param{
			{"state", "string", "waiting, offered, assigned or done"},
			{"queue_id", "string", "in this queue"},
			{"agent_id", "string", "offered or assigned to this agent"},
			{"conversation_id", "string", "for this conversation"},
		}, pageParams...),
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			o, err := listOptions(r)
			if err != nil {
				return err
			}
			q := r.URL.Query()
			page, err := s.cfg.Store.Tasks(r.Context(), p.TenantID, store.TaskFilter{State: routing.TaskState(q.Get("state")),
				QueueID: q.Get("queue_id"), AgentID: q.Get("agent_id"), ConversationID: q.Get("conversation_id")}, o)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, page)
		}})
	s.handle(route{Method: "GET", Path: "/tasks/{id}", Perm: atende.PermTasksRead, Tag: "routing",
		Summary: "Get a task, with its live position and estimated wait while waiting", Out: taskView{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			if s.cfg.Router != nil {
				v, err := onEngine(r.Context(), s, p, func(c *routing.Core, now time.Time) (*taskView, error) {
					t, ok := c.Task(id)
					if !ok {
						return nil, nil
					}
					v := &taskView{Task: *t}
					if pos, ok := c.Position(id); ok {
						v.Position = &pos
					}
					return v, nil
				})
				if err != nil {
					return err
				}
				if v != nil {
					return writeJSON(w, http.StatusOK, v)
				}
			}
			t, err := s.cfg.Store.Task(r.Context(), p.TenantID, id)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, taskView{Task: *t})
		}})
	// Answers to offers: only the agent offered the task.
	for _, a := range []struct {
		verb, summary string
		run           func(c *routing.Core, id, agent string, now time.Time) (*routing.Task, error)
	}{
		{"accept", "Accept an offer made to you", func(c *routing.Core, id, agent string, now time.Time) (*routing.Task, error) {
			return c.Accept(id, agent, now)
		}},
		{"reject", "Decline an offer made to you; the task keeps its place", func(c *routing.Core, id, agent string, now time.Time) (*routing.Task, error) {
			if err := c.Reject(id, agent, now); err != nil {
				return nil, err
			}
			t, _ := c.Task(id)
			return t, nil
		}},
	} {
		s.handle(route{Method: "POST", Path: "/tasks/{id}/" + a.verb, Perm: atende.PermTasksWork, Tag: "routing", Summary: a.summary, Out: routing.Task{},
			handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
				id, err := pathID(r, "id")
				if err != nil {
					return err
				}
				t, err := onEngine(r.Context(), s, p, func(c *routing.Core, now time.Time) (*routing.Task, error) {
					return a.run(c, id, p.UserID, now)
				})
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, t)
			}})
	}
	s.handle(route{Method: "POST", Path: "/tasks/{id}/complete", Perm: atende.PermTasksWork, Tag: "routing",
		Summary: "Finish a task you are working on; after-contact work follows", Out: routing.Task{},
		handler: s.taskAction(func(c *routing.Core, p *principal, id string, r *http.Request, now time.Time) (*routing.Task, error) {
			if _, err := ownTask(c, p, id); err != nil {
				return nil, err
			}
			return c.Complete(id, now)
		})})
	s.handle(route{Method: "POST", Path: "/tasks/{id}/requeue", Perm: atende.PermTasksWork, Tag: "routing",
		Summary: "Put a task you hold back in its queue, in its place", Out: routing.Task{},
		handler: s.taskAction(func(c *routing.Core, p *principal, id string, r *http.Request, now time.Time) (*routing.Task, error) {
			if _, err := ownTask(c, p, id); err != nil {
				return nil, err
			}
			return c.Requeue(id, now)
		})})
	s.handle(route{Method: "POST", Path: "/tasks/{id}/transfer", Perm: atende.PermTasksWork, Tag: "routing",
		Summary: "Transfer a task you hold to an agent or a queue, optionally with a note for whoever receives it", In: transferInput{}, Out: routing.Task{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			var in transferInput
			if err := decode(r, &in); err != nil {
				return err
			}
			if in.AgentID == "" && in.QueueID == "" {
				return atende.FieldError("queue_id", "name an agent_id or a queue_id")
			}
			note := strings.TrimSpace(in.Note)
			if !utf8.ValidString(note) || utf8.RuneCountInString(note) > maxTransferNote {
				return atende.FieldError("note", "is longer than %d characters", maxTransferNote)
			}
			if note == "" {
				return s.taskAction(func(c *routing.Core, p *principal, id string, r *http.Request, now time.Time) (*routing.Task, error) {
					if _, err := ownTask(c, p, id); err != nil {
						return nil, err
					}
					return c.Transfer(id, routing.Target{AgentID: in.AgentID, QueueID: in.QueueID, KeepPriority: in.KeepPriority}, now)
				})(w, r, p)
			}
			return s.transferWithNote(w, r, p, in, note)
		}})
	s.handle(route{Method: "POST", Path: "/tasks/{id}/callback", Perm: atende.PermTasksManage, Tag: "routing",
		Summary: "The customer accepted a callback: the task keeps its place and the agent who gets it calls back", Out: routing.Task{},
		handler: s.taskAction(func(c *routing.Core, p *principal, id string, r *http.Request, now time.Time) (*routing.Task, error) {
			return c.SetCallback(id, now)
		})})
	s.handle(route{Method: "POST", Path: "/tasks/{id}/cancel", Perm: atende.PermTasksManage, Tag: "routing",
		Summary: "End a task: the customer left, or the work is withdrawn", In: cancelInput{}, Out: routing.Task{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			var in cancelInput
			if r.ContentLength != 0 {
				if err := decode(r, &in); err != nil {
					return err
				}
			}
			return s.taskAction(func(c *routing.Core, p *principal, id string, r *http.Request, now time.Time) (*routing.Task, error) {
				return c.Cancel(id, in.Abandoned, now)
			})(w, r, p)
		}})
	s.handle(route{Method: "GET", Path: "/routing/queues", Perm: atende.PermTasksRead, Tag: "routing",
		Summary: "Every queue's live picture: waiting, longest wait, agents ready and busy, estimated wait", Out: map[string][]routing.QueueStats{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			st, err := onEngine(r.Context(), s, p, func(c *routing.Core, now time.Time) ([]routing.QueueStats, error) { return c.Stats(now), nil })
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, map[string]any{"items": st})
		}})
	s.handle(route{Method: "GET", Path: "/routing/agents", Perm: atende.PermTasksRead, Tag: "routing",
		Summary: "Every agent's live routing state with their name: status, presence, load per channel, handled today (the colleagues an agent can transfer to)",
		Out:     map[string][]namedAgent{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			st, err := onEngine(r.Context(), s, p, func(c *routing.Core, now time.Time) ([]routing.AgentSnapshot, error) { return c.Agents(), nil })
			if err != nil {
				return err
			}
			names := map[string]string{}
			o := store.ListOptions{Limit: 200}
			active := true
			for {
				page, err := s.cfg.Store.Users(r.Context(), p.TenantID, store.UserFilter{Active: &active}, o)
				if err != nil {
					return err
				}
				for _, u := range page.Items {
					names[u.ID] = u.Name
				}
				if page.Next == "" {
					break
				}
				o.Cursor = page.Next
			}
			out := make([]namedAgent, 0, len(st))
			for _, a := range st {
				if name, ok := names[a.ID]; ok {
					out = append(out, namedAgent{AgentSnapshot: a, Name: name})
				}
			}
			return writeJSON(w, http.StatusOK, map[string]any{"items": out})
		}})
}

// taskAction adapts an engine action on the task in the path to a handler.
func (s *Server) taskAction(fn func(c *routing.Core, p *principal, id string, r *http.Request, now time.Time) (*routing.Task, error)) func(http.ResponseWriter, *http.Request, *principal) error {
	return func(w http.ResponseWriter, r *http.Request, p *principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		t, err := onEngine(r.Context(), s, p, func(c *routing.Core, now time.Time) (*routing.Task, error) { return fn(c, p, id, r, now) })
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, t)
	}
}

// transferWithNote transfers a task and adds note to its conversation. The
// conversation is checked before the task moves, so a note that cannot be
// kept refuses the transfer instead of getting lost.
func (s *Server) transferWithNote(w http.ResponseWriter, r *http.Request, p *principal, in transferInput, note string) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	convID, err := onEngine(ctx, s, p, func(c *routing.Core, now time.Time) (string, error) {
		t, err := ownTask(c, p, id)
		if err != nil {
			return "", err
		}
		return t.ConversationID, nil
	})
	if err != nil {
		return err
	}
	if convID == "" {
		return atende.FieldError("note", "the task has no conversation to keep the note in")
	}
	if _, err := s.cfg.Store.Conversation(ctx, p.TenantID, convID); err != nil {
		if atende.ErrorCode(err) == atende.ENotFound {
			return atende.FieldError("note", "the task's conversation no longer exists")
		}
		return err
	}
	t, err := onEngine(ctx, s, p, func(c *routing.Core, now time.Time) (*routing.Task, error) {
		if _, err := ownTask(c, p, id); err != nil {
			return nil, err
		}
		return c.Transfer(id, routing.Target{AgentID: in.AgentID, QueueID: in.QueueID, KeepPriority: in.KeepPriority}, now)
	})
	if err != nil {
		return err
	}
	target := map[string]string{}
	if in.AgentID != "" {
		target["agent_id"] = in.AgentID
	}
	if in.QueueID != "" {
		target["queue_id"] = in.QueueID
	}
	data, err := json.Marshal(map[string]any{"transfer": target})
	if err != nil {
		return err
	}
	// The task has moved: the note is written even if the caller has gone.
	if _, _, err := s.cfg.Store.AppendMessage(context.WithoutCancel(ctx), p.actor(r), convID, &atende.TimelineEvent{Kind: atende.KindNote, Body: note, Data: data}); err != nil {
		return fmt.Errorf("transfer note on conversation %s: %w", convID, err)
	}
	return writeJSON(w, http.StatusOK, t)
}
