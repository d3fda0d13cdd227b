// Package sim is atende's contact-center simulator: it runs the real
// routing core (internal/routing) on a virtual clock against simulated
// traffic and agents, so a planner can try staffing, shifts, skills and
// routing settings before a day happens, and so the core can be checked
// against queueing theory (Erlang C, REFERENCE.md).
//
// It is a discrete-event simulation: a heap of simulation events
// (arrivals, answers, completions, abandons, shift changes) is merged with
// the core's own timers (NextDeadline), and time jumps from one to the next.
// Nothing sleeps and nothing runs concurrently, so a run is a pure function
// of its Config: the same seed gives the same result, byte for byte.
package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/routing"
)

// Config describes a simulation: queues with their traffic, agents with
// their skills and shifts, and how long to run. Its JSON form is the file
// format of `atende sim -config` (docs/simulator.md).
type Config struct {
	Name     string    `json:"name,omitempty"`
	Start    time.Time `json:"start,omitzero"`      // midnight of the first simulated day; default 2026-03-02 00:00 in TimeZone
	TimeZone string    `json:"time_zone,omitempty"` // IANA name, for business hours; default UTC
	Days     int       `json:"days,omitempty"`      // simulated days; default 1 (or what the replayed arrivals span)
	Duration Duration  `json:"duration,omitzero"`   // instead of Days, for runs that are not whole days
	// WarmUp leaves the first part of the run out of the results, so a
	// run that starts empty can be compared with steady-state theory.
	WarmUp Duration `json:"warm_up,omitzero"`
	// Drain is how long the run goes on after the last arrival for the
	// tasks still in the center; default 1 h. Tasks still waiting then are
	// reported as unanswered.
	Drain Duration `json:"drain,omitzero"`
	Seed  uint64   `json:"seed"`
	// AnswerDelaySec is how long a simulated agent takes to accept an
	// offer (ringing), unless its group says otherwise.
	AnswerDelaySec float64 `json:"answer_delay_sec,omitempty"`
	// ShortAbandonSec: customers who leave sooner are short abandons
	// (REFERENCE.md, "Contact-center KPIs"); default 5 s.
	ShortAbandonSec float64 `json:"short_abandon_sec,omitempty"`
	// IntervalMin, when set, also reports every queue per interval of this
	// many minutes (by arrival time), as WFM reports do (15 is usual).
	IntervalMin int               `json:"interval_min,omitempty"`
	Blending    *routing.Blending `json:"blending,omitempty"` // default routing.DefaultBlending()
	// Curves are intraday shapes that queues' per_day volumes follow.
	Curves map[string]Curve `json:"curves,omitempty"`
	Queues []QueueSpec      `json:"queues"`
	Agents []AgentSpec      `json:"agents"`
	// Arrivals, when not empty, replaces every queue's arrival process with
	// these arrivals (a replayed CSV, see ReadArrivals).
	Arrivals []Arrival `json:"-"`
}

// QueueSpec is a queue as the routing core runs it, with its traffic: how
// tasks arrive, how long they take and how long customers wait.
// Skills, teams and the queue ids of routing actions name skills, teams and
// queues of the configuration; the simulator gives them ids.
type QueueSpec struct {
	atende.Queue
	Arrivals   Arrivals     `json:"arrivals"`
	HandleTime Distribution `json:"handle_time"` // from accept to completion; wrap-up comes from routing.wrap_up_sec
	Patience   Distribution `json:"patience"`    // how long a customer waits before leaving; none: forever
}

// UnmarshalJSON starts a queue from atende.DefaultQueueRouting, so a file
// only states what differs.
func (q *QueueSpec) UnmarshalJSON(b []byte) error {
	type plain QueueSpec
	p := plain{Queue: atende.Queue{Routing: atende.DefaultQueueRouting()}}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*q = QueueSpec(p)
	return nil
}

// Arrivals is a queue's arrival process: Poisson, with a constant rate
// (PerHour), a volume per interval (PerInterval) or a daily volume shaped by
// a curve (PerDay and Curve). Volumes repeat every simulated day.
type Arrivals struct {
	Channel     atende.Channel `json:"channel,omitempty"` // default: the queue's first channel
	PerHour     float64        `json:"per_hour,omitempty"`
	PerDay      float64        `json:"per_day,omitempty"`
	Curve       string         `json:"curve,omitempty"`        // a name in Config.Curves, with PerDay
	PerInterval []float64      `json:"per_interval,omitempty"` // expected arrivals in each interval of the day
	IntervalMin int            `json:"interval_min,omitempty"` // PerInterval's interval: 15, 30 or 60 (default 60)
	Scale       float64        `json:"scale,omitempty"`        // multiplies the volume, for what-ifs; default 1
}

// Curve is an intraday shape: the share of a day's volume in each interval,
// starting at midnight. Shares need not add up to 1; they are normalised.
type Curve struct {
	IntervalMin int       `json:"interval_min,omitempty"` // 15, 30 or 60 (default 60)
	Shares      []float64 `json:"shares"`
}

// Distribution is a random duration: exponential (MeanSec), lognormal
// (MeanSec and SDSec), fixed (MeanSec) or none (never; for patience).
type Distribution struct {
	Dist    string  `json:"dist,omitempty"` // default exponential when MeanSec is set, none otherwise
	MeanSec float64 `json:"mean_sec,omitempty"`
	SDSec   float64 `json:"sd_sec,omitempty"`
}

// Distributions.
const (
	DistExponential = "exponential"
	DistLognormal   = "lognormal"
	DistFixed       = "fixed"
	DistNone        = "none"
)

// AgentSpec is a group of identical agents: Count agents named Name-001,
// Name-002, … with the same skills, capacity and shifts.
type AgentSpec struct {
	Name     string          `json:"name"`
	Count    int             `json:"count,omitempty"`    // default 1
	Skills   map[string]int  `json:"skills,omitempty"`   // skill -> proficiency 1-10
	Capacity atende.Capacity `json:"capacity,omitempty"` // default atende.DefaultCapacity()
	Teams    []string        `json:"teams,omitempty"`
	// Shifts are when the agents are logged in, as offsets in each
	// simulated day: available at Start, offline at End (work in hand is
	// finished). Default: the whole day. An overnight shift ends after 24:00.
	Shifts         []Shift  `json:"shifts,omitempty"`
	AnswerDelaySec *float64 `json:"answer_delay_sec,omitempty"` // default Config.AnswerDelaySec
}

// Shift is a period logged in, as offsets from the start of a simulated day.
type Shift struct {
	Start Duration `json:"start"`
	End   Duration `json:"end"`
}

// Duration is a time.Duration that files write as "90s", "8h30m", a clock
// offset "08:30" (hours may pass 24) or a number of seconds.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string, a clock offset or seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if err := json.Unmarshal(b, &secs); err != nil {
			return fmt.Errorf("duration %s: want a string such as \"8h\" or \"08:00\", or seconds", b)
		}
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseDuration reads "90s", "8h30m", a clock offset "08:30" or "30:00:00",
// or a number of seconds.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, ":") {
		parts := strings.Split(s, ":")
		if len(parts) > 3 {
			return 0, fmt.Errorf("clock offset %q: want HH:MM or HH:MM:SS", s)
		}
		var total time.Duration
		units := []time.Duration{time.Hour, time.Minute, time.Second}
		for i, p := range parts {
			n, err := strconv.ParseFloat(p, 64)
			if err != nil || n < 0 || (i > 0 && n >= 60) {
				return 0, fmt.Errorf("clock offset %q: want HH:MM or HH:MM:SS", s)
			}
			total += time.Duration(n * float64(units[i]))
		}
		return total, nil
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(secs * float64(time.Second)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: want e.g. \"90s\", \"8h30m\", \"08:30\" or seconds", s)
	}
	return v, nil
}

// LoadConfig reads a configuration file: JSON, or TOML when the name ends
// in .toml. Both have the same fields.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	format := "json"
	if strings.EqualFold(filepath.Ext(path), ".toml") {
		format = "toml"
	}
	cfg, err := ParseConfig(b, format)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig reads a configuration in format "json" or "toml". Unknown
// fields are errors, so that a misspelt setting does not pass silently.
func ParseConfig(b []byte, format string) (Config, error) {
	switch format {
	case "json":
	case "toml":
		// One schema for both: TOML is read as a tree and decoded with the
		// JSON field names.
		var tree map[string]any
		if _, err := toml.Decode(string(b), &tree); err != nil {
			return Config{}, err
		}
		var err error
		if b, err = json.Marshal(tree); err != nil {
			return Config{}, err
		}
	default:
		return Config{}, fmt.Errorf("unknown configuration format %q", format)
	}
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Defaults of a run.
const (
	defaultShortAbandon = 5 * time.Second
	defaultDrain        = time.Hour
	day                 = 24 * time.Hour
)

// defaultStart is a Monday, so weekly business hours behave as on a weekday.
var defaultStart = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// model is a validated configuration with ids given and times resolved.
type model struct {
	cfg          Config
	loc          *time.Location
	start        time.Time
	end          time.Duration // arrivals stop here
	warmUp       time.Duration
	drain        time.Duration
	shortAbandon time.Duration
	interval     time.Duration // 0: no interval results
	queues       []*queueModel
	queueByName  map[string]*queueModel
	agents       []*agentModel // in id order
	groups       []string      // agent group names, in configuration order
	arrivals     []Arrival     // replayed, in time order, with offsets resolved
}

type queueModel struct {
	idx      int
	spec     QueueSpec // with ids in place of names
	channel  atende.Channel
	rates    []float64 // arrivals per second in each interval of the day
	slot     time.Duration
	handle   Distribution
	patience Distribution
}

type agentModel struct {
	spec   routing.AgentSpec
	group  int
	delay  time.Duration
	shifts []Shift
}

// ids gives deterministic ids to names: the core and atende.Queue.Validate
// want UUIDs for skills, teams and queues.
type ids struct {
	kind  int
	byKey map[string]string
}

func newIDs(kind int) *ids { return &ids{kind: kind, byKey: map[string]string{}} }

func (m *ids) id(name string) string {
	if atende.ValidID(name) {
		return name
	}
	if id, ok := m.byKey[name]; ok {
		return id
	}
	id := fmt.Sprintf("00000000-0000-7000-%04d-%012d", 8000+m.kind, len(m.byKey)+1)
	m.byKey[name] = id
	return id
}

// build validates a configuration and resolves names, defaults and times.
func build(cfg Config) (*model, error) {
	m := &model{cfg: cfg, queueByName: map[string]*queueModel{}}
	var err error
	m.loc = time.UTC
	if cfg.TimeZone != "" {
		if m.loc, err = time.LoadLocation(cfg.TimeZone); err != nil {
			return nil, fmt.Errorf("time_zone: %w", err)
		}
	}
	m.start = cfg.Start
	if m.start.IsZero() {
		m.start = time.Date(defaultStart.Year(), defaultStart.Month(), defaultStart.Day(), 0, 0, 0, 0, m.loc)
		if first, ok := firstTimestamp(cfg.Arrivals); ok {
			l := first.In(m.loc)
			m.start = time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, m.loc)
		}
	}
	m.shortAbandon = defaultShortAbandon
	if cfg.ShortAbandonSec < 0 {
		return nil, errors.New("short_abandon_sec must not be negative")
	} else if cfg.ShortAbandonSec > 0 {
		m.shortAbandon = seconds(cfg.ShortAbandonSec)
	}
	m.drain = defaultDrain
	if cfg.Drain < 0 {
		return nil, errors.New("drain must not be negative")
	} else if cfg.Drain > 0 {
		m.drain = cfg.Drain.Std()
	}
	if cfg.IntervalMin < 0 || (cfg.IntervalMin > 0 && (24*60)%cfg.IntervalMin != 0) {
		return nil, errors.New("interval_min must divide a day (e.g. 15, 30, 60)")
	}
	m.interval = time.Duration(cfg.IntervalMin) * time.Minute
	if cfg.AnswerDelaySec < 0 {
		return nil, errors.New("answer_delay_sec must not be negative")
	}
	if len(cfg.Queues) == 0 {
		return nil, errors.New("queues: at least one queue is needed")
	}
	if len(cfg.Agents) == 0 {
		return nil, errors.New("agents: at least one agent group is needed")
	}

	skills, teams, queueIDs := newIDs(1), newIDs(2), newIDs(3)
	for _, qs := range cfg.Queues {
		if qs.Name == "" {
			return nil, errors.New("queues: every queue needs a name")
		}
		if _, dup := m.queueByName[qs.Name]; dup {
			return nil, fmt.Errorf("queues: %q is listed twice", qs.Name)
		}
		m.queueByName[qs.Name] = nil
		queueIDs.id(qs.Name)
	}
	queueRef := func(field, name string) (string, error) {
		if name == "" {
			return "", nil
		}
		if _, ok := m.queueByName[name]; !ok && !atende.ValidID(name) {
			return "", fmt.Errorf("%s: %q is not a queue of the configuration", field, name)
		}
		return queueIDs.id(name), nil
	}
	for i, qs := range cfg.Queues {
		qm, err := buildQueue(i, qs, cfg, skills, teams, queueIDs, queueRef)
		if err != nil {
			return nil, fmt.Errorf("queue %q: %w", qs.Name, err)
		}
		m.queues = append(m.queues, qm)
		m.queueByName[qs.Name] = qm
	}

	seenGroup := map[string]bool{}
	for gi, as := range cfg.Agents {
		if as.Name == "" {
			return nil, errors.New("agents: every group needs a name")
		}
		if seenGroup[as.Name] {
			return nil, fmt.Errorf("agents: group %q is listed twice", as.Name)
		}
		seenGroup[as.Name] = true
		m.groups = append(m.groups, as.Name)
		ams, err := buildAgents(gi, as, cfg, skills, teams)
		if err != nil {
			return nil, fmt.Errorf("agent group %q: %w", as.Name, err)
		}
		m.agents = append(m.agents, ams...)
	}

	// Replayed arrivals: resolve offsets, check queues and channels.
	var span time.Duration
	for i, a := range cfg.Arrivals {
		at := a.At
		if !a.Time.IsZero() {
			at = a.Time.Sub(m.start)
		}
		if at < 0 {
			return nil, fmt.Errorf("arrival %d (line %d): before the start of the simulation (%s)", i+1, a.Line, m.start.Format(time.RFC3339))
		}
		qm := m.queueByName[a.Queue]
		if qm == nil {
			return nil, fmt.Errorf("arrival %d (line %d): queue %q is not in the configuration", i+1, a.Line, a.Queue)
		}
		if a.Channel == "" {
			a.Channel = qm.channel
		}
		if !hasChannel(qm.spec.Channels, a.Channel) {
			return nil, fmt.Errorf("arrival %d (line %d): queue %q does not take %s", i+1, a.Line, a.Queue, a.Channel)
		}
		if !a.HasHandle && qm.handle.Dist == DistNone {
			return nil, fmt.Errorf("arrival %d (line %d): no handle time, and queue %q has no handle_time to sample one", i+1, a.Line, a.Queue)
		}
		a.At, a.Time = at, time.Time{}
		span = max(span, at)
		m.arrivals = append(m.arrivals, a)
	}
	sortArrivals(m.arrivals)

	switch {
	case cfg.Duration < 0 || cfg.Days < 0:
		return nil, errors.New("days and duration must not be negative")
	case cfg.Duration > 0:
		m.end = cfg.Duration.Std()
	case cfg.Days > 0:
		m.end = time.Duration(cfg.Days) * day
	case len(m.arrivals) > 0:
		m.end = (span/day + 1) * day
	default:
		m.end = day
	}
	m.warmUp = cfg.WarmUp.Std()
	if m.warmUp < 0 || m.warmUp >= m.end {
		return nil, errors.New("warm_up must be shorter than the run")
	}
	return m, nil
}

func buildQueue(i int, qs QueueSpec, cfg Config, skills, teams, queueIDs *ids, queueRef func(field, name string) (string, error)) (*queueModel, error) {
	q := qs.Queue
	q.ID = queueIDs.id(qs.Name)
	q.TenantID = ""
	q.Skills = append([]atende.RequiredSkill(nil), q.Skills...)
	for k := range q.Skills {
		q.Skills[k].SkillID = skills.id(q.Skills[k].SkillID)
	}
	q.TeamIDs = nil
	for _, t := range qs.TeamIDs {
		q.TeamIDs = append(q.TeamIDs, teams.id(t))
	}
	r := &q.Routing
	var err error
	for _, a := range []struct {
		field  string
		action *atende.QueueAction
	}{
		{"routing.full_action", &r.FullAction}, {"routing.max_wait_action", &r.MaxWaitAction},
		{"routing.closed_action", &r.ClosedAction}, {"routing.no_match_action", &r.NoMatchAction},
	} {
		if a.action.QueueID, err = queueRef(a.field+".queue_id", a.action.QueueID); err != nil {
			return nil, err
		}
	}
	r.Escalations = append([]atende.Escalation(nil), r.Escalations...)
	for k := range r.Escalations {
		e := &r.Escalations[k]
		if e.SkillID != "" {
			e.SkillID = skills.id(e.SkillID)
		}
		if e.QueueID, err = queueRef(fmt.Sprintf("routing.escalations[%d].queue_id", k), e.QueueID); err != nil {
			return nil, err
		}
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	qm := &queueModel{idx: i, spec: qs, handle: qs.HandleTime, patience: qs.Patience}
	qm.spec.Queue = q
	qm.channel = qs.Arrivals.Channel
	if qm.channel == "" {
		qm.channel = q.Channels[0]
	}
	if !hasChannel(q.Channels, qm.channel) {
		return nil, fmt.Errorf("arrivals.channel: the queue does not take %s", qm.channel)
	}
	if qm.handle, err = qm.handle.normalise("handle_time", false); err != nil {
		return nil, err
	}
	if qm.patience, err = qm.patience.normalise("patience", true); err != nil {
		return nil, err
	}
	if qm.slot, qm.rates, err = qs.Arrivals.rates(cfg.Curves); err != nil {
		return nil, fmt.Errorf("arrivals: %w", err)
	}
	if qm.handle.Dist == DistNone && qm.busy() && len(cfg.Arrivals) == 0 {
		return nil, errors.New("handle_time: a mean is needed (mean_sec)")
	}
	return qm, nil
}

// busy reports whether the queue's Poisson process has any arrivals.
func (qm *queueModel) busy() bool {
	for _, r := range qm.rates {
		if r > 0 {
			return true
		}
	}
	return false
}

// rates turns an arrival process into a rate per second for each interval
// of the day.
func (a Arrivals) rates(curves map[string]Curve) (time.Duration, []float64, error) {
	scale := a.Scale
	if scale == 0 {
		scale = 1
	}
	if scale < 0 {
		return 0, nil, errors.New("scale must not be negative")
	}
	set := 0
	for _, ok := range []bool{a.PerHour != 0, a.PerDay != 0, len(a.PerInterval) > 0} {
		if ok {
			set++
		}
	}
	if set > 1 {
		return 0, nil, errors.New("give one of per_hour, per_day (with curve) or per_interval")
	}
	switch {
	case a.PerDay != 0:
		if a.PerDay < 0 {
			return 0, nil, errors.New("per_day must not be negative")
		}
		c, ok := curves[a.Curve]
		if !ok {
			return 0, nil, fmt.Errorf("per_day needs a curve; %q is not in curves", a.Curve)
		}
		slot, err := slotOf(c.IntervalMin, len(c.Shares))
		if err != nil {
			return 0, nil, fmt.Errorf("curve %q: %w", a.Curve, err)
		}
		total := 0.0
		for _, s := range c.Shares {
			if s < 0 {
				return 0, nil, fmt.Errorf("curve %q: shares must not be negative", a.Curve)
			}
			total += s
		}
		if total == 0 {
			return 0, nil, fmt.Errorf("curve %q: shares add up to 0", a.Curve)
		}
		out := make([]float64, len(c.Shares))
		for i, s := range c.Shares {
			out[i] = a.PerDay * scale * s / total / slot.Seconds()
		}
		return slot, out, nil
	case len(a.PerInterval) > 0:
		if a.Curve != "" {
			return 0, nil, errors.New("curve goes with per_day, not per_interval")
		}
		slot, err := slotOf(a.IntervalMin, len(a.PerInterval))
		if err != nil {
			return 0, nil, err
		}
		out := make([]float64, len(a.PerInterval))
		for i, v := range a.PerInterval {
			if v < 0 {
				return 0, nil, errors.New("per_interval volumes must not be negative")
			}
			out[i] = v * scale / slot.Seconds()
		}
		return slot, out, nil
	default:
		if a.Curve != "" {
			return 0, nil, errors.New("curve goes with per_day")
		}
		if a.PerHour < 0 {
			return 0, nil, errors.New("per_hour must not be negative")
		}
		return day, []float64{a.PerHour * scale / 3600}, nil
	}
}

// slotOf checks that n intervals of min minutes make a day.
func slotOf(min, n int) (time.Duration, error) {
	if min == 0 {
		min = 60
	}
	if min != 15 && min != 30 && min != 60 {
		return 0, errors.New("interval_min must be 15, 30 or 60")
	}
	if n*min != 24*60 {
		return 0, fmt.Errorf("%d intervals of %d min do not make a day (want %d)", n, min, 24*60/min)
	}
	return time.Duration(min) * time.Minute, nil
}

func (d Distribution) normalise(field string, noneOK bool) (Distribution, error) {
	if d.Dist == "" {
		d.Dist = DistNone
		if d.MeanSec != 0 {
			d.Dist = DistExponential
		}
	}
	switch d.Dist {
	case DistNone:
		if !noneOK && d.MeanSec != 0 {
			return d, fmt.Errorf("%s: dist none takes no mean", field)
		}
		return d, nil
	case DistExponential, DistFixed:
		if d.SDSec != 0 {
			return d, fmt.Errorf("%s: sd_sec is only for lognormal", field)
		}
	case DistLognormal:
		if d.SDSec <= 0 {
			return d, fmt.Errorf("%s: lognormal needs sd_sec > 0", field)
		}
	default:
		return d, fmt.Errorf("%s: dist must be exponential, lognormal, fixed or none", field)
	}
	if d.MeanSec <= 0 || math.IsInf(d.MeanSec, 0) || math.IsNaN(d.MeanSec) {
		return d, fmt.Errorf("%s: mean_sec must be a positive number", field)
	}
	return d, nil
}

func buildAgents(gi int, as AgentSpec, cfg Config, skills, teams *ids) ([]*agentModel, error) {
	count := as.Count
	if count == 0 {
		count = 1
	}
	if count < 0 || count > 100000 {
		return nil, errors.New("count must be between 1 and 100000")
	}
	capacity := as.Capacity
	if capacity == nil {
		capacity = atende.DefaultCapacity()
	}
	if err := capacity.Validate(); err != nil {
		return nil, err
	}
	var sk []atende.AgentSkill
	for _, name := range sortedKeys(as.Skills) {
		sk = append(sk, atende.AgentSkill{SkillID: skills.id(name), Proficiency: as.Skills[name]})
	}
	if err := atende.ValidateAgentSkills(sk); err != nil {
		return nil, err
	}
	var teamIDs []string
	for _, t := range as.Teams {
		teamIDs = append(teamIDs, teams.id(t))
	}
	delay := cfg.AnswerDelaySec
	if as.AnswerDelaySec != nil {
		delay = *as.AnswerDelaySec
	}
	if delay < 0 {
		return nil, errors.New("answer_delay_sec must not be negative")
	}
	shifts := as.Shifts
	if len(shifts) == 0 {
		shifts = []Shift{{Start: 0, End: Duration(day)}}
	}
	for i, s := range shifts {
		if s.Start < 0 || s.End <= s.Start || s.End.Std()-s.Start.Std() > day {
			return nil, fmt.Errorf("shifts[%d]: end must come after start, at most 24 h later", i)
		}
		if i > 0 && s.Start < shifts[i-1].End {
			return nil, fmt.Errorf("shifts[%d]: shifts must be in order and not overlap", i)
		}
	}
	if last, first := shifts[len(shifts)-1], shifts[0]; last.End.Std() > day && last.End.Std()-day > first.Start.Std() {
		return nil, errors.New("shifts: an overnight shift overlaps the next day's first shift")
	}
	out := make([]*agentModel, count)
	for i := range out {
		out[i] = &agentModel{
			spec: routing.AgentSpec{
				ID: fmt.Sprintf("%s-%03d", as.Name, i+1), Presence: atende.StatusOffline,
				Skills: sk, Capacity: capacity, TeamIDs: teamIDs,
			},
			group: gi, delay: seconds(delay), shifts: shifts,
		}
	}
	return out, nil
}

func hasChannel(chs []atende.Channel, c atende.Channel) bool {
	for _, x := range chs {
		if x == c {
			return true
		}
	}
	return false
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
