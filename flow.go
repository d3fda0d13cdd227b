package atende

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Flow is a tenant's IVR call flow, stored as data: a graph of nodes the
// voice channel's interpreter walks for each inbound call, from Entry until
// a node ends the call or hands it to a queue.
type Flow struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	Name     string `json:"name"`
	// Language is the call's language until a language node changes it:
	// es, pt-BR or en.
	Language string              `json:"language"`
	Entry    string              `json:"entry"`
	Nodes    map[string]FlowNode `json:"nodes"`
	// Preset names the legal preset the flow was built from ("br" or "es");
	// the Brazil preset keeps its first-menu rule checked on every save.
	Preset    string    `json:"preset,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"version"`
}

// NodeKind is what a flow node does.
type NodeKind string

// Flow node kinds.
const (
	NodePlay      NodeKind = "play"      // play prompts, then next
	NodeMenu      NodeKind = "menu"      // play a prompt and branch on one DTMF digit
	NodeCollect   NodeKind = "collect"   // read several digits into a variable
	NodeHours     NodeKind = "hours"     // branch on business hours and holidays
	NodeSet       NodeKind = "set"       // set variables
	NodeHTTP      NodeKind = "http"      // look data up in an outside system
	NodeLanguage  NodeKind = "language"  // change the call's language
	NodeQueue     NodeKind = "queue"     // hand the call to a queue
	NodeVoicemail NodeKind = "voicemail" // record a message
	NodeCallback  NodeKind = "callback"  // offer a callback that keeps the place
	NodeTransfer  NodeKind = "transfer"  // transfer to an outside number
	NodeHangup    NodeKind = "hangup"    // end the call
)

// NodeKinds lists every node kind.
var NodeKinds = []NodeKind{NodePlay, NodeMenu, NodeCollect, NodeHours, NodeSet, NodeHTTP, NodeLanguage, NodeQueue, NodeVoicemail, NodeCallback, NodeTransfer, NodeHangup}

// Branch names: the outcomes a node may lead from, besides next and a
// menu's digit options.
const (
	BranchFallback = "fallback" // menu, collect: retries used up
	BranchOpen     = "open"     // hours
	BranchClosed   = "closed"   // hours
	BranchHoliday  = "holiday"  // hours: a holiday (closed when absent)
	BranchOK       = "ok"       // http: a 2xx answer
	BranchError    = "error"    // http: any other answer or failure
	BranchTimeout  = "timeout"  // http: no answer in time (error when absent)
	BranchFailed   = "failed"   // queue: refused the call; transfer: did not connect
	BranchVM       = "voicemail"
	BranchAccepted = "accepted" // callback
	BranchDeclined = "declined" // callback
)

// FlowNode is one step of a flow. Which fields apply depends on Kind (see
// docs/flows.md); a field that does not apply to the kind is refused.
type FlowNode struct {
	Kind NodeKind `json:"kind"`
	// Prompts are played in order: catalogue ids such as "welcome",
	// "upload:<media id>" for a tenant's own recording, or "number:{{var}}"
	// and "digits:{{var}}" to say a variable's value.
	Prompts []string `json:"prompts,omitempty"`
	// Next is the node that follows when the node has a single way on.
	Next string `json:"next,omitempty"`
	// Branches maps the node's named outcomes to the nodes they lead to.
	Branches map[string]string `json:"branches,omitempty"`
	// Options maps a menu's DTMF digits (0-9, * and #) to nodes.
	Options map[string]string `json:"options,omitempty"`
	// TimeoutSec is how long a menu or collect waits for a digit, or an
	// http lookup for its answer.
	TimeoutSec int `json:"timeout_sec,omitempty"`
	// Retries is how many times a menu or collect asks again after an
	// invalid entry or none, before its fallback.
	Retries        int      `json:"retries,omitempty"`
	InvalidPrompts []string `json:"invalid_prompts,omitempty"`
	NoInputPrompts []string `json:"no_input_prompts,omitempty"`
	// Collect: how many digits, the key that ends the entry early ("#",
	// "*" or "none") and how the entry is checked.
	MinDigits  int    `json:"min_digits,omitempty"`
	MaxDigits  int    `json:"max_digits,omitempty"`
	Terminator string `json:"terminator,omitempty"`
	Pattern    string `json:"pattern,omitempty"` // a regular expression the whole entry must match
	Check      string `json:"check,omitempty"`   // a check digit scheme: luhn, mod11 or cpf
	// Variable receives a collect's digits.
	Variable string `json:"variable,omitempty"`
	// QueueID: hours (the queue whose calendar applies), queue, callback.
	QueueID string `json:"queue_id,omitempty"`
	// Hours is an hours node's own calendar, used when it names no queue.
	Hours *Calendar `json:"hours,omitempty"`
	// Set maps variables to values; values may hold {{variables}}.
	Set map[string]string `json:"set,omitempty"`
	// HTTP lookup: the URL (and a POST's body) may hold {{variables}};
	// Extract maps variables to dotted paths in the JSON answer.
	Method  string            `json:"method,omitempty"`
	URL     string            `json:"url,omitempty"`
	Body    string            `json:"body,omitempty"`
	Extract map[string]string `json:"extract,omitempty"`
	// Language is a language node's new language.
	Language string `json:"language,omitempty"`
	// Queue: skills and priority of the task it creates.
	Skills   []RequiredSkill `json:"skills,omitempty"`
	Priority int             `json:"priority,omitempty"`
	// MaxSec bounds a voicemail's length.
	MaxSec int `json:"max_sec,omitempty"`
	// Number is a transfer's outside number in E.164.
	Number string `json:"number,omitempty"`
}

// Limits of a flow.
const (
	MaxFlowNodes      = 200
	MaxFlowPrompts    = 20
	MaxFlowVariables  = 20
	MaxCollectDigits  = 32
	MaxFlowHTTPSec    = 10
	MaxVoicemailSec   = 600
	MaxFlowValue      = 500
	MaxFlowBody       = 4000
	MaxFlowPatternLen = 200
)

// FlowVariables are set by the voice channel for every call.
var FlowVariables = []string{"caller", "called", "call_id", "language"}

// PromptIDs are the prompts every language of the catalogue has.
var PromptIDs = []string{
	"welcome", "menu", "menu_complaint", "menu_cancellation", "menu_agent", "invalid", "no_input",
	"please_wait", "queue_position", "estimated_wait", "minutes", "wait_one_minute", "wait_less_than_minute",
	"callback_offer", "callback_confirm", "voicemail", "voicemail_saved", "goodbye", "out_of_hours", "holiday",
	"enter_account", "enter_document", "transferring", "technical_problem",
}

// CheckDigitSchemes are the check-digit validations a collect node may apply.
var CheckDigitSchemes = []string{"luhn", "mod11", "cpf"}

var (
	reNodeID   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$`)
	reVariable = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	rePromptID = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	reTemplate = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)
	reE164     = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	reJSONPath = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
)

// nodeFields says which JSON fields each kind takes besides kind itself.
var nodeFields = map[NodeKind][]string{
	NodePlay:      {"prompts", "next"},
	NodeMenu:      {"prompts", "options", "branches", "timeout_sec", "retries", "invalid_prompts", "no_input_prompts"},
	NodeCollect:   {"prompts", "next", "branches", "timeout_sec", "retries", "invalid_prompts", "no_input_prompts", "min_digits", "max_digits", "terminator", "pattern", "check", "variable"},
	NodeHours:     {"branches", "queue_id", "hours"},
	NodeSet:       {"set", "next"},
	NodeHTTP:      {"branches", "method", "url", "body", "extract", "timeout_sec"},
	NodeLanguage:  {"language", "next", "prompts"},
	NodeQueue:     {"prompts", "branches", "queue_id", "skills", "priority"},
	NodeVoicemail: {"prompts", "next", "max_sec"},
	NodeCallback:  {"prompts", "branches", "queue_id"},
	NodeTransfer:  {"prompts", "branches", "number"},
	NodeHangup:    {"prompts"},
}

// nodeBranches are the branch names each kind takes; requiredBranches are
// those it must have.
var nodeBranches = map[NodeKind][]string{
	NodeMenu:     {BranchFallback},
	NodeCollect:  {BranchFallback},
	NodeHours:    {BranchOpen, BranchClosed, BranchHoliday},
	NodeHTTP:     {BranchOK, BranchError, BranchTimeout},
	NodeQueue:    {BranchFailed, BranchVM},
	NodeCallback: {BranchAccepted, BranchDeclined},
	NodeTransfer: {BranchFailed},
}

var requiredBranches = map[NodeKind][]string{
	NodeHours:    {BranchOpen, BranchClosed},
	NodeHTTP:     {BranchOK, BranchError},
	NodeCallback: {BranchDeclined},
}

// FlowIssue is one finding of a flow's check: an error prevents saving, a
// warning (such as a node no path reaches) does not.
type FlowIssue struct {
	Field    string `json:"field"`
	Message  string `json:"message"`
	Severity string `json:"severity"` // error or warning
}

func (i FlowIssue) String() string { return i.Field + ": " + i.Message }

// Validate checks the flow and fills defaults; it returns the first error
// as a field error. Check lists every finding, warnings included.
func (f *Flow) Validate() error {
	for _, is := range f.Check() {
		if is.Severity == "error" {
			return FieldError(is.Field, "%s", is.Message)
		}
	}
	return nil
}

// Check fills defaults and returns every error and warning in the flow, in
// a stable order (the flow's own fields, then nodes by id).
func (f *Flow) Check() []FlowIssue {
	c := &flowChecker{}
	if err := validateName(&f.Name); err != nil {
		c.errorf("name", "%s", err.(*Error).Message)
	}
	if f.Language == "" {
		f.Language = "es"
	}
	if !ValidLanguage(f.Language) {
		c.errorf("language", "must be one of %s", strings.Join(Languages, ", "))
	}
	if f.Preset != "" && f.Preset != PresetBrazil && f.Preset != PresetSpain {
		c.errorf("preset", "must be br, es or empty")
	}
	if f.Nodes == nil {
		f.Nodes = map[string]FlowNode{}
	}
	switch {
	case len(f.Nodes) == 0:
		c.errorf("nodes", "needs at least one node")
	case len(f.Nodes) > MaxFlowNodes:
		c.errorf("nodes", "at most %d nodes", MaxFlowNodes)
	}
	if f.Entry == "" {
		c.errorf("entry", "is required")
	} else if _, ok := f.Nodes[f.Entry]; !ok && len(f.Nodes) > 0 {
		c.errorf("entry", "unknown node %q", f.Entry)
	}
	ids := f.NodeIDs()
	for _, id := range ids {
		n := f.Nodes[id]
		c.node(f, id, &n)
		f.Nodes[id] = n
	}
	if !c.hasErrors() && len(f.Nodes) <= MaxFlowNodes {
		reach := f.Reachable()
		for _, id := range ids {
			if !reach[id] {
				c.warnf("nodes."+id, "no path from the entry reaches this node")
			}
		}
		if f.Preset == PresetBrazil {
			c.brazilMenu(f)
		}
	}
	return c.issues
}

// NodeIDs returns the flow's node ids in order.
func (f *Flow) NodeIDs() []string {
	ids := make([]string, 0, len(f.Nodes))
	for id := range f.Nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Targets lists the nodes n may lead to.
func (n *FlowNode) Targets() []string {
	var out []string
	if n.Next != "" {
		out = append(out, n.Next)
	}
	for _, k := range sortedKeys(n.Branches) {
		out = append(out, n.Branches[k])
	}
	for _, k := range sortedKeys(n.Options) {
		out = append(out, n.Options[k])
	}
	return out
}

// Reachable returns the nodes some path from the entry reaches.
func (f *Flow) Reachable() map[string]bool {
	seen := map[string]bool{}
	stack := []string{f.Entry}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n, ok := f.Nodes[id]
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		stack = append(stack, n.Targets()...)
	}
	return seen
}

// QueueIDs lists the queues the flow's nodes name, without repeats.
func (f *Flow) QueueIDs() []string {
	var out []string
	for _, id := range f.NodeIDs() {
		if q := f.Nodes[id].QueueID; q != "" && !slices.Contains(out, q) {
			out = append(out, q)
		}
	}
	return out
}

// SkillIDs lists the skills the flow's queue nodes ask for, without repeats.
func (f *Flow) SkillIDs() []string {
	var out []string
	for _, id := range f.NodeIDs() {
		for _, s := range f.Nodes[id].Skills {
			if !slices.Contains(out, s.SkillID) {
				out = append(out, s.SkillID)
			}
		}
	}
	return out
}

type flowChecker struct {
	issues []FlowIssue
}

func (c *flowChecker) errorf(field, format string, args ...any) {
	c.issues = append(c.issues, FlowIssue{Field: field, Message: fmt.Sprintf(format, args...), Severity: "error"})
}

func (c *flowChecker) warnf(field, format string, args ...any) {
	c.issues = append(c.issues, FlowIssue{Field: field, Message: fmt.Sprintf(format, args...), Severity: "warning"})
}

func (c *flowChecker) hasErrors() bool {
	return slices.ContainsFunc(c.issues, func(i FlowIssue) bool { return i.Severity == "error" })
}

// node checks one node and fills its defaults.
func (c *flowChecker) node(f *Flow, id string, n *FlowNode) {
	p := "nodes." + id
	if !reNodeID.MatchString(id) {
		c.errorf(p, "node ids are 1-40 letters, digits, '_' or '-', starting with a letter or digit")
		return
	}
	allowed, ok := nodeFields[n.Kind]
	if !ok {
		c.errorf(p+".kind", "must be one of %s", joinStrings(NodeKinds))
		return
	}
	for _, field := range setFields(n) {
		if !slices.Contains(allowed, field) {
			c.errorf(p+"."+field, "does not apply to a %s node", n.Kind)
		}
	}
	target := func(field, to string) {
		if to == "" {
			c.errorf(p+"."+field, "is required")
		} else if _, ok := f.Nodes[to]; !ok {
			c.errorf(p+"."+field, "unknown node %q", to)
		}
	}
	c.prompts(p+".prompts", n.Prompts)
	if slices.Contains(allowed, "next") && n.Next != "" || needsNext(n.Kind) {
		target("next", n.Next)
	}
	branches := nodeBranches[n.Kind]
	for _, b := range sortedKeys(n.Branches) {
		if !slices.Contains(branches, b) {
			if len(branches) == 0 {
				c.errorf(p+".branches", "a %s node has no branches", n.Kind)
			} else {
				c.errorf(p+".branches."+b, "is not a branch of a %s node (%s)", n.Kind, strings.Join(branches, ", "))
			}
			continue
		}
		target("branches."+b, n.Branches[b])
	}
	for _, b := range requiredBranches[n.Kind] {
		if _, ok := n.Branches[b]; !ok {
			c.errorf(p+".branches."+b, "is required")
		}
	}
	switch n.Kind {
	case NodeMenu:
		if len(n.Options) == 0 {
			c.errorf(p+".options", "needs at least one digit")
		}
		for _, d := range sortedKeys(n.Options) {
			if len(d) != 1 || !strings.Contains("0123456789*#", d) {
				c.errorf(p+".options", "%q is not a key: use 0-9, * or #", d)
				continue
			}
			target("options."+d, n.Options[d])
		}
		if len(n.Prompts) == 0 {
			c.errorf(p+".prompts", "a menu needs a prompt")
		}
		c.retries(p, n)
	case NodeCollect:
		if n.MinDigits == 0 {
			n.MinDigits = 1
		}
		if n.MaxDigits == 0 {
			n.MaxDigits = n.MinDigits
		}
		if n.MinDigits < 1 || n.MinDigits > MaxCollectDigits {
			c.errorf(p+".min_digits", "must be between 1 and %d", MaxCollectDigits)
		}
		if n.MaxDigits < n.MinDigits || n.MaxDigits > MaxCollectDigits {
			c.errorf(p+".max_digits", "must be between min_digits and %d", MaxCollectDigits)
		}
		switch n.Terminator {
		case "":
			n.Terminator = "#"
		case "#", "*", "none":
		default:
			c.errorf(p+".terminator", "must be #, * or none")
		}
		if n.Pattern != "" {
			if len(n.Pattern) > MaxFlowPatternLen {
				c.errorf(p+".pattern", "at most %d characters", MaxFlowPatternLen)
			} else if _, err := regexp.Compile(n.Pattern); err != nil {
				c.errorf(p+".pattern", "is not a regular expression: %v", err)
			}
		}
		if n.Check != "" && !slices.Contains(CheckDigitSchemes, n.Check) {
			c.errorf(p+".check", "must be one of %s", strings.Join(CheckDigitSchemes, ", "))
		}
		c.variable(p+".variable", n.Variable, true)
		c.retries(p, n)
	case NodeHours:
		switch {
		case n.QueueID != "" && n.Hours != nil:
			c.errorf(p+".hours", "give either queue_id or hours, not both")
		case n.QueueID != "":
			if !ValidID(n.QueueID) {
				c.errorf(p+".queue_id", "is not an id")
			}
		case n.Hours != nil:
			if err := n.Hours.validate(); err != nil {
				e := err.(*Error)
				c.errorf(p+".hours"+strings.TrimPrefix(e.Field, "routing.hours"), "%s", e.Message)
			}
		default:
			c.errorf(p+".queue_id", "give a queue_id whose hours apply, or the node's own hours")
		}
	case NodeSet:
		if len(n.Set) == 0 {
			c.errorf(p+".set", "needs at least one variable")
		}
		if len(n.Set) > MaxFlowVariables {
			c.errorf(p+".set", "at most %d variables", MaxFlowVariables)
		}
		for _, k := range sortedKeys(n.Set) {
			c.variable(p+".set."+k, k, false)
			if v := n.Set[k]; len(v) > MaxFlowValue || !utf8.ValidString(v) {
				c.errorf(p+".set."+k, "at most %d bytes of UTF-8", MaxFlowValue)
			}
		}
	case NodeHTTP:
		if n.Method == "" {
			n.Method = "GET"
		}
		n.Method = strings.ToUpper(n.Method)
		if n.Method != "GET" && n.Method != "POST" {
			c.errorf(p+".method", "must be GET or POST")
		}
		if n.Body != "" && n.Method != "POST" {
			c.errorf(p+".body", "is only for POST")
		}
		if len(n.Body) > MaxFlowBody || !utf8.ValidString(n.Body) {
			c.errorf(p+".body", "at most %d bytes of UTF-8", MaxFlowBody)
		}
		if err := CheckFlowURL(n.URL); err != nil {
			c.errorf(p+".url", "%s", err.(*Error).Message)
		}
		if n.TimeoutSec == 0 {
			n.TimeoutSec = 3
		}
		if n.TimeoutSec < 1 || n.TimeoutSec > MaxFlowHTTPSec {
			c.errorf(p+".timeout_sec", "must be between 1 and %d", MaxFlowHTTPSec)
		}
		if len(n.Extract) > MaxFlowVariables {
			c.errorf(p+".extract", "at most %d variables", MaxFlowVariables)
		}
		for _, k := range sortedKeys(n.Extract) {
			c.variable(p+".extract."+k, k, false)
			if !reJSONPath.MatchString(n.Extract[k]) || len(n.Extract[k]) > 200 {
				c.errorf(p+".extract."+k, "must be a dotted path into the JSON answer, such as customer.name or items.0.id")
			}
		}
	case NodeLanguage:
		if !ValidLanguage(n.Language) {
			c.errorf(p+".language", "must be one of %s", strings.Join(Languages, ", "))
		}
	case NodeQueue:
		if !ValidID(n.QueueID) {
			c.errorf(p+".queue_id", "is required")
		}
		seen := map[string]bool{}
		for i, s := range n.Skills {
			sp := fmt.Sprintf("%s.skills[%d]", p, i)
			if !ValidID(s.SkillID) {
				c.errorf(sp+".skill_id", "is not an id")
			}
			if s.MinProficiency < 1 || s.MinProficiency > 10 {
				c.errorf(sp+".min_proficiency", "must be between 1 and 10")
			}
			if seen[s.SkillID] {
				c.errorf(sp+".skill_id", "is listed twice")
			}
			seen[s.SkillID] = true
		}
		if n.Priority < 0 || n.Priority > MaxPriority {
			c.errorf(p+".priority", "must be between 0 and %d", MaxPriority)
		}
	case NodeVoicemail:
		if n.MaxSec == 0 {
			n.MaxSec = 120
		}
		if n.MaxSec < 5 || n.MaxSec > MaxVoicemailSec {
			c.errorf(p+".max_sec", "must be between 5 and %d seconds", MaxVoicemailSec)
		}
		if len(n.Prompts) == 0 {
			n.Prompts = []string{"voicemail"}
		}
	case NodeCallback:
		if !ValidID(n.QueueID) {
			c.errorf(p+".queue_id", "is required: the queue whose place the callback keeps")
		}
		if len(n.Prompts) == 0 {
			n.Prompts = []string{"callback_offer"}
		}
	case NodeTransfer:
		if !reE164.MatchString(n.Number) {
			c.errorf(p+".number", "must be a phone number in E.164, such as +34910000000")
		}
	}
}

// needsNext says whether a kind must name its next node.
func needsNext(k NodeKind) bool {
	switch k {
	case NodePlay, NodeCollect, NodeSet, NodeLanguage:
		return true
	}
	return false
}

func (c *flowChecker) retries(p string, n *FlowNode) {
	if n.TimeoutSec == 0 {
		n.TimeoutSec = 5
	}
	if n.TimeoutSec < 1 || n.TimeoutSec > 60 {
		c.errorf(p+".timeout_sec", "must be between 1 and 60 seconds")
	}
	if n.Retries < 0 || n.Retries > 5 {
		c.errorf(p+".retries", "must be between 0 and 5")
	}
	if len(n.InvalidPrompts) == 0 {
		n.InvalidPrompts = []string{"invalid"}
	}
	if len(n.NoInputPrompts) == 0 {
		n.NoInputPrompts = []string{"no_input"}
	}
	c.prompts(p+".invalid_prompts", n.InvalidPrompts)
	c.prompts(p+".no_input_prompts", n.NoInputPrompts)
}

func (c *flowChecker) prompts(field string, ps []string) {
	if len(ps) > MaxFlowPrompts {
		c.errorf(field, "at most %d prompts", MaxFlowPrompts)
		return
	}
	for i, s := range ps {
		if err := CheckPromptRef(s); err != nil {
			c.errorf(fmt.Sprintf("%s[%d]", field, i), "%s", err.Error())
		}
	}
}

func (c *flowChecker) variable(field, name string, required bool) {
	switch {
	case name == "" && !required:
	case name == "":
		c.errorf(field, "is required")
	case !reVariable.MatchString(name):
		c.errorf(field, "variable names are 1-32 lower-case letters, digits or '_', starting with a letter")
	case slices.Contains(FlowVariables, name):
		c.errorf(field, "%s is set by the call and cannot be changed", name)
	}
}

// brazilMenu checks the SAC rule (Decreto 11.034/2022): the first menu the
// caller hears offers complaint, cancellation and a human.
func (c *flowChecker) brazilMenu(f *Flow) {
	id, seen := f.Entry, map[string]bool{}
	for !seen[id] {
		seen[id] = true
		n := f.Nodes[id]
		switch n.Kind {
		case NodeMenu:
			for _, want := range []string{"menu_complaint", "menu_cancellation", "menu_agent"} {
				if !slices.Contains(n.Prompts, want) {
					c.errorf("nodes."+id+".prompts", "the Brazil preset's first menu must offer complaint, cancellation and a human (%s is missing)", want)
				}
			}
			return
		case NodePlay, NodeSet, NodeLanguage:
			id = n.Next
		case NodeHours:
			id = n.Branches[BranchOpen]
		default:
			c.errorf("entry", "the Brazil preset needs a menu before any %s node", n.Kind)
			return
		}
	}
	c.errorf("entry", "the Brazil preset needs a menu")
}

// setFields lists the JSON names of n's fields that hold a value.
func setFields(n *FlowNode) []string {
	b, _ := json.Marshal(n)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	delete(m, "kind")
	return sortedKeys(m)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// CheckPromptRef checks a prompt reference: a catalogue id, "upload:<id>",
// or "number:{{var}}" / "digits:{{var}}".
func CheckPromptRef(s string) error {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		if !slices.Contains(PromptIDs, s) {
			if rePromptID.MatchString(s) {
				return fmt.Errorf("%q is not a prompt of the catalogue", s)
			}
			return fmt.Errorf("%q is not a prompt reference", s)
		}
		return nil
	}
	switch kind {
	case "upload":
		if !ValidID(rest) {
			return fmt.Errorf("upload: needs the id of an uploaded prompt")
		}
	case "number", "digits":
		m := reTemplate.FindStringSubmatch(rest)
		if m == nil || m[0] != rest || !reVariable.MatchString(m[1]) {
			return fmt.Errorf("%s: needs one variable, such as %s:{{account}}", kind, kind)
		}
	default:
		return fmt.Errorf("%q is not a prompt reference", s)
	}
	return nil
}

// CheckFlowURL checks an http node's URL template: http or https, a host
// without variables, and well-formed {{variables}} elsewhere. The voice
// channel checks the host's addresses again when calling it.
func CheckFlowURL(tmpl string) error {
	if tmpl == "" {
		return Errorf(EInvalid, "is required")
	}
	if len(tmpl) > MaxWebhookURL {
		return Errorf(EInvalid, "at most %d characters", MaxWebhookURL)
	}
	for _, m := range reTemplate.FindAllStringSubmatch(tmpl, -1) {
		if !reVariable.MatchString(m[1]) {
			return Errorf(EInvalid, "{{%s}} is not a variable name", m[1])
		}
	}
	probe := reTemplate.ReplaceAllString(tmpl, "x")
	if strings.ContainsAny(probe, "{}") {
		return Errorf(EInvalid, "variables are written {{name}}")
	}
	u, err := url.Parse(probe)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return Errorf(EInvalid, "must be an http:// or https:// URL with a host and no user name")
	}
	if i := strings.Index(tmpl, "://"); i >= 0 {
		host, _, _ := strings.Cut(tmpl[i+3:], "/")
		host, _, _ = strings.Cut(host, "?")
		if strings.Contains(host, "{{") {
			return Errorf(EInvalid, "the host may not hold variables")
		}
	}
	return nil
}

// RenderFlowTemplate fills {{variables}} in s from vars; escape, when not
// nil, encodes each value (for URLs). Unknown variables become empty.
func RenderFlowTemplate(s string, vars map[string]string, escape func(string) string) string {
	return reTemplate.ReplaceAllStringFunc(s, func(m string) string {
		v := vars[reTemplate.FindStringSubmatch(m)[1]]
		if escape != nil {
			return escape(v)
		}
		return v
	})
}

// TemplateVariable returns the variable of a "number:{{var}}" style
// reference's argument.
func TemplateVariable(s string) string {
	if m := reTemplate.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

// Holiday returns the holiday of the calendar on t's date in loc.
func (c *Calendar) Holiday(t time.Time, loc *time.Location) (Holiday, bool) {
	day := t.In(loc).Format(time.DateOnly)
	for _, h := range c.Holidays {
		if h.Date == day {
			return h, true
		}
	}
	return Holiday{}, false
}

// ValidCheckDigits reports whether digits pass the named check-digit scheme:
// luhn (cards), mod11 (the last digit is the weighted sum, weights 2-9 from
// the right, mod 11, 10 and 11 giving 0) or cpf (Brazil's individual
// taxpayer number, 11 digits with two check digits).
func ValidCheckDigits(scheme, digits string) bool {
	for _, r := range digits {
		if r < '0' || r > '9' {
			return false
		}
	}
	switch scheme {
	case "luhn":
		if len(digits) < 2 {
			return false
		}
		sum := 0
		for i := range len(digits) {
			d := int(digits[len(digits)-1-i] - '0')
			if i%2 == 1 {
				d *= 2
				if d > 9 {
					d -= 9
				}
			}
			sum += d
		}
		return sum%10 == 0
	case "mod11":
		if len(digits) < 2 {
			return false
		}
		return mod11Digit(digits[:len(digits)-1]) == int(digits[len(digits)-1]-'0')
	case "cpf":
		if len(digits) != 11 || strings.Count(digits, digits[:1]) == 11 {
			return false
		}
		for _, n := range []int{9, 10} {
			sum := 0
			for i := range n {
				sum += int(digits[i]-'0') * (n + 1 - i)
			}
			d := sum * 10 % 11
			if d == 10 {
				d = 0
			}
			if d != int(digits[n]-'0') {
				return false
			}
		}
		return true
	}
	return false
}

func mod11Digit(body string) int {
	sum, w := 0, 2
	for i := len(body) - 1; i >= 0; i-- {
		sum += int(body[i]-'0') * w
		if w++; w > 9 {
			w = 2
		}
	}
	d := 11 - sum%11
	if d >= 10 {
		d = 0
	}
	return d
}

// FlowPresets are the starting flows PresetFlow builds.
var FlowPresets = []string{"brazil", "spain", "basic"}

// PresetFlow builds a starting flow that sends callers to queueID: "brazil"
// opens with the SAC menu (complaint, cancellation, a human), "spain" greets
// and queues (its queue's 3-minute cap and callback action come from the
// queue's own "es" preset), "basic" greets, checks the queue's hours and
// queues.
func PresetFlow(name, flowName, language, queueID string) (*Flow, error) {
	if !ValidID(queueID) {
		return nil, FieldError("queue_id", "is required")
	}
	f := &Flow{Name: flowName, Language: language, Entry: "welcome"}
	closed := map[string]FlowNode{
		"closed":    {Kind: NodePlay, Prompts: []string{"out_of_hours"}, Next: "voicemail"},
		"voicemail": {Kind: NodeVoicemail, MaxSec: 120, Next: "goodbye"},
		"goodbye":   {Kind: NodeHangup, Prompts: []string{"goodbye"}},
		"queue": {Kind: NodeQueue, QueueID: queueID, Prompts: []string{"please_wait"},
			Branches: map[string]string{BranchFailed: "voicemail", BranchVM: "voicemail"}},
		"hours": {Kind: NodeHours, QueueID: queueID, Branches: map[string]string{BranchOpen: "queue", BranchClosed: "closed"}},
	}
	switch name {
	case "brazil":
		f.Preset = PresetBrazil
		if f.Language == "" {
			f.Language = "pt-BR"
		}
		f.Nodes = closed
		f.Nodes["welcome"] = FlowNode{Kind: NodePlay, Prompts: []string{"welcome"}, Next: "menu"}
		f.Nodes["menu"] = FlowNode{Kind: NodeMenu, Prompts: []string{"menu_complaint", "menu_cancellation", "menu_agent"},
			Options:  map[string]string{"1": "complaint", "2": "cancellation", "0": "agent"},
			Branches: map[string]string{BranchFallback: "agent"}}
		for _, r := range []string{"complaint", "cancellation", "agent"} {
			f.Nodes[r] = FlowNode{Kind: NodeSet, Set: map[string]string{"reason": r}, Next: "hours"}
		}
	case "spain":
		f.Preset = PresetSpain
		if f.Language == "" {
			f.Language = "es"
		}
		f.Nodes = closed
		f.Nodes["welcome"] = FlowNode{Kind: NodePlay, Prompts: []string{"welcome"}, Next: "hours"}
	case "basic":
		f.Nodes = closed
		f.Nodes["welcome"] = FlowNode{Kind: NodePlay, Prompts: []string{"welcome"}, Next: "hours"}
	default:
		return nil, FieldError("preset", "must be one of %s", strings.Join(FlowPresets, ", "))
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// PathQueryEscape escapes a value so it is safe in a URL's path or query
// alike: spaces become %20 and '&', '=', '/', '?' and '#' are escaped.
func PathQueryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
