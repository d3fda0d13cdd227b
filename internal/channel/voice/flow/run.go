package flow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/voice/prompts"
)

// maxLookupBody bounds the answer of an http node read for extraction.
const maxLookupBody = 64 << 10

// Run walks flow f for call until the call ends or leaves the flow, and
// returns the record of what happened. f must have passed Validate.
func (e *Engine) Run(ctx context.Context, f *atende.Flow, call Call, in Input) *Result {
	r := &run{e: e, f: f, call: call, in: in, regexps: map[string]*regexp.Regexp{},
		res: &Result{Language: f.Language, Vars: map[string]string{}, Trace: []Step{}, Visits: map[string]int{}}}
	if r.in.Location == nil {
		r.in.Location = time.UTC
	}
	v := r.res.Vars
	v["caller"], v["called"], v["call_id"], v["language"] = in.Caller, in.Called, in.CallID, f.Language
	call.SetLanguage(f.Language)
	r.walk(ctx)
	if e.Metrics != nil {
		e.Metrics.outcomes.WithLabelValues(string(r.res.Outcome)).Inc()
	}
	return r.res
}

type run struct {
	e       *Engine
	f       *atende.Flow
	call    Call
	in      Input
	res     *Result
	regexps map[string]*regexp.Regexp
	// pending is a key pressed during a prompt that was not asking for one
	// (a greeting, an "invalid option"): callers who know the menu type
	// ahead, and the next menu or collect takes it without prompting.
	pending string
}

// exit is how a node leaves: to another node, or out of the flow.
type exit struct {
	to      string  // the next node; "" ends the flow with outcome
	outcome Outcome // when to is ""
	result  string  // for the trace and metrics
	detail  string
}

func (r *run) now() time.Time {
	if r.e.Clock != nil {
		return r.e.Clock.Now()
	}
	return time.Now().UTC()
}

func (r *run) log() *slog.Logger {
	if r.e.Log != nil {
		return r.e.Log
	}
	return slog.Default()
}

func (r *run) walk(ctx context.Context) {
	max := r.e.MaxSteps
	if max <= 0 {
		max = DefaultMaxSteps
	}
	id := r.f.Entry
	for steps := 0; ; steps++ {
		if steps == max {
			r.res.Error = fmt.Sprintf("stopped after %d steps: the flow loops", max)
			r.finish(ctx, OutcomeStepLimit, "technical_problem")
			return
		}
		n, ok := r.f.Nodes[id]
		if !ok {
			r.res.Error = fmt.Sprintf("node %q does not exist", id)
			r.finish(ctx, OutcomeError, "technical_problem")
			return
		}
		start := r.now()
		x, err := r.node(ctx, id, &n)
		if err != nil {
			x = r.failed(ctx, err)
		}
		r.record(id, n.Kind, start, x)
		if x.to == "" {
			r.res.Outcome = x.outcome
			return
		}
		id = x.to
	}
}

// failed turns a call error into the end of the flow.
func (r *run) failed(ctx context.Context, err error) exit {
	if errors.Is(err, ErrHangup) || ctx.Err() != nil {
		return exit{outcome: OutcomeCallerHangup, result: "caller_hangup"}
	}
	r.res.Error = err.Error()
	_ = r.call.Hangup(context.WithoutCancel(ctx))
	return exit{outcome: OutcomeError, result: "error", detail: err.Error()}
}

func (r *run) record(id string, kind atende.NodeKind, start time.Time, x exit) {
	d := r.now().Sub(start)
	r.res.Trace = append(r.res.Trace, Step{Node: id, Kind: kind, At: start, DurationMS: d.Milliseconds(), Result: x.result, Detail: x.detail})
	r.res.Visits[id]++
	if m := r.e.Metrics; m != nil {
		label, _, _ := strings.Cut(x.result, ":")
		m.visits.WithLabelValues(string(kind), label).Inc()
		m.duration.WithLabelValues(string(kind)).Observe(d.Seconds())
	}
}

// finish plays closing prompts, hangs up and ends the flow with outcome.
func (r *run) finish(ctx context.Context, outcome Outcome, ids ...string) {
	if len(ids) > 0 {
		if _, err := r.call.Play(ctx, prompts.Catalogue(r.res.Language, ids...)...); err != nil {
			if errors.Is(err, ErrHangup) {
				r.res.Outcome = OutcomeCallerHangup
				return
			}
		}
	}
	_ = r.call.Hangup(context.WithoutCancel(ctx))
	r.res.Outcome = outcome
}

// end closes the call with outcome after the closing prompts.
func (r *run) end(ctx context.Context, outcome Outcome, result string, ids ...string) (exit, error) {
	if len(ids) > 0 {
		if _, err := r.call.Play(ctx, prompts.Catalogue(r.res.Language, ids...)...); err != nil {
			return exit{}, err
		}
	}
	if err := r.call.Hangup(ctx); err != nil && !errors.Is(err, ErrHangup) {
		return exit{}, err
	}
	return exit{outcome: outcome, result: result}, nil
}

// refs resolves a node's prompt references in the call's language; one that
// cannot be said (a number variable holding no number) is skipped.
func (r *run) refs(ids []string) []prompts.Ref {
	var out []prompts.Ref
	for _, id := range ids {
		p, err := prompts.Resolve(r.res.Language, id, r.res.Vars)
		if err != nil {
			r.log().Warn("flow prompt skipped", "flow", r.f.ID, "prompt", id, "err", err)
			continue
		}
		out = append(out, p...)
	}
	return out
}

func (r *run) play(ctx context.Context, ids []string) (string, error) {
	ps := r.refs(ids)
	if len(ps) == 0 {
		return "", nil
	}
	return r.call.Play(ctx, ps...)
}

// typeAhead plays prompts that ask for nothing, keeping a key pressed
// during them for the next menu or collect.
func (r *run) typeAhead(ctx context.Context, ids []string) error {
	key, err := r.play(ctx, ids)
	if key != "" {
		r.pending = key
	}
	return err
}

// prompt plays the prompts of a menu or collect, unless a key was typed
// ahead, which answers them at once.
func (r *run) prompt(ctx context.Context, ids []string) (string, error) {
	if key := r.pending; key != "" {
		r.pending = ""
		return key, nil
	}
	return r.play(ctx, ids)
}

func (r *run) node(ctx context.Context, id string, n *atende.FlowNode) (exit, error) {
	switch n.Kind {
	case atende.NodeMenu, atende.NodeCollect, atende.NodePlay, atende.NodeLanguage, atende.NodeSet, atende.NodeHours, atende.NodeHTTP:
	default:
		r.pending = "" // the call leaves the menus
	}
	switch n.Kind {
	case atende.NodePlay:
		if err := r.typeAhead(ctx, n.Prompts); err != nil {
			return exit{}, err
		}
		return exit{to: n.Next, result: "next"}, nil
	case atende.NodeMenu:
		return r.menu(ctx, n)
	case atende.NodeCollect:
		return r.collect(ctx, n)
	case atende.NodeHours:
		return r.hours(ctx, n), nil
	case atende.NodeSet:
		for _, k := range sortedKeys(n.Set) {
			r.res.Vars[k] = atende.RenderFlowTemplate(n.Set[k], r.res.Vars, nil)
		}
		return exit{to: n.Next, result: "next"}, nil
	case atende.NodeHTTP:
		return r.lookup(ctx, n), nil
	case atende.NodeLanguage:
		r.res.Language, r.res.Vars["language"] = n.Language, n.Language
		r.call.SetLanguage(n.Language)
		if err := r.typeAhead(ctx, n.Prompts); err != nil {
			return exit{}, err
		}
		return exit{to: n.Next, result: "next", detail: n.Language}, nil
	case atende.NodeQueue:
		return r.queue(ctx, n)
	case atende.NodeVoicemail:
		return r.voicemail(ctx, n.Prompts, n.MaxSec, n.Next)
	case atende.NodeCallback:
		return r.callback(ctx, n)
	case atende.NodeTransfer:
		if _, err := r.play(ctx, n.Prompts); err != nil {
			return exit{}, err
		}
		if err := r.call.Transfer(ctx, n.Number); err != nil {
			if errors.Is(err, ErrHangup) {
				return exit{}, err
			}
			if to := n.Branches[atende.BranchFailed]; to != "" {
				return exit{to: to, result: atende.BranchFailed, detail: err.Error()}, nil
			}
			x, err2 := r.end(ctx, OutcomeHangup, atende.BranchFailed, "technical_problem", "goodbye")
			x.detail = err.Error()
			return x, err2
		}
		return exit{outcome: OutcomeTransferred, result: "end", detail: n.Number}, nil
	case atende.NodeHangup:
		return r.end(ctx, OutcomeHangup, "end", n.Prompts...)
	}
	return exit{}, fmt.Errorf("node kind %q cannot run", n.Kind)
}

// fallback leaves a menu or collect whose retries are used up.
func (r *run) fallback(ctx context.Context, n *atende.FlowNode, detail string) (exit, error) {
	if to := n.Branches[atende.BranchFallback]; to != "" {
		return exit{to: to, result: atende.BranchFallback, detail: detail}, nil
	}
	x, err := r.end(ctx, OutcomeHangup, atende.BranchFallback, "goodbye")
	x.detail = detail
	return x, err
}

func (r *run) menu(ctx context.Context, n *atende.FlowNode) (exit, error) {
	var last string
	for attempt := 0; attempt <= n.Retries; attempt++ {
		key, err := r.prompt(ctx, n.Prompts)
		if err != nil {
			return exit{}, err
		}
		if key == "" {
			if key, err = r.call.ReadDigits(ctx, 1, time.Duration(n.TimeoutSec)*time.Second, ""); err != nil {
				return exit{}, err
			}
		}
		retry := n.NoInputPrompts
		if to, ok := n.Options[key]; ok && key != "" {
			return exit{to: to, result: "option:" + key, detail: key}, nil
		}
		last = "no_input"
		if key != "" {
			last, retry = "invalid:"+key, n.InvalidPrompts
		}
		if attempt < n.Retries || n.Branches[atende.BranchFallback] == "" {
			if err := r.typeAhead(ctx, retry); err != nil {
				return exit{}, err
			}
		}
	}
	return r.fallback(ctx, n, last)
}

func (r *run) collect(ctx context.Context, n *atende.FlowNode) (exit, error) {
	term := n.Terminator
	if term == "none" {
		term = ""
	}
	var last string
	for attempt := 0; attempt <= n.Retries; attempt++ {
		first, err := r.prompt(ctx, n.Prompts)
		if err != nil {
			return exit{}, err
		}
		entry := ""
		if first != term || term == "" {
			entry = first
			if len(entry) < n.MaxDigits {
				rest, err := r.call.ReadDigits(ctx, n.MaxDigits-len(entry), time.Duration(n.TimeoutSec)*time.Second, term)
				if err != nil {
					return exit{}, err
				}
				entry += rest
			}
		}
		retry := n.NoInputPrompts
		last = "no_input"
		if entry != "" {
			if r.validEntry(n, entry) {
				r.res.Vars[n.Variable] = entry
				return exit{to: n.Next, result: "next", detail: fmt.Sprintf("%d digits", len(entry))}, nil
			}
			last, retry = "invalid", n.InvalidPrompts
		}
		if attempt < n.Retries || n.Branches[atende.BranchFallback] == "" {
			if err := r.typeAhead(ctx, retry); err != nil {
				return exit{}, err
			}
		}
	}
	return r.fallback(ctx, n, last)
}

func (r *run) validEntry(n *atende.FlowNode, s string) bool {
	if len(s) < n.MinDigits || len(s) > n.MaxDigits {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	if n.Pattern != "" {
		re, ok := r.regexps[n.Pattern]
		if !ok {
			var err error
			if re, err = regexp.Compile(`^(?:` + n.Pattern + `)$`); err != nil {
				return false
			}
			r.regexps[n.Pattern] = re
		}
		if !re.MatchString(s) {
			return false
		}
	}
	return n.Check == "" || atende.ValidCheckDigits(n.Check, s)
}

func (r *run) hours(ctx context.Context, n *atende.FlowNode) exit {
	closed := exit{to: n.Branches[atende.BranchClosed], result: atende.BranchClosed}
	cal := n.Hours
	if cal == nil {
		if r.in.Calendar == nil {
			closed.detail = "no calendar for queues"
			return closed
		}
		var err error
		if cal, err = r.in.Calendar(ctx, n.QueueID); err != nil {
			closed.detail = "queue calendar: " + err.Error()
			return closed
		}
	}
	now := r.now()
	if h, ok := cal.Holiday(now, r.in.Location); ok {
		if to := n.Branches[atende.BranchHoliday]; to != "" {
			return exit{to: to, result: atende.BranchHoliday, detail: h.Name}
		}
		closed.detail = h.Name
		return closed
	}
	if cal.Open(now, r.in.Location) {
		return exit{to: n.Branches[atende.BranchOpen], result: atende.BranchOpen}
	}
	return closed
}

func (r *run) lookup(ctx context.Context, n *atende.FlowNode) exit {
	fail := func(branch, detail string) exit {
		if to := n.Branches[branch]; to != "" {
			return exit{to: to, result: branch, detail: detail}
		}
		return exit{to: n.Branches[atende.BranchError], result: atende.BranchError, detail: detail}
	}
	if r.e.HTTP == nil {
		return fail(atende.BranchError, "no HTTP client")
	}
	u := atende.RenderFlowTemplate(n.URL, r.res.Vars, atende.PathQueryEscape)
	if r.e.Guard != nil {
		if err := r.e.Guard.CheckURL(ctx, u); err != nil {
			return fail(atende.BranchError, err.Error())
		}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(n.TimeoutSec)*time.Second)
	defer cancel()
	var body io.Reader
	if n.Method == http.MethodPost {
		body = strings.NewReader(atende.RenderFlowTemplate(n.Body, r.res.Vars, jsonEscape))
	}
	req, err := http.NewRequestWithContext(ctx, n.Method, u, body)
	if err != nil {
		return fail(atende.BranchError, err.Error())
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.e.HTTP.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fail(atende.BranchTimeout, "no answer within "+strconv.Itoa(n.TimeoutSec)+" s")
		}
		return fail(atende.BranchError, err.Error())
	}
	defer resp.Body.Close()
	r.res.Vars["http_status"] = strconv.Itoa(resp.StatusCode)
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxLookupBody+1))
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fail(atende.BranchTimeout, "no answer within "+strconv.Itoa(n.TimeoutSec)+" s")
	case err != nil:
		return fail(atende.BranchError, err.Error())
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return fail(atende.BranchError, "status "+strconv.Itoa(resp.StatusCode))
	case len(b) > maxLookupBody:
		return fail(atende.BranchError, "answer larger than 64 KiB")
	}
	if len(n.Extract) > 0 {
		var doc any
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(&doc); err != nil {
			return fail(atende.BranchError, "answer is not JSON")
		}
		for _, k := range sortedKeys(n.Extract) {
			r.res.Vars[k] = extract(doc, n.Extract[k])
		}
	}
	return exit{to: n.Branches[atende.BranchOK], result: atende.BranchOK, detail: "status " + strconv.Itoa(resp.StatusCode)}
}

// extract follows a dotted path (object keys, array indexes) into a JSON
// document and returns the scalar there as text, or "".
func extract(doc any, path string) string {
	cur := doc
	for _, part := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			cur = v[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(v) {
				return ""
			}
			cur = v[i]
		default:
			return ""
		}
	}
	switch v := cur.(type) {
	case string:
		if len(v) > atende.MaxFlowValue {
			v = v[:atende.MaxFlowValue]
		}
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// jsonEscape makes a value safe inside a JSON string of a POST body.
func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func (r *run) queue(ctx context.Context, n *atende.FlowNode) (exit, error) {
	if _, err := r.play(ctx, n.Prompts); err != nil {
		return exit{}, err
	}
	r.res.QueueID = n.QueueID
	out, err := r.call.Enqueue(ctx, QueueRequest{QueueID: n.QueueID, Skills: n.Skills, Priority: n.Priority,
		Language: r.res.Language, Vars: maps.Clone(r.res.Vars)})
	if err != nil {
		if errors.Is(err, ErrHangup) {
			return exit{}, err
		}
		r.log().Warn("flow enqueue failed", "flow", r.f.ID, "queue", n.QueueID, "err", err)
		out = QueueFailed
	}
	switch out {
	case QueueAnswered:
		return exit{outcome: OutcomeAnswered, result: "end", detail: string(out)}, nil
	case QueueHangup:
		return exit{outcome: OutcomeCallerHangup, result: "caller_hangup"}, nil
	case QueueCallback:
		return exit{outcome: OutcomeCallback, result: "end", detail: string(out)}, nil
	case QueueVoicemail:
		if to := n.Branches[atende.BranchVM]; to != "" {
			return exit{to: to, result: atende.BranchVM}, nil
		}
		x, err := r.voicemail(ctx, []string{"voicemail"}, 120, "")
		x.result = atende.BranchVM
		return x, err
	}
	if to := n.Branches[atende.BranchFailed]; to != "" {
		return exit{to: to, result: atende.BranchFailed}, nil
	}
	return r.end(ctx, OutcomeHangup, atende.BranchFailed, "technical_problem", "goodbye")
}

func (r *run) voicemail(ctx context.Context, ids []string, maxSec int, next string) (exit, error) {
	if _, err := r.play(ctx, ids); err != nil {
		return exit{}, err
	}
	id, err := r.call.RecordVoicemail(ctx, maxSec)
	if err != nil && !errors.Is(err, ErrHangup) {
		return exit{}, err
	}
	if id != "" {
		r.res.VoicemailID, r.res.Vars["voicemail_id"] = id, id
	}
	if errors.Is(err, ErrHangup) {
		// Callers often hang up to end their message: it is kept.
		return exit{outcome: OutcomeVoicemail, result: "end", detail: "caller hung up"}, nil
	}
	if next != "" {
		return exit{to: next, result: "next"}, nil
	}
	return r.end(ctx, OutcomeVoicemail, "end", "voicemail_saved", "goodbye")
}

func (r *run) callback(ctx context.Context, n *atende.FlowNode) (exit, error) {
	key, err := r.play(ctx, n.Prompts)
	if err != nil {
		return exit{}, err
	}
	if key == "" {
		if key, err = r.call.ReadDigits(ctx, 1, 5*time.Second, ""); err != nil {
			return exit{}, err
		}
	}
	if key != "1" {
		return exit{to: n.Branches[atende.BranchDeclined], result: atende.BranchDeclined, detail: key}, nil
	}
	if err := r.call.OfferCallback(ctx, n.QueueID); err != nil {
		if errors.Is(err, ErrHangup) {
			return exit{}, err
		}
		return exit{to: n.Branches[atende.BranchDeclined], result: atende.BranchDeclined, detail: err.Error()}, nil
	}
	r.res.QueueID = n.QueueID
	if to := n.Branches[atende.BranchAccepted]; to != "" {
		if _, err := r.play(ctx, []string{"callback_confirm"}); err != nil {
			return exit{}, err
		}
		return exit{to: to, result: atende.BranchAccepted}, nil
	}
	x, err := r.end(ctx, OutcomeCallback, atende.BranchAccepted, "callback_confirm", "goodbye")
	return x, err
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
