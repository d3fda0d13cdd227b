package server

import (
	"math"
	"testing"
	"time"
)

func TestSummarizeNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	s := Summarize(d)
	if s.P50 != 50 || s.P90 != 90 || s.P95 != 95 || s.P99 != 99 || s.Max != 100 || s.N != 100 {
		t.Errorf("Summarize = %+v, want p50 50, p90 90, p95 95, p99 99, max 100 of 100", s)
	}
	if e := Summarize(nil); e.N != 0 || !math.IsNaN(e.P99) {
		t.Errorf("Summarize(nil) = %+v, want no figures", e)
	}
}
