package atende

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Strategy is how a queue chooses among several free agents for a task.
type Strategy string

// Routing strategies. Ties are always broken by agent id, so the same state
// gives the same decision.
const (
	StrategyLongestIdle     Strategy = "longest_idle"     // the agent free for longest
	StrategyLeastOccupied   Strategy = "least_occupied"   // lowest share of capacity in use
	StrategyFewestToday     Strategy = "fewest_today"     // fewest contacts handled today
	StrategyRoundRobin      Strategy = "round_robin"      // the agent offered work longest ago
	StrategyBestProficiency Strategy = "best_proficiency" // highest proficiency on the queue's skills
	StrategyWeightedRandom  Strategy = "weighted_random"  // random, weighted by proficiency
)

// Strategies lists every strategy.
var Strategies = []Strategy{StrategyLongestIdle, StrategyLeastOccupied, StrategyFewestToday, StrategyRoundRobin, StrategyBestProficiency, StrategyWeightedRandom}

// ActionType is what happens to a task when a queue cannot take or keep it.
type ActionType string

// Queue actions for closed hours, a full queue, the maximum wait and tasks
// no agent can match.
const (
	ActionKeep      ActionType = "keep"      // stay in the queue (only for max wait and no-match: report and wait on)
	ActionOverflow  ActionType = "overflow"  // move to another queue, keeping the place (original wait)
	ActionCallback  ActionType = "callback"  // offer the customer a callback that keeps the place
	ActionVoicemail ActionType = "voicemail" // voicemail or offline form: becomes a message to answer later
	ActionReject    ActionType = "reject"    // end the task with a reason the channel tells the customer
)

// QueueAction is an action with its target queue for overflows.
type QueueAction struct {
	Type    ActionType `json:"type"`
	QueueID string     `json:"queue_id,omitempty"`
}

// EscalationType is a step that widens or hurries a waiting task.
type EscalationType string

// Escalation steps.
const (
	EscalateRelaxSkill    EscalationType = "relax_skill"    // lower a skill's minimum proficiency
	EscalateAddQueue      EscalationType = "add_queue"      // also offer to another queue's agents
	EscalateRaisePriority EscalationType = "raise_priority" // add to the task's priority
	EscalateCallback      EscalationType = "offer_callback" // offer the customer a callback
	EscalateVoicemail     EscalationType = "voicemail"      // send to voicemail or the offline form
)

// Escalation is a step applied after a task has waited AfterSec seconds.
type Escalation struct {
	AfterSec       int            `json:"after_sec"`
	Type           EscalationType `json:"type"`
	SkillID        string         `json:"skill_id,omitempty"`        // relax_skill
	MinProficiency int            `json:"min_proficiency,omitempty"` // relax_skill: the new minimum (0 drops the skill)
	QueueID        string         `json:"queue_id,omitempty"`        // add_queue
	Priority       int            `json:"priority,omitempty"`        // raise_priority: added
}

// OpenHours is one opening interval on a weekday in the tenant's time zone.
type OpenHours struct {
	Day   time.Weekday `json:"day"`   // 0 Sunday … 6 Saturday
	Open  string       `json:"open"`  // HH:MM
	Close string       `json:"close"` // HH:MM, after Open; 24:00 for midnight
}

// Holiday closes a queue for a whole day.
type Holiday struct {
	Date string `json:"date"` // YYYY-MM-DD
	Name string `json:"name"`
}

// Calendar holds a queue's business hours; an empty weekly list means always open.
type Calendar struct {
	Weekly   []OpenHours `json:"weekly"`
	Holidays []Holiday   `json:"holidays"`
}

// QueueRouting is how the routing engine runs a queue.
type QueueRouting struct {
	Strategy        Strategy     `json:"strategy"`
	OfferTimeoutSec int          `json:"offer_timeout_sec"` // an unanswered offer goes back after this (RONA)
	RONAStatus      AgentStatus  `json:"rona_status"`       // the state an agent who let an offer time out moves to
	RONAReason      string       `json:"rona_reason,omitempty"`
	AgingSec        int          `json:"aging_sec"`   // seconds of waiting worth one priority point
	WrapUpSec       int          `json:"wrap_up_sec"` // after-contact work before the agent is offered more
	StickySec       int          `json:"sticky_sec"`  // how long a returning customer waits for their last agent
	MaxSize         int          `json:"max_size"`    // 0: no limit
	FullAction      QueueAction  `json:"full_action"`
	MaxWaitAction   QueueAction  `json:"max_wait_action"` // when Queue.MaxWaitSec passes
	Hours           Calendar     `json:"hours"`
	ClosedAction    QueueAction  `json:"closed_action"`
	NoMatchAction   QueueAction  `json:"no_match_action"` // when no agent of the tenant could ever take the task
	Escalations     []Escalation `json:"escalations"`
	Preset          string       `json:"preset,omitempty"` // "es" or "br": legal defaults applied on save
	Alerts          QueueAlerts  `json:"alerts,omitzero"`  // the wallboard's alert thresholds
}

// QueueAlerts are the thresholds at which the wallboard raises a queue's
// alerts; zero leaves an alert off. The presets' legal wait limits raise
// their own alerts whatever is set here.
type QueueAlerts struct {
	// ServiceLevelBelowPct raises an alert while today's service level is
	// under this percentage.
	ServiceLevelBelowPct int `json:"service_level_below_pct,omitempty"`
	// LongestWaitAboveSec raises an alert while a task has waited longer.
	LongestWaitAboveSec int `json:"longest_wait_above_sec,omitempty"`
}

// LegalMaxWaitSec is the wait for a human the queue's preset caps by law,
// or 0 when its preset sets none.
func (r *QueueRouting) LegalMaxWaitSec() int {
	if r.Preset == PresetSpain {
		return SpainMaxWaitSec
	}
	return 0
}

// Presets name the legal defaults a queue can follow.
const (
	// PresetSpain caps the wait for a human at 3 minutes (Ley de Servicios
	// de Atención a la Clientela, REFERENCE.md): the max-wait action must
	// offer a way out that keeps the customer's place.
	PresetSpain = "es"
	// PresetBrazil makes sure a human can always be reached (Decreto
	// 11.034/2022, the SAC rules): no action may end the contact without a
	// human, a callback or a recorded message.
	PresetBrazil = "br"
)

// SpainMaxWaitSec is the Spanish cap on waiting for a human.
const SpainMaxWaitSec = 180

// DefaultQueueRouting returns sensible defaults: longest idle, 20 s offers,
// one priority point per minute of waiting, 30 s of wrap-up.
func DefaultQueueRouting() QueueRouting {
	return QueueRouting{
		Strategy: StrategyLongestIdle, OfferTimeoutSec: 20, RONAStatus: StatusAvailable, AgingSec: 60, WrapUpSec: 30, StickySec: 30,
		FullAction: QueueAction{Type: ActionReject}, MaxWaitAction: QueueAction{Type: ActionKeep},
		ClosedAction: QueueAction{Type: ActionVoicemail}, NoMatchAction: QueueAction{Type: ActionKeep},
		Hours: Calendar{Weekly: []OpenHours{}, Holidays: []Holiday{}}, Escalations: []Escalation{},
	}
}

// FillDefaults sets zero fields to their defaults (also for queues stored
// before routing settings existed).
func (r *QueueRouting) FillDefaults() {
	d := DefaultQueueRouting()
	if r.Strategy == "" {
		r.Strategy = d.Strategy
	}
	if r.OfferTimeoutSec == 0 {
		r.OfferTimeoutSec = d.OfferTimeoutSec
	}
	if r.RONAStatus == "" {
		r.RONAStatus = d.RONAStatus
	}
	if r.AgingSec == 0 {
		r.AgingSec = d.AgingSec
	}
	for _, a := range []struct{ got, def *QueueAction }{
		{&r.FullAction, &d.FullAction}, {&r.MaxWaitAction, &d.MaxWaitAction},
		{&r.ClosedAction, &d.ClosedAction}, {&r.NoMatchAction, &d.NoMatchAction},
	} {
		if a.got.Type == "" {
			*a.got = *a.def
		}
	}
	if r.Hours.Weekly == nil {
		r.Hours.Weekly = []OpenHours{}
	}
	if r.Hours.Holidays == nil {
		r.Hours.Holidays = []Holiday{}
	}
	if r.Escalations == nil {
		r.Escalations = []Escalation{}
	}
}

// validate checks the routing settings of queue q; the store checks that the
// queues and skills they name exist and that overflows form no cycle.
func (r *QueueRouting) validate(q *Queue) error {
	r.FillDefaults()
	if !slices.Contains(Strategies, r.Strategy) {
		return FieldError("routing.strategy", "must be one of %s", joinStrings(Strategies))
	}
	if r.OfferTimeoutSec < 5 || r.OfferTimeoutSec > 600 {
		return FieldError("routing.offer_timeout_sec", "must be between 5 and 600 seconds")
	}
	switch r.RONAStatus {
	case StatusAvailable, StatusOffline:
		if r.RONAReason != "" {
			return FieldError("routing.rona_reason", "is only for rona_status away")
		}
	case StatusAway:
		if r.RONAReason == "" {
			return FieldError("routing.rona_reason", "is required when rona_status is away")
		}
	default:
		return FieldError("routing.rona_status", "must be available, away or offline")
	}
	if r.AgingSec < 1 || r.AgingSec > 86400 {
		return FieldError("routing.aging_sec", "must be between 1 and 86400 seconds")
	}
	if r.WrapUpSec < 0 || r.WrapUpSec > 3600 {
		return FieldError("routing.wrap_up_sec", "must be between 0 and 3600 seconds")
	}
	if r.StickySec < 0 || r.StickySec > 3600 {
		return FieldError("routing.sticky_sec", "must be between 0 and 3600 seconds")
	}
	if r.MaxSize < 0 || r.MaxSize > 10_000_000 {
		return FieldError("routing.max_size", "must be between 0 (no limit) and 10000000")
	}
	for _, c := range []struct {
		field string
		a     QueueAction
		keep  bool
	}{
		{"routing.full_action", r.FullAction, false},
		{"routing.max_wait_action", r.MaxWaitAction, true},
		{"routing.closed_action", r.ClosedAction, false},
		{"routing.no_match_action", r.NoMatchAction, true},
	} {
		if err := c.a.validate(c.field, c.keep, q.ID); err != nil {
			return err
		}
	}
	if err := r.Hours.validate(); err != nil {
		return err
	}
	if len(r.Escalations) > 20 {
		return FieldError("routing.escalations", "at most 20 steps")
	}
	prev := 0
	for i, e := range r.Escalations {
		f := fmt.Sprintf("routing.escalations[%d]", i)
		if e.AfterSec < 1 || e.AfterSec > 86400*7 {
			return FieldError(f+".after_sec", "must be between 1 and 604800 seconds")
		}
		if e.AfterSec < prev {
			return FieldError(f+".after_sec", "steps must be in order of time")
		}
		prev = e.AfterSec
		switch e.Type {
		case EscalateRelaxSkill:
			if !ValidID(e.SkillID) {
				return FieldError(f+".skill_id", "is required for relax_skill")
			}
			req := -1
			for _, s := range q.Skills {
				if s.SkillID == e.SkillID {
					req = s.MinProficiency
				}
			}
			if req < 0 {
				return FieldError(f+".skill_id", "is not one of the queue's skills")
			}
			if e.MinProficiency < 0 || e.MinProficiency >= req {
				return FieldError(f+".min_proficiency", "must be lower than the queue's minimum (%d); 0 drops the skill", req)
			}
		case EscalateAddQueue:
			if !ValidID(e.QueueID) || e.QueueID == q.ID {
				return FieldError(f+".queue_id", "must be another queue")
			}
		case EscalateRaisePriority:
			if e.Priority < 1 || e.Priority > MaxPriority {
				return FieldError(f+".priority", "must be between 1 and %d", MaxPriority)
			}
		case EscalateCallback, EscalateVoicemail:
		default:
			return FieldError(f+".type", "must be relax_skill, add_queue, raise_priority, offer_callback or voicemail")
		}
	}
	if a := r.Alerts; a.ServiceLevelBelowPct < 0 || a.ServiceLevelBelowPct > 100 {
		return FieldError("routing.alerts.service_level_below_pct", "must be between 0 (off) and 100")
	}
	if a := r.Alerts; a.LongestWaitAboveSec < 0 || a.LongestWaitAboveSec > 86400 {
		return FieldError("routing.alerts.longest_wait_above_sec", "must be between 0 (off) and 86400 seconds")
	}
	return r.applyPreset(q)
}

// applyPreset enforces the legal defaults a queue opted into.
func (r *QueueRouting) applyPreset(q *Queue) error {
	switch r.Preset {
	case "":
	case PresetSpain:
		if q.MaxWaitSec == 0 || q.MaxWaitSec > SpainMaxWaitSec {
			q.MaxWaitSec = SpainMaxWaitSec
		}
		if r.MaxWaitAction.Type == ActionKeep || r.MaxWaitAction.Type == ActionReject {
			r.MaxWaitAction = QueueAction{Type: ActionCallback}
		}
	case PresetBrazil:
		for _, a := range []*QueueAction{&r.FullAction, &r.MaxWaitAction, &r.ClosedAction, &r.NoMatchAction} {
			if a.Type == ActionReject {
				return FieldError("routing.preset", "the Brazil preset needs every action to lead to a human, a callback or a message; reject is not allowed")
			}
		}
	default:
		return FieldError("routing.preset", "must be es, br or empty")
	}
	return nil
}

// Targets lists the queues a queue's actions and escalations send tasks to.
func (r *QueueRouting) Targets() []string {
	var out []string
	for _, a := range []QueueAction{r.FullAction, r.MaxWaitAction, r.ClosedAction, r.NoMatchAction} {
		if a.Type == ActionOverflow {
			out = append(out, a.QueueID)
		}
	}
	for _, e := range r.Escalations {
		if e.Type == EscalateAddQueue {
			out = append(out, e.QueueID)
		}
	}
	return out
}

// Overflows lists the queues a queue's actions move tasks to (escalations
// that add a queue keep the task in its own, so they make no cycle).
func (r *QueueRouting) Overflows() []string {
	var out []string
	for _, a := range []QueueAction{r.FullAction, r.MaxWaitAction, r.ClosedAction, r.NoMatchAction} {
		if a.Type == ActionOverflow {
			out = append(out, a.QueueID)
		}
	}
	return out
}

func (a QueueAction) validate(field string, keepAllowed bool, self string) error {
	switch a.Type {
	case ActionKeep:
		if !keepAllowed {
			return FieldError(field+".type", "keep is only for max_wait_action and no_match_action")
		}
	case ActionCallback, ActionVoicemail, ActionReject:
	case ActionOverflow:
		if !ValidID(a.QueueID) {
			return FieldError(field+".queue_id", "is required for overflow")
		}
		if a.QueueID == self {
			return FieldError(field+".queue_id", "a queue cannot overflow into itself")
		}
		return nil
	default:
		return FieldError(field+".type", "must be keep, overflow, callback, voicemail or reject")
	}
	if a.QueueID != "" {
		return FieldError(field+".queue_id", "is only for overflow")
	}
	return nil
}

func (c *Calendar) validate() error {
	for i, h := range c.Weekly {
		f := fmt.Sprintf("routing.hours.weekly[%d]", i)
		if h.Day < time.Sunday || h.Day > time.Saturday {
			return FieldError(f+".day", "must be 0 (Sunday) to 6 (Saturday)")
		}
		o, ok1 := clockMinutes(h.Open)
		cl, ok2 := clockMinutes(h.Close)
		if !ok1 {
			return FieldError(f+".open", "must be HH:MM")
		}
		if !ok2 || cl <= o {
			return FieldError(f+".close", "must be HH:MM after open (24:00 for midnight)")
		}
	}
	for i, h := range c.Holidays {
		if _, err := time.Parse(time.DateOnly, h.Date); err != nil {
			return FieldError(fmt.Sprintf("routing.hours.holidays[%d].date", i), "must be YYYY-MM-DD")
		}
	}
	return nil
}

// clockMinutes parses HH:MM (00:00-24:00) into minutes after midnight.
func clockMinutes(s string) (int, bool) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

// Open reports whether the calendar is open at t, read in loc.
func (c *Calendar) Open(t time.Time, loc *time.Location) bool {
	if len(c.Weekly) == 0 && len(c.Holidays) == 0 {
		return true
	}
	local := t.In(loc)
	day := local.Format(time.DateOnly)
	for _, h := range c.Holidays {
		if h.Date == day {
			return false
		}
	}
	if len(c.Weekly) == 0 {
		return true
	}
	mins := local.Hour()*60 + local.Minute()
	for _, h := range c.Weekly {
		o, _ := clockMinutes(h.Open)
		cl, _ := clockMinutes(h.Close)
		if h.Day == local.Weekday() && mins >= o && mins < cl {
			return true
		}
	}
	return false
}

func joinStrings[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
