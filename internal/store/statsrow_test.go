package store

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/atende/atende/internal/report"
)

// fullRow is a row with every counter set to a different value, found by
// reflection so that a counter added to report.Row is covered here too.
func fullRow() report.Row {
	var r report.Row
	n := int64(1)
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Struct:
			for i := range v.NumField() {
				fill(v.Field(i))
			}
		case reflect.Int64:
			n = n*7 + 3
			v.SetInt(n)
		case reflect.Map:
			v.Set(reflect.ValueOf(map[string]int64{"": 5, "lunch": 1800000, "break": -2}))
		}
	}
	fill(reflect.ValueOf(&r).Elem())
	return r
}

func TestDecodeRowReadsWhatAddStatsWritesWithoutEncodingJSON(t *testing.T) {
	rows := []report.Row{{}, fullRow(), {Queue: report.QueueCounters{Offered: 3, LongestWaitMs: 9_223_372_036_854_775_807}}, {Count: -9_223_372_036_854_775_808}}
	for _, want := range rows {
		b, err := json.Marshal(&want)
		if err != nil {
			t.Fatal(err)
		}
		var got report.Row
		if !(&rowReader{b: b}).row(&got) {
			t.Fatalf("the hand-written reader gave up on %s: a counter it does not know?", b)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("read %s as %+v, want %+v", b, got, want)
		}
	}
}

func TestDecodeRowAgreesWithEncodingJSON(t *testing.T) {
	for _, data := range []string{
		`{"queue":{"offered":1,"handled":2}}`,
		` { "queue" : { "offered" : 1 } , "count" : 4 } `,
		`{"queue":{"offered":1},"queue":{"handled":2}}`, // merged, as encoding/json does
		`{"agent":{"state_by_reason":{}}}`,              // an empty map, not nil
		`{"agent":{"state_by_reason":{"a":1,"a":2}}}`,   // the last wins
		`{"agent":{"state_by_reason":{"caf\u00e9":1}}}`, // escapes: encoding/json
		`{"agent":{"state_by_reason":{"café":1}}}`,      // beyond ASCII: encoding/json
		`{"agent":{"state_by_reason":null}}`,            // null: encoding/json
		`{"Queue":{"Offered":1}}`,                       // names in another case
		`{"queue":{"offered":1.5}}`,                     // not an integer: an error
		`{"queue":{"offered":1e2}}`,                     // exponent: an error
		`{"queue":{"offered":01}}`,                      // not JSON
		`{"queue":{"offered":-}}`,                       // not JSON
		`{"queue":{"offered":99999999999999999999}}`,    // too big for int64
		`{"queue":{"offered":1}} x`,                     // trailing text
		`{"queue":{"offered":1},}`,                      // trailing comma
		`{"queue":{"unknown_counter":1}}`,               // a field the reader does not know
		`{"queue":{"offered":null}}`,                    // null leaves zero
		`{"count":3,"extra":{"x":[1,2]}}`,               // unknown members are ignored
		`{}`, ``, `[]`, `{"queue":5}`, `{"queue":{"offered":"1"}}`,
	} {
		var got, want report.Row
		gotErr := decodeRow([]byte(data), &got)
		wantErr := json.Unmarshal([]byte(data), &want)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%s: error %v, encoding/json's %v", data, gotErr, wantErr)
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: read %+v, encoding/json %+v", data, got, want)
		}
	}
}

// FuzzDecodeRow checks that whatever the hand-written reader accepts,
// encoding/json reads the same way.
func FuzzDecodeRow(f *testing.F) {
	full := fullRow()
	for _, r := range []report.Row{{}, full} {
		b, _ := json.Marshal(&r)
		f.Add(b)
	}
	f.Add([]byte(`{"queue":{"offered":1},"queue":{"handled":2},"count":-0}`))
	f.Add([]byte(`{"agent":{"state_by_reason":{"":1,"x y":-3}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got report.Row
		if !(&rowReader{b: data}).row(&got) {
			return
		}
		var want report.Row
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("%q: read by hand, but encoding/json says %v", data, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: read %+v, encoding/json %+v", data, got, want)
		}
	})
}

func BenchmarkDecodeRow(b *testing.B) {
	r := fullRow()
	r.Agent = report.AgentCounters{}
	data, _ := json.Marshal(&r)
	b.Run("by-hand", func(b *testing.B) {
		for b.Loop() {
			var r report.Row
			if err := decodeRow(data, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			var r report.Row
			if err := json.Unmarshal(data, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
