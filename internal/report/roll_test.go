package report

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// Rows read in order take Roll's short way by interval; shuffled, the same
// rows take the long way. Both must give the same lines.
func TestRollByIntervalOfOrderedRowsEqualsTheGeneralSum(t *testing.T) {
	loc, _ := time.LoadLocation("America/Sao_Paulo")
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 9, 1, 0, 0, 0, 0, loc)
	var ordered []Entry
	for i := range 200 {
		for _, id := range []string{"a", "b", "c"} {
			if rng.IntN(4) == 0 {
				continue // not every queue has every interval
			}
			e := Entry{Dim: DimQueue, ID: id, Interval: start.Add(time.Duration(i) * IntervalSize).UTC()}
			e.Queue.Offered = rng.Int64N(100)
			e.Queue.LongestWaitMs = rng.Int64N(100000)
			e.Survey.CSATAnswers = rng.Int64N(3)
			ordered = append(ordered, e)
		}
	}
	shuffled := slices.Clone(ordered)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if inOrder(shuffled) || !inOrder(ordered) {
		t.Fatal("inOrder is wrong about the test's rows")
	}
	fast, slow := Roll(ordered, ByInterval, loc, true), Roll(shuffled, ByInterval, loc, true)
	if len(fast) != len(ordered) || !reflect.DeepEqual(fast, slow) {
		t.Fatalf("by interval: %d lines in order, %d shuffled, or they differ", len(fast), len(slow))
	}
	if &fast[0] != &ordered[0] {
		t.Fatal("rows in order were copied, not returned")
	}

	// In order but on another clock: summed the long way, in UTC.
	local := slices.Clone(ordered)
	for i := range local {
		local[i].Interval = local[i].Interval.In(loc)
	}
	if got := Roll(local, ByInterval, loc, true); !reflect.DeepEqual(got, slow) || &got[0] == &local[0] {
		t.Fatal("rows not in UTC: lines differ or were not made anew")
	}

	// The same key and interval twice is summed, not listed twice.
	twice := append(slices.Clone(ordered[:2]), ordered[1])
	got := Roll(twice, ByInterval, loc, true)
	if len(got) != 2 || got[1].Queue.Offered != 2*ordered[1].Queue.Offered {
		t.Fatalf("a row read twice: %+v", got)
	}
}
