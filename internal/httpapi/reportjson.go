package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/atende/atende/internal/report"
)

// writeReportJSON writes a report's JSON answer exactly as writeJSON would.
// A month's queue report by interval has some 10^5 lines, and encoding/json
// spends most of the request's time on them by reflection: queue lines are
// written by hand instead (report.QueueLine.AppendJSON), the rest of the
// answer by encoding/json.
func writeReportJSON[T any](w http.ResponseWriter, out reportOut[T]) error {
	lines, ok := any(out.Lines).([]report.QueueLine)
	if !ok || len(lines) == 0 {
		return writeJSON(w, http.StatusOK, out)
	}
	out.Lines = nil
	rest, err := json.Marshal(out)
	if err != nil {
		return err
	}
	// The fields come in order, and the strings before "lines" are escaped,
	// so the first `,"lines":null,` is the field.
	const null = `,"lines":null,`
	i := bytes.Index(rest, []byte(null))
	if i < 0 {
		return writeJSON(w, http.StatusOK, out)
	}
	b := make([]byte, 0, len(rest)+len(lines)*600)
	b = append(b, rest[:i]...)
	b = append(b, `,"lines":[`...)
	for k := range lines {
		if k > 0 {
			b = append(b, ',')
		}
		if b, err = lines[k].AppendJSON(b); err != nil {
			return err
		}
	}
	b = append(b, "],"...)
	b = append(b, rest[i+len(null):]...)
	b = append(b, '\n') // as json.Encoder ends a value
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	return err
}
