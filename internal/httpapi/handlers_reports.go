package httpapi

import (
	"context"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/report"
	"github.com/atende/atende/internal/store"
)

// Historical reports: interval statistics (internal/report) rolled up by
// interval, hour, day or for the whole range, on the tenant's clock, with
// the KPIs of REFERENCE.md. Every report answers JSON, or CSV with
// ?format=csv (the interval queue report is the forecasting export).

var reportParams = []param{
	{"from", "string", "first day, YYYY-MM-DD on the tenant's clock (default: today)"},
	{"to", "string", "last day, inclusive (default: from)"},
	{"group", "string", "interval (15 min), hour, day or total (default: interval up to 2 days, else day)"},
	{"format", "string", "json (default) or csv"},
}

type reportRange struct {
	loc      *time.Location
	from, to time.Time
	group    report.Grouping
	csv      bool
}

// maxReportDays bounds a report's range.
const maxReportDays = 400

func (s *Server) reportRange(ctx context.Context, r *http.Request, tenantID string) (*reportRange, error) {
	t, err := s.cfg.Store.Tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	q := r.URL.Query()
	day := func(name, v string, def time.Time) (time.Time, error) {
		if v == "" {
			return def, nil
		}
		d, err := time.ParseInLocation(time.DateOnly, v, loc)
		if err != nil {
			return time.Time{}, atende.FieldError(name, "must be a date as YYYY-MM-DD")
		}
		return d, nil
	}
	now := time.Now().In(loc)
	from, err := day("from", q.Get("from"), time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc))
	if err != nil {
		return nil, err
	}
	to, err := day("to", q.Get("to"), from)
	if err != nil {
		return nil, err
	}
	if to.Before(from) {
		return nil, atende.FieldError("to", "is before from")
	}
	end := to.AddDate(0, 0, 1)
	if end.Sub(from) > maxReportDays*24*time.Hour {
		return nil, atende.FieldError("to", "a report covers at most %d days", maxReportDays)
	}
	rr := &reportRange{loc: loc, from: from.UTC(), to: end.UTC()}
	if g := q.Get("group"); g != "" {
		if rr.group, err = report.ParseGrouping(g); err != nil {
			return nil, atende.FieldError("group", "%s", err.Error())
		}
	} else if end.Sub(from) <= 48*time.Hour {
		rr.group = report.ByInterval
	} else {
		rr.group = report.ByDay
	}
	switch q.Get("format") {
	case "", "json":
	case "csv":
		rr.csv = true
	default:
		return nil, atende.FieldError("format", "must be json or csv")
	}
	return rr, nil
}

// ids reads a comma-separated list of ids.
func ids(r *http.Request, name string) ([]string, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	out := strings.Split(v, ",")
	if len(out) > 500 {
		return nil, atende.FieldError(name, "at most 500 ids")
	}
	for _, id := range out {
		if !atende.ValidID(id) {
			return nil, atende.FieldError(name, "%q is not an id", id)
		}
	}
	return out, nil
}

// reportOut is a report's JSON answer.
type reportOut[T any] struct {
	From     string `json:"from"` // RFC 3339, the tenant's offset
	To       string `json:"to"`   // exclusive
	Group    string `json:"group"`
	TimeZone string `json:"time_zone"`
	Lines    []T    `json:"lines"`
	// Totals is the whole range per key (or overall), for the table's
	// last row.
	Totals []T `json:"totals"`
}

// rollLines folds entries into a report's lines, one per key and period of
// the grouping, and its totals: one per key over the whole range, then every
// key together (ID "") last. line makes a report line of a folded entry;
// total says it is one of the totals.
func rollLines[L any](entries []report.Entry, rr *reportRange, line func(e report.Entry, total bool) L) (lines, totals []L) {
	byPeriod := report.Roll(entries, rr.group, rr.loc, true)
	if len(byPeriod) > 0 {
		lines = make([]L, 0, len(byPeriod))
	}
	for _, e := range byPeriod {
		lines = append(lines, line(e, false))
	}
	for _, e := range report.Roll(entries, report.ByTotal, rr.loc, true) {
		totals = append(totals, line(e, true))
	}
	for _, e := range report.Roll(entries, report.ByTotal, rr.loc, false) {
		totals = append(totals, line(e, true))
	}
	return lines, totals
}

func writeReport[T any](w http.ResponseWriter, rr *reportRange, lines, totals []T, header []string, row func(T) []string) error {
	if !rr.csv {
		return writeReportJSON(w, reportOut[T]{From: rr.from.In(rr.loc).Format(time.RFC3339), To: rr.to.In(rr.loc).Format(time.RFC3339),
			Group: string(rr.group), TimeZone: rr.loc.String(), Lines: lines, Totals: totals})
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="report.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.Write(header)
	for _, l := range lines {
		cw.Write(row(l))
	}
	cw.Flush()
	return cw.Error()
}

func num(v int64) string { return strconv.FormatInt(v, 10) }

func fnum(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', 4, 64)
}

// csvSafe keeps a name from being read as a formula by a spreadsheet.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

var queueCSV = []string{"period", "id", "name", "offered", "handled", "abandoned", "short_abandoned", "answered_in_sl", "service_level",
	"abandon_rate", "asa_sec", "aht_sec", "average_abandon_sec", "longest_wait_sec", "transferred", "completed", "csat", "nps"}

func queueCSVRow(l report.QueueLine) []string {
	return []string{l.Period, l.ID, csvSafe(l.Name), num(l.Offered), num(l.Handled), num(l.Abandoned), num(l.ShortAbandoned), num(l.AnsweredInSL),
		fnum(l.ServiceLevel), fnum(l.AbandonRate), fnum(l.ASASec), fnum(l.AHTSec), fnum(l.AverageAbandonSec),
		strconv.FormatFloat(float64(l.LongestWaitMs)/1000, 'f', 3, 64), num(l.Transferred), num(l.Completed), fnum(l.CSAT), fnum(l.NPS)}
}

// names maps the ids of a tenant's queues, users or dispositions to their names.
func (s *Server) names(ctx context.Context, tenantID string, dim report.Dimension, lang string) (map[string]string, error) {
	out := map[string]string{}
	o := store.ListOptions{Limit: 200}
	for {
		var next string
		switch dim {
		case report.DimQueue:
			p, err := s.cfg.Store.Queues(ctx, tenantID, o)
			if err != nil {
				return nil, err
			}
			for _, q := range p.Items {
				out[q.ID] = q.Name
			}
			next = p.Next
		case report.DimAgent:
			p, err := s.cfg.Store.Users(ctx, tenantID, store.UserFilter{}, o)
			if err != nil {
				return nil, err
			}
			for _, u := range p.Items {
				out[u.ID] = u.Name
			}
			next = p.Next
		case report.DimDisposition:
			p, err := s.cfg.Store.Dispositions(ctx, tenantID, o)
			if err != nil {
				return nil, err
			}
			for _, d := range p.Items {
				name := d.Labels[lang]
				if name == "" {
					name = d.Code
				}
				out[d.ID] = name
			}
			next = p.Next
		default:
			return out, nil
		}
		if next == "" {
			return out, nil
		}
		o.Cursor = next
	}
}

func (s *Server) routesReports() {
	st := s.cfg.Store
	defer s.routesQualityReports()
	queueLike := func(dim report.Dimension, path, summary string, extra []param, filter string) {
		s.handle(route{Method: "GET", Path: path, Perm: atende.PermReportsRead, Tag: "reports", Summary: summary,
			Out: reportOut[report.QueueLine]{}, Query: append(extra, reportParams...),
			handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
				rr, err := s.reportRange(r.Context(), r, p.TenantID)
				if err != nil {
					return err
				}
				var keys []string
				if filter != "" {
					if keys, err = ids(r, filter); err != nil {
						return err
					}
				}
				entries, err := st.IntervalStats(r.Context(), p.TenantID, dim, rr.from, rr.to, keys...)
				if err != nil {
					return err
				}
				names, err := s.names(r.Context(), p.TenantID, dim, p.Language)
				if err != nil {
					return err
				}
				line := func(e report.Entry) report.QueueLine {
					name := names[e.ID]
					if dim == report.DimChannel {
						name = e.ID
					}
					return report.QueueLineOf(e, rr.loc, name)
				}
				lines, totals := rollLines(entries, rr, func(e report.Entry, _ bool) report.QueueLine { return line(e) })
				return writeReport(w, rr, lines, totals, queueCSV, queueCSVRow)
			}})
	}
	queueLike(report.DimQueue, "/reports/queues",
		"Queue performance: offered, handled, abandoned (short ones apart), service level, ASA, AHT, longest wait, by interval",
		[]param{{"queue_id", "string", "comma-separated queue ids (default: every queue)"}}, "queue_id")
	queueLike(report.DimChannel, "/reports/channels", "Channel mix: the queue figures per channel",
		nil, "")

	s.handle(route{Method: "GET", Path: "/reports/agents", Perm: atende.PermReportsRead, Tag: "reports",
		Summary: "Agent performance: handled, AHT, occupancy, utilisation, time in each state and away reason",
		Out:     reportOut[report.AgentLine]{}, Query: append([]param{
			{"agent_id", "string", "comma-separated user ids"},
			{"team_id", "string", "the members of this team"},
		}, reportParams...),
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			rr, err := s.reportRange(r.Context(), r, p.TenantID)
			if err != nil {
				return err
			}
			keys, err := ids(r, "agent_id")
			if err != nil {
				return err
			}
			if team := r.URL.Query().Get("team_id"); team != "" {
				if !atende.ValidID(team) {
					return atende.FieldError("team_id", "is not an id")
				}
				tm, err := st.Team(r.Context(), p.TenantID, team)
				if err != nil {
					return err
				}
				keys = append(keys, tm.MemberIDs...)
				if len(keys) == 0 {
					keys = []string{"-"} // a team with nobody: an empty report
				}
			}
			entries, err := st.IntervalStats(r.Context(), p.TenantID, report.DimAgent, rr.from, rr.to, keys...)
			if err != nil {
				return err
			}
			names, err := s.names(r.Context(), p.TenantID, report.DimAgent, p.Language)
			if err != nil {
				return err
			}
			lines, totals := rollLines(entries, rr, func(e report.Entry, _ bool) report.AgentLine {
				return report.AgentLineOf(e, rr.loc, names[e.ID])
			})
			return writeReport(w, rr, lines, totals,
				[]string{"period", "id", "name", "handled", "completed", "aht_sec", "occupancy", "utilisation", "logged_in_sec", "available_sec", "busy_sec", "wrap_up_sec", "away_sec", "csat"},
				func(l report.AgentLine) []string {
					sec := func(ms int64) string { return strconv.FormatFloat(float64(ms)/1000, 'f', 0, 64) }
					return []string{l.Period, l.ID, csvSafe(l.Name), num(l.Handled), num(l.Completed), fnum(l.AHTSec), fnum(l.Occupancy), fnum(l.Utilisation),
						sec(l.LoggedInMs), sec(l.AvailableMs), sec(l.BusyMs), sec(l.WrapUpMs), sec(l.AwayMs), fnum(l.CSAT)}
				})
		}})

	s.handle(route{Method: "GET", Path: "/reports/dispositions", Perm: atende.PermReportsRead, Tag: "reports",
		Summary: "Dispositions set, per disposition", Out: reportOut[report.CountLine]{}, Query: reportParams,
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			rr, err := s.reportRange(r.Context(), r, p.TenantID)
			if err != nil {
				return err
			}
			entries, err := st.IntervalStats(r.Context(), p.TenantID, report.DimDisposition, rr.from, rr.to)
			if err != nil {
				return err
			}
			names, err := s.names(r.Context(), p.TenantID, report.DimDisposition, p.Language)
			if err != nil {
				return err
			}
			count := func(e report.Entry) report.CountLine {
				per := ""
				if !e.Interval.IsZero() {
					per = e.Interval.In(rr.loc).Format(time.RFC3339)
				}
				return report.CountLine{Period: per, ID: e.ID, Name: names[e.ID], Count: e.Count}
			}
			var lines, totals []report.CountLine
			for _, e := range report.Roll(entries, rr.group, rr.loc, true) {
				lines = append(lines, count(e))
			}
			for _, e := range report.Roll(entries, report.ByTotal, rr.loc, true) {
				totals = append(totals, count(e))
			}
			return writeReport(w, rr, lines, totals, []string{"period", "id", "name", "count"},
				func(l report.CountLine) []string { return []string{l.Period, l.ID, csvSafe(l.Name), num(l.Count)} })
		}})
}

// byParams choose the dimension a first-contact resolution or survey report is
// broken down by.
var byParams = []param{
	{"by", "string", "queue (default), channel or agent"},
	{"id", "string", "comma-separated queue or user ids, or channel names (default: all)"},
}

// reportBy reads the dimension and the keys of a report broken down by
// queue, channel or agent.
func reportBy(r *http.Request) (report.Dimension, []string, error) {
	dim := report.DimQueue
	switch v := r.URL.Query().Get("by"); v {
	case "", "queue":
	case "channel":
		dim = report.DimChannel
	case "agent":
		dim = report.DimAgent
	default:
		return "", nil, atende.FieldError("by", "must be queue, channel or agent")
	}
	if dim != report.DimChannel {
		keys, err := ids(r, "id")
		return dim, keys, err
	}
	v := r.URL.Query().Get("id")
	if v == "" {
		return dim, nil, nil
	}
	keys := strings.Split(v, ",")
	for _, k := range keys {
		if !atende.ValidChannel(atende.Channel(k)) {
			return "", nil, atende.FieldError("id", "%q is not a channel", k)
		}
	}
	return dim, keys, nil
}

// keyName names a report key: queues and users by their names, channels as
// they are.
func keyName(names map[string]string, dim report.Dimension, id string) string {
	if dim == report.DimChannel {
		return id
	}
	return names[id]
}

func (s *Server) routesQualityReports() {
	st := s.cfg.Store
	s.handle(route{Method: "GET", Path: "/reports/fcr", Perm: atende.PermReportsRead, Tag: "reports",
		Summary: "First-contact resolution per queue, channel or agent: resolved conversations, those with no repeat contact from the customer within 7 days, FCR; lines whose window has not passed are provisional",
		Out:     reportOut[report.FCRLine]{}, Query: append(append([]param{}, byParams...), reportParams...),
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			rr, err := s.reportRange(r.Context(), r, p.TenantID)
			if err != nil {
				return err
			}
			dim, keys, err := reportBy(r)
			if err != nil {
				return err
			}
			entries, err := st.FCRStats(r.Context(), p.TenantID, dim, rr.from, rr.to, keys...)
			if err != nil {
				return err
			}
			names, err := s.names(r.Context(), p.TenantID, dim, p.Language)
			if err != nil {
				return err
			}
			// A resolution's repeat can come up to a window later.
			settled := time.Now().Add(-report.DefaultFCRWindow)
			lines, totals := rollLines(entries, rr, func(e report.Entry, total bool) report.FCRLine {
				end := rr.to
				if !total {
					end = report.PeriodEnd(e.Interval, rr.group, rr.loc)
				}
				return report.FCRLineOf(e, rr.loc, keyName(names, dim, e.ID), end, settled)
			})
			return writeReport(w, rr, lines, totals, []string{"period", "id", "name", "resolved", "first_contact", "repeated", "fcr", "provisional"},
				func(l report.FCRLine) []string {
					return []string{l.Period, l.ID, csvSafe(l.Name), num(l.Resolved), num(l.FirstContact), num(l.Repeated), fnum(l.FCR), strconv.FormatBool(l.Provisional)}
				})
		}})

	s.handle(route{Method: "GET", Path: "/reports/surveys", Perm: atende.PermReportsRead, Tag: "reports",
		Summary: "CSAT and NPS per queue, channel or agent: answers, CSAT (share of 4-5 on 1-5), average score, NPS (% promoters 9-10 − % detractors 0-6) with its counts",
		Out:     reportOut[report.SurveyLine]{}, Query: append(append([]param{}, byParams...), reportParams...),
		handler: func(w http.ResponseWriter, r *http.Request, p *principal) error {
			rr, err := s.reportRange(r.Context(), r, p.TenantID)
			if err != nil {
				return err
			}
			dim, keys, err := reportBy(r)
			if err != nil {
				return err
			}
			entries, err := st.IntervalStats(r.Context(), p.TenantID, dim, rr.from, rr.to, keys...)
			if err != nil {
				return err
			}
			// Rows with queue or agent figures and no answers stay out.
			answered := entries[:0]
			for _, e := range entries {
				if e.Survey != (report.SurveyCounters{}) {
					answered = append(answered, e)
				}
			}
			names, err := s.names(r.Context(), p.TenantID, dim, p.Language)
			if err != nil {
				return err
			}
			lines, totals := rollLines(answered, rr, func(e report.Entry, _ bool) report.SurveyLine {
				return report.SurveyLineOf(e, rr.loc, keyName(names, dim, e.ID))
			})
			return writeReport(w, rr, lines, totals, []string{"period", "id", "name", "csat_answers", "csat_satisfied", "csat", "average_csat",
				"nps_answers", "nps_promoters", "nps_passives", "nps_detractors", "nps"},
				func(l report.SurveyLine) []string {
					return []string{l.Period, l.ID, csvSafe(l.Name), num(l.CSATAnswers), num(l.CSATSatisfied), fnum(l.CSAT), fnum(l.AverageCSAT),
						num(l.NPSAnswers), num(l.NPSPromoters), num(l.NPSPassives), num(l.NPSDetractors), fnum(l.NPS)}
				})
		}})
}
