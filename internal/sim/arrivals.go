package sim

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atende/atende"
)

// Arrival is one task arriving, as a replayed CSV gives it.
type Arrival struct {
	At          time.Duration  // offset from the start of the simulation, unless Time is set
	Time        time.Time      // an absolute timestamp
	Queue       string         // a queue name of the configuration
	Channel     atende.Channel // empty: the queue's arrival channel
	HasHandle   bool           // Handle was given; otherwise it is sampled from the queue's handle_time
	Handle      time.Duration
	HasPatience bool // Patience was given; otherwise it is sampled from the queue's patience
	Patience    time.Duration
	NoPatience  bool // the customer never abandons
	Line        int  // in the CSV, for messages
}

// CSV columns of arrivals, in the order they are assumed when the file has
// no header.
var arrivalColumns = []string{"time", "queue", "channel", "handle_time_sec", "patience_sec"}

// ReadArrivals reads arrivals from a CSV. Columns, by header name (or in
// this order when the first line is not a header): time, queue, channel,
// handle_time_sec, patience_sec; only time and queue are required.
//
// time is an offset from the start of the simulation, in seconds ("3605.2")
// or as a clock ("01:00:05"), or a timestamp (RFC 3339, or
// "2006-01-02 15:04:05" read in loc). Empty handle_time_sec or patience_sec
// are sampled from the queue's distributions; patience_sec "none" never
// abandons.
func ReadArrivals(r io.Reader, loc *time.Location) ([]Arrival, error) {
	if loc == nil {
		loc = time.UTC
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	col := map[string]int{}
	var out []Arrival
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(rec) == 0 || (len(rec) == 1 && strings.TrimSpace(rec[0]) == "") || strings.HasPrefix(rec[0], "#") {
			continue
		}
		if len(col) == 0 {
			if _, _, terr := parseArrivalTime(rec[0], loc); terr != nil {
				// A header: map its names.
				for i, name := range rec {
					name = strings.ToLower(strings.TrimSpace(name))
					switch name {
					case "timestamp", "offset_sec", "time_offset", "offset":
						name = "time"
					case "queue_name":
						name = "queue"
					case "handle_time", "handle_sec", "aht_sec":
						name = "handle_time_sec"
					case "patience":
						name = "patience_sec"
					}
					if slices.Contains(arrivalColumns, name) {
						col[name] = i
					}
				}
				if _, ok := col["time"]; !ok {
					return nil, fmt.Errorf("line %d: the header has no time column (want %s)", line, strings.Join(arrivalColumns, ","))
				}
				if _, ok := col["queue"]; !ok {
					return nil, fmt.Errorf("line %d: the header has no queue column (want %s)", line, strings.Join(arrivalColumns, ","))
				}
				continue
			}
			for i, name := range arrivalColumns {
				col[name] = i
			}
		}
		get := func(name string) string {
			i, ok := col[name]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		a := Arrival{Line: line, Queue: get("queue"), Channel: atende.Channel(get("channel"))}
		if a.At, a.Time, err = parseArrivalTime(get("time"), loc); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if a.Queue == "" {
			return nil, fmt.Errorf("line %d: no queue", line)
		}
		if a.Channel != "" && !atende.ValidChannel(a.Channel) {
			return nil, fmt.Errorf("line %d: %q is not a channel", line, a.Channel)
		}
		if s := get("handle_time_sec"); s != "" {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || v < 0 || math.IsInf(v, 0) {
				return nil, fmt.Errorf("line %d: handle_time_sec %q is not a number of seconds", line, s)
			}
			a.HasHandle, a.Handle = true, seconds(v)
		}
		if s := get("patience_sec"); s != "" {
			if s == "none" || s == "inf" {
				a.HasPatience, a.NoPatience = true, true
			} else {
				v, err := strconv.ParseFloat(s, 64)
				if err != nil || v < 0 || math.IsInf(v, 0) {
					return nil, fmt.Errorf("line %d: patience_sec %q is not a number of seconds (or none)", line, s)
				}
				a.HasPatience, a.Patience = true, seconds(v)
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// parseArrivalTime reads seconds, a clock offset or a timestamp.
func parseArrivalTime(s string, loc *time.Location) (time.Duration, time.Time, error) {
	s = strings.TrimSpace(s)
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		if v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return 0, time.Time{}, fmt.Errorf("time %q: must not be negative", s)
		}
		return seconds(v), time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return 0, t, nil
	}
	for _, layout := range []string{time.DateTime, "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return 0, t, nil
		}
	}
	if strings.Count(s, ":") >= 1 && !strings.Contains(s, "-") {
		if d, err := ParseDuration(s); err == nil {
			return d, time.Time{}, nil
		}
	}
	return 0, time.Time{}, fmt.Errorf("time %q: want seconds, HH:MM:SS or a timestamp", s)
}

// WriteArrivals writes arrivals as a CSV that ReadArrivals reads back, with
// times as offsets in seconds: the traffic of a run, to replay or edit.
func WriteArrivals(w io.Writer, arrivals []Arrival) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(arrivalColumns); err != nil {
		return err
	}
	for _, a := range arrivals {
		patience := ""
		switch {
		case a.NoPatience:
			patience = "none"
		case a.HasPatience:
			patience = fmtSec(a.Patience)
		}
		handle := ""
		if a.HasHandle {
			handle = fmtSec(a.Handle)
		}
		if err := cw.Write([]string{fmtSec(a.At), a.Queue, string(a.Channel), handle, patience}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func fmtSec(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

func sortArrivals(as []Arrival) {
	slices.SortStableFunc(as, func(a, b Arrival) int {
		switch {
		case a.At < b.At:
			return -1
		case a.At > b.At:
			return 1
		}
		return 0
	})
}

func firstTimestamp(as []Arrival) (time.Time, bool) {
	var first time.Time
	for _, a := range as {
		if !a.Time.IsZero() && (first.IsZero() || a.Time.Before(first)) {
			first = a.Time
		}
	}
	return first, !first.IsZero()
}

// stream is one queue's random numbers. Arrivals and customers (handle
// time, patience) draw from streams of their own, seeded from the run's
// seed and the queue's name, so two configurations run with the same seed
// see the same customers however they route them (common random numbers):
// their difference is the configuration's, not the dice's.
func stream(seed uint64, queue, purpose string) *rand.Rand {
	h := uint64(14695981039346656037) // FNV-1a
	for _, b := range []byte(purpose + "\x00" + queue) {
		h ^= uint64(b)
		h *= 1099511628211
	}
	return rand.New(rand.NewPCG(seed, h))
}

// nextArrival returns the first Poisson arrival after t with the queue's
// piecewise-constant daily rate; false when none comes before end. Since
// the process is memoryless, a draw that crosses an interval boundary is
// restarted there with the next interval's rate, which is exact.
func (qm *queueModel) nextArrival(rng *rand.Rand, t, end time.Duration) (time.Duration, bool) {
	if !qm.busy() {
		return 0, false
	}
	for t < end {
		slot := int((t % day) / qm.slot)
		boundary := t - t%qm.slot + qm.slot
		rate := qm.rates[slot]
		if rate > 0 {
			next := t + seconds(rng.ExpFloat64()/rate)
			if next < boundary {
				if next >= end {
					return 0, false
				}
				return next, true
			}
		}
		t = boundary
	}
	return 0, false
}

// sample draws a duration; ok is false for none.
func (d Distribution) sample(rng *rand.Rand) (time.Duration, bool) {
	switch d.Dist {
	case DistExponential:
		return seconds(rng.ExpFloat64() * d.MeanSec), true
	case DistLognormal:
		// With mean m and deviation s: σ² = ln(1 + s²/m²), μ = ln m − σ²/2.
		s2 := math.Log1p(d.SDSec * d.SDSec / (d.MeanSec * d.MeanSec))
		return seconds(math.Exp(math.Log(d.MeanSec) - s2/2 + math.Sqrt(s2)*rng.NormFloat64())), true
	case DistFixed:
		return seconds(d.MeanSec), true
	}
	return 0, false
}
