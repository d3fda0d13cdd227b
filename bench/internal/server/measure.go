package server

import (
	"math"
	"slices"
	"time"
)

// Summary is a latency distribution in milliseconds: nearest-rank
// percentiles (NaN when there was nothing to measure).
type Summary struct {
	N                       int
	P50, P90, P95, P99, Max float64
}

// Summarize sorts d and returns its percentiles in milliseconds.
func Summarize(d []time.Duration) Summary {
	slices.Sort(d)
	nan := math.NaN()
	s := Summary{N: len(d), P50: nan, P90: nan, P95: nan, P99: nan, Max: nan}
	if len(d) == 0 {
		return s
	}
	pct := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(d)))) - 1
		return Ms(d[max(i, 0)])
	}
	s.P50, s.P90, s.P95, s.P99, s.Max = pct(.50), pct(.90), pct(.95), pct(.99), Ms(d[len(d)-1])
	return s
}

// Ms is d in milliseconds.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// FirstOf is " (first: s)" for a tool's first error, cut to 200 bytes, or
// nothing when there was none.
func FirstOf(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return " (first: " + s + ")"
}
