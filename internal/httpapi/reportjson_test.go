package httpapi

import (
	"bytes"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/atende/atende/internal/report"
)

func TestQueueReportJSONIsWhatWriteJSONWrites(t *testing.T) {
	sl, asa := 0.8, 12.5
	line := func(name string) report.QueueLine {
		return report.QueueLine{Period: "2026-09-01T00:15:00-03:00", ID: "019a0000-0000-7000-8000-000000000001", Name: name,
			QueueCounters: report.QueueCounters{Offered: 7, Handled: 6, TalkMs: 123456}, ServiceLevel: &sl, ASASec: &asa, SurveyAnswers: 2}
	}
	for _, lines := range [][]report.QueueLine{
		nil,
		{},
		{line("Soporte")},
		{line("Soporte"), line(`Ventas <"VIP"> & co`), line("Atención"), {}},
	} {
		out := reportOut[report.QueueLine]{From: "2026-09-01T00:00:00-03:00", To: "2026-10-01T00:00:00-03:00", Group: "interval",
			TimeZone: "America/Sao_Paulo", Lines: lines, Totals: []report.QueueLine{line("Soporte"), {}}}
		want, got := httptest.NewRecorder(), httptest.NewRecorder()
		if err := writeJSON(want, 200, out); err != nil {
			t.Fatal(err)
		}
		if err := writeReportJSON(got, out); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) || !reflect.DeepEqual(got.Header(), want.Header()) || got.Code != want.Code {
			t.Fatalf("%d lines: wrote %d %v\n%s\nwriteJSON writes %d %v\n%s", len(lines), got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
		}
	}
}
