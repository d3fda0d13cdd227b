package sim

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/atende/atende"
)

func hours(h float64) Duration { return Duration(time.Duration(h * float64(time.Hour))) }

func voiceQueue(name string, mod func(q *atende.Queue)) atende.Queue {
	q := atende.Queue{Name: name, Channels: []atende.Channel{atende.ChannelVoice}, Routing: atende.DefaultQueueRouting()}
	if mod != nil {
		mod(&q)
	}
	return q
}

// mixed is a small center that touches most of the core: several queues
// and channels, skills, strategies (weighted_random included), chat
// concurrency, wrap-up, answer delays, abandons, an escalation, a
// max-wait callback and shifts.
func mixed(seed uint64) Config {
	lognormal := Distribution{Dist: DistLognormal, MeanSec: 240, SDSec: 160}
	return Config{
		Seed: seed, Duration: hours(6), AnswerDelaySec: 2, IntervalMin: 60,
		Queues: []QueueSpec{
			{
				Queue: voiceQueue("sales", func(q *atende.Queue) {
					q.Skills = []atende.RequiredSkill{{SkillID: "sales", MinProficiency: 5}}
					q.Routing.Strategy = atende.StrategyWeightedRandom
					q.Routing.Escalations = []atende.Escalation{{AfterSec: 30, Type: atende.EscalateRelaxSkill, SkillID: "sales", MinProficiency: 2}}
				}),
				Arrivals: Arrivals{PerHour: 60}, HandleTime: lognormal, Patience: Distribution{MeanSec: 90},
			},
			{
				Queue: voiceQueue("support", func(q *atende.Queue) {
					q.Skills = []atende.RequiredSkill{{SkillID: "support", MinProficiency: 3}}
					q.Routing.Strategy = atende.StrategyBestProficiency
					q.MaxWaitSec = 120
					q.Routing.MaxWaitAction = atende.QueueAction{Type: atende.ActionCallback}
				}),
				Arrivals: Arrivals{PerInterval: []float64{
					0, 0, 0, 0, 20, 30, 40, 30, 20, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				}, IntervalMin: 15},
				HandleTime: Distribution{Dist: DistExponential, MeanSec: 300}, Patience: Distribution{Dist: DistExponential, MeanSec: 200},
			},
			{
				Queue: atende.Queue{
					Name: "chat", Channels: []atende.Channel{atende.ChannelChat}, Routing: atende.DefaultQueueRouting(),
					SLThresholdSec: 60, SLTargetPct: 80,
				},
				Arrivals: Arrivals{PerHour: 80}, HandleTime: lognormal, Patience: Distribution{Dist: DistFixed, MeanSec: 120},
			},
		},
		Agents: []AgentSpec{
			{Name: "blend", Count: 4, Skills: map[string]int{"sales": 7, "support": 5}, Capacity: atende.Capacity{"voice": 1, "chat": 2}},
			{Name: "sales", Count: 3, Skills: map[string]int{"sales": 4}, Capacity: atende.Capacity{"voice": 1},
				Shifts: []Shift{{Start: hours(0), End: hours(2)}, {Start: hours(2.5), End: hours(5)}}},
			{Name: "chat", Count: 2, Capacity: atende.Capacity{"chat": 3}, AnswerDelaySec: new(5.0)},
		},
	}
}

func resultJSON(t *testing.T, cfg Config) []byte {
	t.Helper()
	r, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSameSeedGivesIdenticalResults(t *testing.T) {
	first := resultJSON(t, mixed(7))
	for range 3 {
		if again := resultJSON(t, mixed(7)); !bytes.Equal(first, again) {
			t.Fatalf("two runs with seed 7 differ:\n%s\n---\n%s", first, again)
		}
	}
	if other := resultJSON(t, mixed(8)); bytes.Equal(first, other) {
		t.Fatal("seeds 7 and 8 gave the same results")
	}
}

func TestMixedCenterKeepsItsBooks(t *testing.T) {
	r, err := Run(mixed(3))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range append(r.Queues, r.Total) {
		if got := q.Handled + q.Abandoned + q.Other + q.Unanswered; got != q.Offered {
			t.Errorf("%s: handled %d + abandoned %d + other %d + unanswered %d = %d, offered %d",
				q.Queue, q.Handled, q.Abandoned, q.Other, q.Unanswered, got, q.Offered)
		}
		if q.Offered == 0 || q.Handled == 0 {
			t.Errorf("%s: no traffic: %+v", q.Queue, q)
		}
		if q.ServiceLevel < 0 || q.ServiceLevel > 1 || q.AbandonRate < 0 || q.AbandonRate > 1 {
			t.Errorf("%s: rates out of range: %+v", q.Queue, q)
		}
	}
	if r.Queues[1].Callbacks == 0 {
		t.Error("support's max-wait callback never happened")
	}
	// Intervals add up to the totals.
	sum := map[string]int{}
	for _, iq := range r.Intervals {
		sum[iq.Queue] += iq.Offered
	}
	for _, q := range r.Queues {
		if sum[q.Queue] != q.Offered {
			t.Errorf("%s: intervals offer %d, the run %d", q.Queue, sum[q.Queue], q.Offered)
		}
	}
	// Agents' time adds up: 4 blend and 2 chat agents all day, 3 sales
	// agents for 4.5 h, and the calls in hand when a shift ends; the run
	// lasts 6 h plus what the last tasks take.
	if g := r.Agents[1]; g.LoggedInHours < 3*4.5 || g.LoggedInHours > 3*4.5+0.5 {
		t.Errorf("sales agents logged in %.3f h, want 13.5 and the calls they finish after their shifts", g.LoggedInHours)
	}
	if a := r.Agents[0]; a.LoggedInHours < 4*6 || a.LoggedInHours > 4*7 {
		t.Errorf("blend agents logged in %.3f h, want 24 to 28", a.LoggedInHours)
	}
}

func TestCommonRandomNumbersAcrossConfigurations(t *testing.T) {
	a := mixed(11)
	b := mixed(11)
	b.Agents[0].Count = 6
	b.Queues[0].Routing.Strategy = atende.StrategyLongestIdle
	_, arrA, err := RunRecorded(a)
	if err != nil {
		t.Fatal(err)
	}
	_, arrB, err := RunRecorded(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(arrA, arrB) {
		t.Fatal("the same seed drew different customers for two configurations")
	}
}

func TestAbandonsAndShortAbandons(t *testing.T) {
	// Nobody is logged in until 02:00: every customer before leaves.
	cfg := Config{
		Duration: hours(1), Drain: hours(0.5),
		Queues: []QueueSpec{
			{Queue: voiceQueue("quick", nil), Arrivals: Arrivals{PerHour: 100}, HandleTime: Distribution{MeanSec: 60}, Patience: Distribution{Dist: DistFixed, MeanSec: 3}},
			{Queue: voiceQueue("slow", nil), Arrivals: Arrivals{PerHour: 100}, HandleTime: Distribution{MeanSec: 60}, Patience: Distribution{Dist: DistFixed, MeanSec: 30}},
		},
		Agents: []AgentSpec{{Name: "late", Shifts: []Shift{{Start: hours(2), End: hours(3)}}}},
	}
	r, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	quick, slow := r.Queues[0], r.Queues[1]
	if quick.Abandoned != quick.Offered || quick.ShortAbandons != quick.Offered || quick.AbandonRate != 0 {
		t.Errorf("customers who leave after 3 s are short abandons, out of the abandon rate: %+v", quick)
	}
	if slow.Abandoned != slow.Offered || slow.ShortAbandons != 0 || slow.AbandonRate != 1 || slow.ServiceLevel != 0 {
		t.Errorf("customers who leave after 30 s are abandons: %+v", slow)
	}
	if math.Abs(slow.LongestWaitSec-30) > 1e-6 {
		t.Errorf("longest wait %.3f s, want 30", slow.LongestWaitSec)
	}
}

func TestHandleTimeWrapUpAndAnswerDelay(t *testing.T) {
	// One agent, ten calls 10 min apart: each rings 3 s, lasts 100 s, then
	// 30 s of wrap-up.
	var calls []Arrival
	for i := range 10 {
		calls = append(calls, Arrival{At: time.Duration(i) * 10 * time.Minute, Queue: "q"})
	}
	cfg := Config{
		AnswerDelaySec: 3, Arrivals: calls,
		Queues: []QueueSpec{{
			Queue:      voiceQueue("q", func(q *atende.Queue) { q.Routing.WrapUpSec = 30 }),
			HandleTime: Distribution{Dist: DistFixed, MeanSec: 100},
		}},
		Agents: []AgentSpec{{Name: "a"}},
	}
	r, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	q := r.Queues[0]
	if q.Handled != 10 || q.Waited != 10 {
		t.Fatalf("every call waits for the agent to answer: %+v", q)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"ASA", q.ASASec, 3}, {"talk", q.TalkSec, 100}, {"wrap-up", q.WrapSec, 30}, {"AHT", q.AHTSec, 130}, {"SL", q.ServiceLevel, 1}} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// Handling is talk and wrap-up; ringing counts as available.
	g := r.AgentsTotal
	if want := 10 * 130 / 3600.0; math.Abs(g.BusyHours+g.WrapUpHours-want) > 1e-9 {
		t.Errorf("handling %.4f h, want %.4f", g.BusyHours+g.WrapUpHours, want)
	}
	if math.Abs(g.LoggedInHours-24) > 1e-9 || math.Abs(g.Occupancy-10*130/86400.0) > 1e-9 {
		t.Errorf("logged in %.4f h, occupancy %.5f", g.LoggedInHours, g.Occupancy)
	}
}

func TestUnansweredOfferGoesBack(t *testing.T) {
	// Agents who take longer to answer than the offer timeout never answer:
	// offers go back (RONA), and customers abandon.
	cfg := Config{
		Duration: hours(1), AnswerDelaySec: 30,
		Queues: []QueueSpec{{
			Queue:    voiceQueue("q", func(q *atende.Queue) { q.Routing.OfferTimeoutSec = 10 }),
			Arrivals: Arrivals{PerHour: 20}, HandleTime: Distribution{MeanSec: 60}, Patience: Distribution{MeanSec: 60},
		}},
		Agents: []AgentSpec{{Name: "slow", Count: 2}},
	}
	r, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if q := r.Queues[0]; q.Handled != 0 || q.Abandoned != q.Offered {
		t.Fatalf("want every customer to give up: %+v", q)
	}
}

func TestReplayedArrivals(t *testing.T) {
	csvText := `time,queue,channel,handle_time_sec,patience_sec
# a comment
00:00:10,q,voice,100,
20,q,,200,none
2026-03-02T00:10:00Z,q,voice,,5
`
	arr, err := ReadArrivals(strings.NewReader(csvText), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(arr) != 3 || arr[0].At != 10*time.Second || arr[1].At != 20*time.Second || !arr[1].NoPatience ||
		arr[2].Time.IsZero() || !arr[2].HasPatience || arr[2].Patience != 5*time.Second || arr[2].HasHandle {
		t.Fatalf("read %+v", arr)
	}
	cfg := Config{
		Queues: []QueueSpec{{Queue: voiceQueue("q", func(q *atende.Queue) { q.Routing.WrapUpSec = 0 }), HandleTime: Distribution{Dist: DistFixed, MeanSec: 60}}},
		Agents: []AgentSpec{{Name: "a"}}, Arrivals: arr,
	}
	r, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	q := r.Queues[0]
	// The second call waits 90 s for the first; the third finds the agent
	// free at 10:00 and takes the queue's 60 s.
	if q.Offered != 3 || q.Handled != 3 || q.TalkSec != (100+200+60)/3.0 || q.ASASec != 30 || q.LongestWaitSec != 90 {
		t.Fatalf("replay: %+v", q)
	}
	if !r.Start.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)) || r.End.Sub(r.Start) != 24*time.Hour {
		t.Errorf("the run covers the day of the arrivals: %s to %s", r.Start, r.End)
	}
}

func TestRecordedArrivalsReplayTheSameDay(t *testing.T) {
	cfg := mixed(5)
	cfg.IntervalMin = 0
	want, arrivals, err := RunRecorded(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteArrivals(&b, arrivals); err != nil {
		t.Fatal(err)
	}
	cfg.Arrivals, err = ReadArrivals(&b, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.Queues {
		w, g := want.Queues[i], got.Queues[i]
		if w.Offered != g.Offered || w.Handled != g.Handled || w.Abandoned != g.Abandoned || w.AnsweredInSL != g.AnsweredInSL ||
			math.Abs(w.ASASec-g.ASASec) > 0.001 || math.Abs(w.AHTSec-g.AHTSec) > 0.001 {
			t.Errorf("%s: replay differs:\n got %+v\nwant %+v", w.Queue, g, w)
		}
	}
}

func TestPoissonVolumesFollowTheCurve(t *testing.T) {
	// 2 400 a day, all between 10:00 and 12:00 by the curve.
	shares := make([]float64, 24)
	shares[10], shares[11] = 1, 3
	cfg := Config{
		Days: 5, IntervalMin: 60, Curves: map[string]Curve{"late-morning": {Shares: shares}},
		Queues: []QueueSpec{{Queue: voiceQueue("q", nil), Arrivals: Arrivals{PerDay: 2400, Curve: "late-morning", Scale: 0.5}, HandleTime: Distribution{MeanSec: 1}}},
		Agents: []AgentSpec{{Name: "a", Count: 5}},
	}
	r, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	perHour := map[int]int{}
	for _, iq := range r.Intervals {
		perHour[iq.Start.Hour()] += iq.Offered
	}
	// Expected 5 × 300 and 5 × 900; 4 standard deviations either way.
	if len(perHour) != 2 || math.Abs(float64(perHour[10])-1500) > 4*math.Sqrt(1500) || math.Abs(float64(perHour[11])-4500) > 4*math.Sqrt(4500) {
		t.Fatalf("arrivals per hour of day: %v", perHour)
	}
}

func TestExampleConfigurationsLoadAndRun(t *testing.T) {
	files, err := filepath.Glob("../../docs/examples/sim-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := LoadConfig(f)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Duration = hours(1) // enough to see it run
			cfg.Days = 0
			if _, err := Run(cfg); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestTOMLAndJSONReadAlike(t *testing.T) {
	js := `{"seed": 3, "days": 2, "queues": [{"name": "Sales", "channels": ["voice"],
	  "skills": [{"skill_id": "sales", "min_proficiency": 4}], "routing": {"strategy": "best_proficiency", "wrap_up_sec": 10},
	  "arrivals": {"per_hour": 30}, "handle_time": {"dist": "lognormal", "mean_sec": 200, "sd_sec": 100}}],
	  "agents": [{"name": "a", "count": 3, "skills": {"sales": 6}, "capacity": {"voice": 1},
	  "shifts": [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "17:30"}]}]}`
	tm := `seed = 3
days = 2
[[queues]]
name = "Sales"
channels = ["voice"]
skills = [{skill_id = "sales", min_proficiency = 4}]
routing = {strategy = "best_proficiency", wrap_up_sec = 10}
arrivals = {per_hour = 30}
handle_time = {dist = "lognormal", mean_sec = 200, sd_sec = 100}
[[agents]]
name = "a"
count = 3
skills = {sales = 6}
capacity = {voice = 1}
shifts = [{start = "08:00", end = "12:00"}, {start = "13:00", end = "17:30"}]
`
	a, err := ParseConfig([]byte(js), "json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseConfig([]byte(tm), "toml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("JSON and TOML differ:\n%+v\n%+v", a, b)
	}
	q := a.Queues[0]
	if q.Routing.WrapUpSec != 10 || q.Routing.OfferTimeoutSec != 20 || q.Routing.Strategy != atende.StrategyBestProficiency {
		t.Errorf("routing starts from the defaults: %+v", q.Routing)
	}
	if a.Agents[0].Shifts[1].End.Std() != 17*time.Hour+30*time.Minute {
		t.Errorf("shift end %v", a.Agents[0].Shifts[1].End.Std())
	}
}

func TestConfigurationMistakesAreNamed(t *testing.T) {
	base := func() Config {
		return Config{
			Queues: []QueueSpec{{Queue: voiceQueue("q", nil), Arrivals: Arrivals{PerHour: 10}, HandleTime: Distribution{MeanSec: 60}}},
			Agents: []AgentSpec{{Name: "a"}},
		}
	}
	for _, c := range []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"no queues", func(c *Config) { c.Queues = nil }, "queues"},
		{"no handle time", func(c *Config) { c.Queues[0].HandleTime = Distribution{} }, "handle_time"},
		{"lognormal without sd", func(c *Config) { c.Queues[0].HandleTime.Dist = DistLognormal }, "sd_sec"},
		{"two arrival processes", func(c *Config) { c.Queues[0].Arrivals.PerDay = 10 }, "one of"},
		{"unknown curve", func(c *Config) { c.Queues[0].Arrivals = Arrivals{PerDay: 10, Curve: "x"} }, "curve"},
		{"short curve", func(c *Config) { c.Queues[0].Arrivals = Arrivals{PerInterval: []float64{1, 2}, IntervalMin: 15} }, "96"},
		{"channel the queue lacks", func(c *Config) { c.Queues[0].Arrivals.Channel = atende.ChannelChat }, "does not take chat"},
		{"invalid routing", func(c *Config) { c.Queues[0].Routing.Strategy = "fastest" }, "routing.strategy"},
		{"overflow to an unknown queue", func(c *Config) {
			c.Queues[0].Routing.FullAction = atende.QueueAction{Type: atende.ActionOverflow, QueueID: "nowhere"}
		}, "nowhere"},
		{"overlapping shifts", func(c *Config) {
			c.Agents[0].Shifts = []Shift{{Start: hours(8), End: hours(12)}, {Start: hours(11), End: hours(14)}}
		}, "overlap"},
		{"bad proficiency", func(c *Config) { c.Agents[0].Skills = map[string]int{"x": 11} }, "proficiency"},
		{"warm-up too long", func(c *Config) { c.WarmUp = hours(24) }, "warm_up"},
		{"replayed arrival for an unknown queue", func(c *Config) { c.Arrivals = []Arrival{{Queue: "nope", Line: 2}} }, "line 2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := base()
			c.mod(&cfg)
			_, err := Run(cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, c.want)
			}
		})
	}
	if _, err := ParseConfig([]byte(`{"queues": [], "agents": [], "sead": 1}`), "json"); err == nil || !strings.Contains(err.Error(), "sead") {
		t.Errorf("a misspelt field must be an error, got %v", err)
	}
}

func TestReadArrivalsRejectsBadLines(t *testing.T) {
	for _, text := range []string{
		"time,queue\nsoon,q\n",
		"time,queue,channel\n10,q,fax\n",
		"time,queue,channel,handle_time_sec\n10,q,voice,-3\n",
		"when,where\n10,q\n",
	} {
		if _, err := ReadArrivals(strings.NewReader(text), time.UTC); err == nil {
			t.Errorf("%q: want an error", text)
		}
	}
}

func TestWriteCSVAndTable(t *testing.T) {
	r, err := Run(mixed(2))
	if err != nil {
		t.Fatal(err)
	}
	var csvOut, table bytes.Buffer
	if err := r.WriteCSV(&csvOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csvOut.String()), "\n")
	if want := 1 + len(r.Queues) + 1 + len(r.Intervals); len(lines) != want {
		t.Errorf("CSV has %d lines, want %d", len(lines), want)
	}
	if !strings.HasPrefix(lines[1], "all,sales,") || !strings.HasPrefix(lines[len(r.Queues)+1], "all,total,") {
		t.Errorf("CSV starts:\n%s", strings.Join(lines[:5], "\n"))
	}
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"queue", "support", "total", "occupancy %", "blend"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if testing.Verbose() {
		os.Stdout.Write(table.Bytes())
	}
}
