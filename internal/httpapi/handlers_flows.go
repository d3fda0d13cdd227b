package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/voice/prompts"
)

// flowPresetInput builds a flow from a preset.
type flowPresetInput struct {
	Name     string `json:"name"`
	QueueID  string `json:"queue_id"`           // where the flow sends callers
	Language string `json:"language,omitempty"` // default: the preset's country
}

// promptOutput is an uploaded prompt, ready for flows.
type promptOutput struct {
	ID       string         `json:"id"`
	Ref      string         `json:"ref"` // what a flow's prompts name it by: upload:<id>
	Name     string         `json:"name"`
	Size     int64          `json:"size"`
	Seconds  float64        `json:"seconds"`
	Original prompts.Format `json:"original"` // the format sent, before conversion
}

// flowCheck is the result of checking a flow without saving it.
type flowCheck struct {
	Valid  bool               `json:"valid"`
	Issues []atende.FlowIssue `json:"issues"`
}

func (s *Server) routesFlows() {
	st := s.cfg.Store
	registerResource(s, resource[atende.Flow]{path: "/voice/flows", tag: "voice", noun: "IVR flow",
		readPerm: atende.PermConfigRead, writePerm: atende.PermConfigManage,
		create: func(ctx context.Context, a atende.Actor, f *atende.Flow) error {
			if err := s.checkFlowHosts(f); err != nil {
				return err
			}
			return st.CreateFlow(ctx, a, f)
		},
		get: st.Flow, list: st.Flows,
		update: func(ctx context.Context, a atende.Actor, id string, ifVersion int64, change func(*atende.Flow) error) (*atende.Flow, error) {
			return st.UpdateFlow(ctx, a, id, ifVersion, func(f *atende.Flow) error {
				if err := change(f); err != nil {
					return err
				}
				return s.checkFlowHosts(f)
			})
		},
		remove:  st.DeleteFlow,
		version: func(f *atende.Flow) int64 { return f.Version }})
	s.handle(route{Method: "POST", Path: "/voice/prompts", Perm: atende.PermConfigManage, Tag: "voice", Status: http.StatusCreated,
		Summary: "Upload a prompt for flows: the body is a WAV file (PCM, float, A-law or μ-law; 1-8 channels; 8-96 kHz; at most 20 MiB and 10 minutes), kept as 8 kHz mono 16-bit PCM",
		Query:   []param{{"name", "string", "the prompt's name"}},
		Out:     promptOutput{}, handler: s.uploadPrompt})
	s.handle(route{Method: "POST", Path: "/voice/flows/validate", Perm: atende.PermConfigRead, Tag: "voice",
		Summary: "Check a flow without saving it: every error and warning (such as unreachable nodes) with its field path",
		In:      atende.Flow{}, Out: flowCheck{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			var f atende.Flow
			if err := decode(r, &f); err != nil {
				return err
			}
			out, err := s.checkFlow(r.Context(), p.TenantID, &f)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, out)
		}})
	s.handle(route{Method: "POST", Path: "/voice/flows/{id}/validate", Perm: atende.PermConfigRead, Tag: "voice",
		Summary: "Check a stored flow again: its warnings, and queues or skills deleted since it was saved",
		Out:     flowCheck{},
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			id, err := pathID(r, "id")
			if err != nil {
				return err
			}
			f, err := st.Flow(r.Context(), p.TenantID, id)
			if err != nil {
				return err
			}
			out, err := s.checkFlow(r.Context(), p.TenantID, f)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, out)
		}})
	s.handle(route{Method: "POST", Path: "/voice/flow-presets/{name}", Perm: atende.PermConfigManage, Tag: "voice",
		Summary: "Create a flow from a preset: brazil (SAC first menu: complaint, cancellation, a human), spain (the queue gets the 3-minute cap with a callback), basic",
		In:      flowPresetInput{}, Out: atende.Flow{}, Status: http.StatusCreated, idempotent: true,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			var in flowPresetInput
			if err := decode(r, &in); err != nil {
				return err
			}
			f, err := atende.PresetFlow(r.PathValue("name"), in.Name, in.Language, in.QueueID)
			if err != nil {
				return err
			}
			if f.Preset == atende.PresetSpain {
				if err := s.spainQueue(r, p, in.QueueID); err != nil {
					return err
				}
			}
			if err := st.CreateFlow(r.Context(), p.actor(r), f); err != nil {
				return err
			}
			return writeVersioned(w, http.StatusCreated, f, f.Version)
		}})
}

func (s *Server) uploadPrompt(w http.ResponseWriter, r *http.Request, p *principal) error {
	ms, err := s.mediaStore()
	if err != nil {
		return err
	}
	up, err := parseUpload(r)
	if err != nil {
		return err
	}
	if r.ContentLength > prompts.MaxUploadBytes {
		return &decodeError{"body_too_large", "the file is larger than allowed", "file"}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, prompts.MaxUploadBytes+1))
	if err != nil {
		return err
	}
	wav, format, err := prompts.PrepareUpload(body)
	if err != nil {
		return err
	}
	name := strings.TrimSuffix(up.Name, ".wav") + ".wav"
	f, err := ms.Put(r.Context(), p.TenantID, name, "audio/wav", bytes.NewReader(wav), int64(len(wav)))
	if err != nil {
		return err
	}
	if err := s.cfg.Store.AddMedia(r.Context(), p.actor(r), f); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, promptOutput{ID: f.ID, Ref: "upload:" + f.ID, Name: f.Name, Size: f.Size,
		Seconds: float64(len(wav)-44) / 2 / prompts.Rate, Original: format})
}

// spainQueue puts the queue a Spain flow sends callers to under the
// queue's own Spain preset, which caps the wait at 3 minutes and turns the
// max-wait action into a callback that keeps the place.
func (s *Server) spainQueue(r *http.Request, p *principal, queueID string) error {
	q, err := s.cfg.Store.Queue(r.Context(), p.TenantID, queueID)
	if atende.ErrorCode(err) == atende.ENotFound {
		return atende.FieldError("queue_id", "unknown queue %q", queueID)
	}
	if err != nil || q.Routing.Preset == atende.PresetSpain {
		return err
	}
	if !p.can(atende.PermQueuesManage) {
		return atende.Errorf(atende.EForbidden, "the Spain preset changes the queue's settings, which needs the %s permission", atende.PermQueuesManage)
	}
	_, err = s.cfg.Store.UpdateQueue(r.Context(), p.actor(r), queueID, 0, func(q *atende.Queue) error {
		q.Routing.Preset = atende.PresetSpain
		return nil
	})
	return err
}

// checkFlow runs the flow's checks, its hosts' and its references'.
func (s *Server) checkFlow(ctx context.Context, tenantID string, f *atende.Flow) (flowCheck, error) {
	issues := f.Check()
	if err := s.checkFlowHosts(f); err != nil {
		e := err.(*atende.Error)
		issues = append(issues, atende.FlowIssue{Field: e.Field, Message: e.Message, Severity: "error"})
	}
	refs, err := s.cfg.Store.FlowReferenceIssues(ctx, tenantID, f)
	if err != nil {
		return flowCheck{}, err
	}
	issues = append(issues, refs...)
	out := flowCheck{Valid: true, Issues: issues}
	if out.Issues == nil {
		out.Issues = []atende.FlowIssue{}
	}
	for _, is := range issues {
		if is.Severity == "error" {
			out.Valid = false
		}
	}
	return out, nil
}

// checkFlowHosts refuses http nodes that are not https, or aimed at
// addresses the webhook guard refuses when their host is written as an
// address or "localhost"; names are resolved and checked at each lookup,
// on the address dialled.
func (s *Server) checkFlowHosts(f *atende.Flow) error {
	g := s.webhookGuard()
	for _, id := range f.NodeIDs() {
		n := f.Nodes[id]
		if n.Kind != atende.NodeHTTP || atende.CheckFlowURL(n.URL) != nil {
			continue
		}
		u, err := url.Parse(strings.ReplaceAll(strings.ReplaceAll(n.URL, "{{", ""), "}}", ""))
		if err != nil {
			continue
		}
		host := strings.ToLower(u.Hostname())
		if host == "localhost" || strings.HasSuffix(host, ".localhost") {
			host = "127.0.0.1"
		}
		loopback := false
		if a, err := netip.ParseAddr(host); err == nil {
			if err := g.CheckAddr(a); err != nil {
				return atende.FieldError("nodes."+id+".url", "%v: lookups only reach public addresses", err)
			}
			loopback = a.Unmap().IsLoopback()
		}
		// Callers' data travels encrypted, as webhooks do.
		if u.Scheme != "https" && !(g.AllowLoopback && loopback) {
			return atende.FieldError("nodes."+id+".url", "must be an https:// URL")
		}
	}
	return nil
}
