package report

import "time"

// IntervalSize is the reporting interval: statistics are kept per 15 minutes.
const IntervalSize = 15 * time.Minute

// IntervalStart is the start, in UTC, of the 15-minute interval holding t on
// the wall clock of loc. Intervals follow the local clock, so a zone half or
// three quarters of an hour off UTC (India, Nepal) still gets intervals at
// :00, :15, :30 and :45 local time. The offset in force at t is used, so the
// repeated hour when clocks go back makes two sets of intervals, never one
// interval twice as long.
func IntervalStart(t time.Time, loc *time.Location) time.Time {
	_, off := t.In(loc).Zone()
	shift := time.Duration(off) * time.Second
	local := t.UTC().Add(shift)
	return local.Truncate(IntervalSize).Add(-shift)
}

// Intervals are the interval starts from 'from' (inclusive) to 'to'
// (exclusive) in loc, in order: the rows of a report by interval.
func Intervals(from, to time.Time, loc *time.Location) []time.Time {
	var out []time.Time
	for t := IntervalStart(from, loc); t.Before(to); t = t.Add(IntervalSize) {
		out = append(out, t)
	}
	return out
}
