package report

import (
	"encoding/json"
	"math"
	"strconv"
)

// A month's queue report by interval has some 10^5 lines; encoding/json
// spends most of the report's time on them, through reflection (and, for a
// type with its own MarshalJSON, by checking and compacting what it wrote,
// which costs more still). AppendJSON writes a line by hand, byte for byte
// what encoding/json writes for it (a test compares the two), and leaves
// anything unusual (a name to escape, a value JSON cannot hold) to
// encoding/json.

// AppendJSON appends the line as json.Marshal writes it.
func (l *QueueLine) AppendJSON(b []byte) ([]byte, error) {
	if out, ok := l.appendJSON(b); ok {
		return out, nil
	}
	j, err := json.Marshal(l)
	return append(b, j...), err
}

func (l *QueueLine) appendJSON(b []byte) ([]byte, bool) {
	start := len(b)
	b = append(b, '{')
	sep := false
	for _, f := range [...]struct{ name, v string }{{"period", l.Period}, {"id", l.ID}, {"name", l.Name}} {
		if f.v == "" {
			continue // omitempty
		}
		if !plainString(f.v) {
			return b[:start], false
		}
		if sep {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, f.name...)
		b = append(b, `":"`...)
		b = append(b, f.v...)
		b = append(b, '"')
		sep = true
	}
	if sep {
		b = append(b, ',')
	}
	c := &l.QueueCounters
	for i, f := range [...]struct {
		name string
		v    int64
	}{
		{"offered", c.Offered}, {"handled", c.Handled}, {"abandoned", c.Abandoned}, {"short_abandoned", c.ShortAbandoned},
		{"answered_in_sl", c.AnsweredInSL}, {"abandoned_in_sl", c.AbandonedInSL}, {"transferred", c.Transferred},
		{"wait_handled_ms", c.WaitHandledMs}, {"wait_abandoned_ms", c.WaitAbandonedMs}, {"longest_wait_ms", c.LongestWaitMs},
		{"completed", c.Completed}, {"talk_ms", c.TalkMs}, {"hold_ms", c.HoldMs}, {"wrap_ms", c.WrapMs},
	} {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, f.name...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, f.v, 10)
	}
	for _, f := range [...]struct {
		name string
		v    *float64
	}{
		{"abandon_rate", l.AbandonRate}, {"service_level", l.ServiceLevel}, {"asa_sec", l.ASASec}, {"aht_sec", l.AHTSec},
		{"average_abandon_sec", l.AverageAbandonSec}, {"transfer_rate", l.TransferRate}, {"csat", l.CSAT}, {"nps", l.NPS},
	} {
		b = append(b, `,"`...)
		b = append(b, f.name...)
		b = append(b, `":`...)
		if f.v == nil {
			b = append(b, "null"...)
			continue
		}
		var ok bool
		if b, ok = appendFloat(b, *f.v); !ok {
			return b[:start], false
		}
	}
	b = append(b, `,"survey_answers":`...)
	b = strconv.AppendInt(b, l.SurveyAnswers, 10)
	return append(b, '}'), true
}

// plainString tells whether s needs no escaping in JSON (encoding/json also
// escapes <, > and &).
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// appendFloat writes f as encoding/json does: the shortest decimal, in
// exponent form below 1e-6 and from 1e21, with a one-digit negative exponent
// written without its zero.
func appendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}
