package report

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Entry is one stored row of interval statistics.
type Entry struct {
	Dim      Dimension `json:"dimension"`
	ID       string    `json:"key"`
	Interval time.Time `json:"interval"`
	Row
}

// Grouping is how a report rolls intervals up.
type Grouping string

// Groupings, on the tenant's clock.
const (
	ByInterval Grouping = "interval" // 15 minutes
	ByHour     Grouping = "hour"
	ByDay      Grouping = "day"
	ByTotal    Grouping = "total" // the whole range
)

// ParseGrouping checks a grouping name.
func ParseGrouping(s string) (Grouping, error) {
	switch g := Grouping(s); g {
	case ByInterval, ByHour, ByDay, ByTotal:
		return g, nil
	}
	return "", fmt.Errorf("must be interval, hour, day or total")
}

// periodStart is the start of the period holding an interval.
func periodStart(interval time.Time, g Grouping, loc *time.Location) time.Time {
	l := interval.In(loc)
	switch g {
	case ByHour:
		return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), 0, 0, 0, loc).UTC()
	case ByDay:
		return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc).UTC()
	case ByTotal:
		return time.Time{}
	}
	return interval.UTC()
}

// Roll sums entries into one row per period and key (or per period only,
// when byKey is false), in order of period then key. By interval and key,
// entries as the store reads them are the answer already, and Roll returns
// entries itself: change neither.
func Roll(entries []Entry, g Grouping, loc *time.Location, byKey bool) []Entry {
	if g == ByInterval && byKey && inOrder(entries) {
		// Stored rows come one per key and interval, in that order and in
		// UTC (a month of them by interval is some 10^5): each is its own
		// line, and entries itself is the answer.
		return entries
	}
	type pk struct {
		at time.Time
		id string
	}
	sums := map[pk]*Entry{}
	var order []pk
	for _, e := range entries {
		k := pk{periodStart(e.Interval, g, loc), e.ID}
		if !byKey {
			k.id = ""
		}
		s := sums[k]
		if s == nil {
			s = &Entry{Dim: e.Dim, ID: k.id, Interval: k.at}
			sums[k] = s
			order = append(order, k)
		}
		s.Row.Add(&e.Row)
	}
	slices.SortFunc(order, func(a, b pk) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	out := make([]Entry, len(order))
	for i, k := range order {
		out[i] = *sums[k]
	}
	return out
}

// inOrder tells whether entries are in order of interval then key, with no
// key and interval twice, and their intervals in UTC.
func inOrder(entries []Entry) bool {
	for i := range entries {
		if entries[i].Interval.Location() != time.UTC {
			return false
		}
		if i == 0 {
			continue
		}
		a, b := &entries[i-1], &entries[i]
		if c := a.Interval.Compare(b.Interval); c > 0 || (c == 0 && a.ID >= b.ID) {
			return false
		}
	}
	return true
}

// QueueLine is a line of a queue (or channel) performance report: the
// counters and the KPIs derived from them. A KPI with nothing to measure is
// null.
type QueueLine struct {
	Period string `json:"period,omitempty"` // RFC 3339 start, in the tenant's offset; empty for a total
	ID     string `json:"id,omitempty"`
	Name   string `json:"name,omitempty"`
	QueueCounters
	AbandonRate       *float64 `json:"abandon_rate"`
	ServiceLevel      *float64 `json:"service_level"`
	ASASec            *float64 `json:"asa_sec"`
	AHTSec            *float64 `json:"aht_sec"`
	AverageAbandonSec *float64 `json:"average_abandon_sec"`
	TransferRate      *float64 `json:"transfer_rate"`
	CSAT              *float64 `json:"csat"`
	NPS               *float64 `json:"nps"`
	SurveyAnswers     int64    `json:"survey_answers"`
}

func opt(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return &v
}

func optDur(d time.Duration, ok bool) *float64 {
	return opt(d.Seconds(), ok)
}

func period(at time.Time, loc *time.Location) string {
	if at.IsZero() {
		return ""
	}
	return at.In(loc).Format(time.RFC3339)
}

// QueueLineOf derives a queue line from a rolled entry.
func QueueLineOf(e Entry, loc *time.Location, name string) QueueLine {
	c := e.Queue
	l := QueueLine{Period: period(e.Interval, loc), ID: e.ID, Name: name, QueueCounters: c}
	// The KPIs share one allocation: a month by interval is 10^5 lines.
	kpi, n := new([8]float64), 0
	at := func(v float64, ok bool) *float64 {
		if !ok {
			return nil
		}
		kpi[n] = v
		n++
		return &kpi[n-1]
	}
	sec := func(d time.Duration, ok bool) *float64 { return at(d.Seconds(), ok) }
	l.AbandonRate = at(c.AbandonRate())
	l.ServiceLevel = at(c.ServiceLevel())
	l.ASASec = sec(c.ASA())
	l.AHTSec = sec(c.AHT())
	l.AverageAbandonSec = sec(c.AverageAbandonTime())
	l.TransferRate = at(c.TransferRate())
	l.CSAT = at(e.Survey.CSAT())
	l.NPS = at(e.Survey.NPS())
	l.SurveyAnswers = e.Survey.CSATAnswers + e.Survey.NPSAnswers
	return l
}

// AgentLine is a line of an agent performance report.
type AgentLine struct {
	Period string `json:"period,omitempty"`
	ID     string `json:"id,omitempty"`
	Name   string `json:"name,omitempty"`
	AgentCounters
	LoggedInMs  int64    `json:"logged_in_ms"`
	AHTSec      *float64 `json:"aht_sec"`
	Occupancy   *float64 `json:"occupancy"`
	Utilisation *float64 `json:"utilisation"`
	CSAT        *float64 `json:"csat"`
}

// AgentLineOf derives an agent line from a rolled entry.
func AgentLineOf(e Entry, loc *time.Location, name string) AgentLine {
	c := e.Agent
	l := AgentLine{Period: period(e.Interval, loc), ID: e.ID, Name: name, AgentCounters: c, LoggedInMs: c.LoggedInMs()}
	l.AHTSec = optDur(c.AHT())
	l.Occupancy = opt(c.Occupancy())
	l.Utilisation = opt(c.Utilisation())
	l.CSAT = opt(e.Survey.CSAT())
	return l
}

// CountLine is a line of a count report (dispositions).
type CountLine struct {
	Period string `json:"period,omitempty"`
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Count  int64  `json:"count"`
}

// FCRLine is a line of the first-contact resolution report. Provisional
// says that the window after some of its resolutions has not passed yet: a
// repeat contact can still lower its FCR.
type FCRLine struct {
	Period       string   `json:"period,omitempty"`
	ID           string   `json:"id,omitempty"`
	Name         string   `json:"name,omitempty"`
	Resolved     int64    `json:"resolved"`
	FirstContact int64    `json:"first_contact"`
	Repeated     int64    `json:"repeated"`
	FCR          *float64 `json:"fcr"`
	Provisional  bool     `json:"provisional"`
}

// FCRLineOf derives an FCR line from a rolled entry; settled is the time
// before which every resolution's window has passed, and end the end of the
// entry's period (the report's end for a total).
func FCRLineOf(e Entry, loc *time.Location, name string, end, settled time.Time) FCRLine {
	c := e.FCR
	l := FCRLine{Period: period(e.Interval, loc), ID: e.ID, Name: name, Resolved: c.Resolved, FirstContact: c.FirstContact(), Repeated: c.Repeated}
	l.FCR = opt(c.FCR())
	l.Provisional = end.After(settled)
	return l
}

// PeriodEnd is the end of the period that starts at start.
func PeriodEnd(start time.Time, g Grouping, loc *time.Location) time.Time {
	l := start.In(loc)
	switch g {
	case ByHour:
		return start.Add(time.Hour)
	case ByDay:
		return time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc).UTC()
	}
	return start.Add(IntervalSize)
}

// SurveyLine is a line of the CSAT and NPS report.
type SurveyLine struct {
	Period string `json:"period,omitempty"`
	ID     string `json:"id,omitempty"`
	Name   string `json:"name,omitempty"`
	SurveyCounters
	// CSAT is the share of 4–5 answers; AverageCSAT the mean score, 1–5.
	CSAT        *float64 `json:"csat"`
	AverageCSAT *float64 `json:"average_csat"`
	// NPS is % promoters − % detractors, −100 to 100; passives are the
	// 7–8 answers.
	NPS         *float64 `json:"nps"`
	NPSPassives int64    `json:"nps_passives"`
}

// SurveyLineOf derives a survey line from a rolled entry.
func SurveyLineOf(e Entry, loc *time.Location, name string) SurveyLine {
	c := e.Survey
	l := SurveyLine{Period: period(e.Interval, loc), ID: e.ID, Name: name, SurveyCounters: c,
		NPSPassives: c.NPSAnswers - c.NPSPromoters - c.NPSDetractors}
	l.CSAT = opt(c.CSAT())
	l.AverageCSAT = opt(c.AverageCSAT())
	l.NPS = opt(c.NPS())
	return l
}
