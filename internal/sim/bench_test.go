package sim

import (
	"testing"
)

// centerExample is a realistic center: 500 agents in 20 groups with skills
// and staggered shifts, 20 queues on voice, chat, email, SMS and social,
// about 38 000 tasks a day on an intraday curve that peaks late in the
// morning.
const centerExample = "../../docs/examples/sim-center.json"

// BenchmarkCenterDay simulates one day of the example center; the target is
// well under 10 s per simulated day.
func BenchmarkCenterDay(b *testing.B) {
	cfg, err := LoadConfig(centerExample)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Days = 1
	var tasks int
	for b.Loop() {
		r, err := Run(cfg)
		if err != nil {
			b.Fatal(err)
		}
		tasks = r.Tasks
	}
	b.ReportMetric(float64(tasks), "tasks/day")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(tasks)/1e3, "µs/task")
}
