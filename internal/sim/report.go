package sim

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// counts are the raw tallies of tasks that arrived in a queue (in one
// interval, or in the whole run after the warm-up).
type counts struct {
	Offered       int
	Handled       int // accepted by an agent
	Waited        int // handled after waiting at all
	InSL          int // handled within the queue's threshold
	Completed     int // handled and finished before the run ended
	Abandoned     int // all who left, short abandons included
	ShortAbandons int
	Other         int // voicemail, rejected, expired or cancelled by the core
	Overflowed    int
	Callbacks     int
	Unanswered    int // still waiting when the run ended
	WaitSum       time.Duration
	TalkSum       time.Duration
	WrapSum       time.Duration
	LongestWait   time.Duration
}

// Result is what a simulation measured. KPIs follow REFERENCE.md
// ("Contact-center KPIs"); tasks count in the queue they arrived in, and
// only those that arrived after the warm-up.
type Result struct {
	Name      string    `json:"name,omitempty"`
	Seed      uint64    `json:"seed"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"` // arrivals stop here
	WarmUpSec float64   `json:"warm_up_sec,omitempty"`
	Tasks     int       `json:"tasks"`  // arrivals simulated
	Events    int       `json:"events"` // simulation events processed
	// ReplayIgnored counts replayed arrivals after the end of the run.
	ReplayIgnored int             `json:"replay_ignored,omitempty"`
	Queues        []QueueResult   `json:"queues"`
	Total         QueueResult     `json:"total"`
	Agents        []AgentResult   `json:"agents"` // per agent group
	AgentsTotal   AgentResult     `json:"agents_total"`
	Intervals     []IntervalQueue `json:"intervals,omitempty"`
}

// QueueResult holds one queue's KPIs.
type QueueResult struct {
	Queue          string  `json:"queue"`
	Offered        int     `json:"offered"`          // tasks that entered the queue
	Handled        int     `json:"handled"`          // accepted by an agent
	Abandoned      int     `json:"abandoned"`        // left before an agent accepted, short abandons included
	ShortAbandons  int     `json:"short_abandons"`   // left within short_abandon_sec
	Other          int     `json:"other"`            // voicemail, rejected, expired: the queue's actions
	Unanswered     int     `json:"unanswered"`       // still waiting when the run ended
	Overflowed     int     `json:"overflowed"`       // moved to another queue by an action
	Callbacks      int     `json:"callbacks"`        // took a callback offered by an action or escalation
	Waited         int     `json:"waited"`           // handled after any wait at all
	AnsweredInSL   int     `json:"answered_in_sl"`   // handled within the threshold
	SLThresholdSec int     `json:"sl_threshold_sec"` // 0 in the total: each queue's own
	SLTargetPct    int     `json:"sl_target_pct,omitempty"`
	ServiceLevel   float64 `json:"service_level"` // answered within T / (offered − short abandons)
	AbandonRate    float64 `json:"abandon_rate"`  // (abandoned − short) / (offered − short abandons)
	PWait          float64 `json:"p_wait"`        // waited / handled: Erlang C's P(wait) when nobody abandons
	ASASec         float64 `json:"asa_sec"`       // total wait of handled tasks / handled
	AHTSec         float64 `json:"aht_sec"`       // (talk + wrap-up) / completed
	TalkSec        float64 `json:"talk_sec"`      // mean accept to completion
	WrapSec        float64 `json:"wrap_sec"`      // mean wrap-up per completed task
	LongestWaitSec float64 `json:"longest_wait_sec"`
}

// IntervalQueue is a queue's KPIs for the tasks that arrived in one interval.
type IntervalQueue struct {
	Start time.Time `json:"start"`
	QueueResult
}

// AgentResult is one agent group's time.
type AgentResult struct {
	Group         string  `json:"group"`
	Agents        int     `json:"agents"`
	Handled       int     `json:"handled"` // tasks completed
	LoggedInHours float64 `json:"logged_in_hours"`
	AvailableH    float64 `json:"available_hours"` // logged in and idle (or with an offer ringing)
	BusyHours     float64 `json:"busy_hours"`      // working at least one task
	WrapUpHours   float64 `json:"wrap_up_hours"`
	AwayHours     float64 `json:"away_hours"`
	Occupancy     float64 `json:"occupancy"`   // handling / (handling + available idle); handling = busy + wrap-up
	Utilisation   float64 `json:"utilisation"` // handling / logged in
}

func (c *counts) add(o counts) {
	c.Offered += o.Offered
	c.Handled += o.Handled
	c.Waited += o.Waited
	c.InSL += o.InSL
	c.Completed += o.Completed
	c.Abandoned += o.Abandoned
	c.ShortAbandons += o.ShortAbandons
	c.Other += o.Other
	c.Overflowed += o.Overflowed
	c.Callbacks += o.Callbacks
	c.Unanswered += o.Unanswered
	c.WaitSum += o.WaitSum
	c.TalkSum += o.TalkSum
	c.WrapSum += o.WrapSum
	c.LongestWait = max(c.LongestWait, o.LongestWait)
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// kpis computes a queue's KPIs from its counts (REFERENCE.md definitions).
func (c counts) kpis(name string, threshold, target int) QueueResult {
	base := float64(c.Offered - c.ShortAbandons)
	return QueueResult{
		Queue: name, Offered: c.Offered, Handled: c.Handled, Abandoned: c.Abandoned, ShortAbandons: c.ShortAbandons,
		Other: c.Other, Unanswered: c.Unanswered, Overflowed: c.Overflowed, Callbacks: c.Callbacks,
		Waited: c.Waited, AnsweredInSL: c.InSL, SLThresholdSec: threshold, SLTargetPct: target,
		ServiceLevel:   ratio(float64(c.InSL), base),
		AbandonRate:    ratio(float64(c.Abandoned-c.ShortAbandons), base),
		PWait:          ratio(float64(c.Waited), float64(c.Handled)),
		ASASec:         ratio(c.WaitSum.Seconds(), float64(c.Handled)),
		AHTSec:         ratio((c.TalkSum + c.WrapSum).Seconds(), float64(c.Completed)),
		TalkSec:        ratio(c.TalkSum.Seconds(), float64(c.Completed)),
		WrapSec:        ratio(c.WrapSum.Seconds(), float64(c.Completed)),
		LongestWaitSec: c.LongestWait.Seconds(),
	}
}

func (e *engine) result() *Result {
	m := e.m
	// Tasks still in the center: waiting ones are unanswered; their wait
	// so far counts toward the longest wait.
	for _, t := range e.tasks {
		if t.state == taskWaiting || t.state == taskOffered {
			wait := e.now - t.arrived
			e.count(t, func(c *counts) { c.Unanswered++; c.LongestWait = max(c.LongestWait, wait) })
		}
	}
	for _, a := range e.order {
		e.bookAgent(a, e.now)
		a.since = e.now
	}
	r := &Result{
		Name: m.cfg.Name, Seed: m.cfg.Seed, Start: m.start, End: m.start.Add(m.end), WarmUpSec: m.warmUp.Seconds(),
		Tasks: e.nextID, Events: e.steps, ReplayIgnored: e.ignored,
	}
	var total counts
	for _, qs := range e.queues {
		r.Queues = append(r.Queues, qs.total.kpis(qs.spec.Name, qs.spec.SLThresholdSec, qs.spec.SLTargetPct))
		total.add(qs.total)
	}
	r.Total = total.kpis("total", 0, 0)
	for i := range len(e.queues[0].byIntvl) {
		for _, qs := range e.queues {
			c := qs.byIntvl[i]
			if c.Offered == 0 {
				continue
			}
			r.Intervals = append(r.Intervals, IntervalQueue{
				Start:       m.start.Add(time.Duration(i) * m.interval),
				QueueResult: c.kpis(qs.spec.Name, qs.spec.SLThresholdSec, qs.spec.SLTargetPct),
			})
		}
	}
	groups := make([]AgentResult, len(m.groups))
	var all AgentResult
	all.Group = "total"
	for i, g := range m.groups {
		groups[i].Group = g
	}
	for _, a := range e.order {
		for _, g := range []*AgentResult{&groups[a.group], &all} {
			g.Agents++
			g.Handled += a.handled
			g.AvailableH += a.time[1].Hours()
			g.AwayHours += a.time[2].Hours()
			g.BusyHours += a.time[3].Hours()
			g.WrapUpHours += a.time[4].Hours()
		}
	}
	all.finish()
	for i := range groups {
		groups[i].finish()
	}
	r.Agents, r.AgentsTotal = groups, all
	return r
}

func (g *AgentResult) finish() {
	handling := g.BusyHours + g.WrapUpHours
	g.LoggedInHours = handling + g.AvailableH + g.AwayHours
	g.Occupancy = ratio(handling, handling+g.AvailableH)
	g.Utilisation = ratio(handling, g.LoggedInHours)
}

// WriteJSON writes the result as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

var csvHeader = []string{
	"interval_start", "queue", "offered", "handled", "abandoned", "short_abandons", "other", "unanswered",
	"overflowed", "callbacks", "sl_threshold_sec", "service_level", "abandon_rate", "p_wait", "asa_sec",
	"aht_sec", "talk_sec", "wrap_sec", "longest_wait_sec",
}

// WriteCSV writes one line per queue for the whole run (interval_start
// "all") and the total, then one per queue and interval when intervals were
// asked for.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	row := func(interval string, q QueueResult) []string {
		return []string{
			interval, q.Queue, strconv.Itoa(q.Offered), strconv.Itoa(q.Handled), strconv.Itoa(q.Abandoned),
			strconv.Itoa(q.ShortAbandons), strconv.Itoa(q.Other), strconv.Itoa(q.Unanswered), strconv.Itoa(q.Overflowed),
			strconv.Itoa(q.Callbacks), strconv.Itoa(q.SLThresholdSec), f(q.ServiceLevel), f(q.AbandonRate), f(q.PWait),
			f(q.ASASec), f(q.AHTSec), f(q.TalkSec), f(q.WrapSec), f(q.LongestWaitSec),
		}
	}
	for _, q := range append(slices.Clone(r.Queues), r.Total) {
		if err := cw.Write(row("all", q)); err != nil {
			return err
		}
	}
	for _, iq := range r.Intervals {
		if err := cw.Write(row(iq.Start.Format(time.RFC3339), iq.QueueResult)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteTable prints the per-queue KPIs and the agent groups' time as
// aligned text.
func (r *Result) WriteTable(w io.Writer) error {
	pct := func(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) }
	sec := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	queues := append(slices.Clone(r.Queues), r.Total)
	rows := [][]string{{"queue", "offered", "handled", "abandoned", "short", "other", "SL %", "T s", "abandon %", "ASA s", "AHT s", "longest wait s"}}
	for _, q := range queues {
		t := strconv.Itoa(q.SLThresholdSec)
		if q.SLThresholdSec == 0 {
			t = "-"
		}
		rows = append(rows, []string{q.Queue, strconv.Itoa(q.Offered), strconv.Itoa(q.Handled), strconv.Itoa(q.Abandoned),
			strconv.Itoa(q.ShortAbandons), strconv.Itoa(q.Other + q.Unanswered), pct(q.ServiceLevel), t, pct(q.AbandonRate),
			sec(q.ASASec), sec(q.AHTSec), sec(q.LongestWaitSec)})
	}
	if err := writeColumns(w, rows); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	rows = [][]string{{"agents", "count", "handled", "logged in h", "busy h", "wrap-up h", "available h", "occupancy %", "utilisation %"}}
	for _, g := range append(slices.Clone(r.Agents), r.AgentsTotal) {
		rows = append(rows, []string{g.Group, strconv.Itoa(g.Agents), strconv.Itoa(g.Handled), sec(g.LoggedInHours),
			sec(g.BusyHours), sec(g.WrapUpHours), sec(g.AvailableH), pct(g.Occupancy), pct(g.Utilisation)})
	}
	return writeColumns(w, rows)
}

// writeColumns prints rows with the first column aligned left and the
// others, numbers, aligned right.
func writeColumns(w io.Writer, rows [][]string) error {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, v := range row {
			width[i] = max(width[i], utf8.RuneCountInString(v))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, v := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(v))
			if i == 0 {
				b.WriteString(v + pad)
			} else {
				b.WriteString("  " + pad + v)
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
