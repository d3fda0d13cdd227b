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
// when byKey is false), in order of period then key.
func Roll(entries []Entry, g Grouping, loc *time.Location, byKey bool) []Entry {
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
	l.AbandonRate = opt(c.AbandonRate())
	l.ServiceLevel = opt(c.ServiceLevel())
	l.ASASec = optDur(c.ASA())
	l.AHTSec = optDur(c.AHT())
	l.AverageAbandonSec = optDur(c.AverageAbandonTime())
	l.TransferRate = opt(c.TransferRate())
	l.CSAT = opt(e.Survey.CSAT())
	l.NPS = opt(e.Survey.NPS())
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
