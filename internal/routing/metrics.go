package routing

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the routing engines' Prometheus metrics, shared by every
// tenant's engine on a node.
type Metrics struct {
	decisions *prometheus.CounterVec
	command   prometheus.Histogram
	save      prometheus.Histogram
	batch     prometheus.Histogram
	waiting   *prometheus.GaugeVec
}

// NewMetrics registers the routing metrics with reg (which may be nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atende_routing_decisions_total",
			Help: "Routing decisions saved, by event (task.offered, task.accepted, agent.state_changed, ...).",
		}, []string{"event"}),
		command: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "atende_routing_command_duration_seconds",
			Help:    "Time from a routing command's arrival to its durable answer.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		save: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "atende_routing_save_duration_seconds",
			Help:    "Time to make one batch of routing decisions durable.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "atende_routing_batch_commands",
			Help:    "Commands handled together in one routing batch.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		waiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "atende_routing_waiting_tasks",
			Help: "Tasks waiting in queues, per tenant.",
		}, []string{"tenant"}),
	}
	if reg != nil {
		reg.MustRegister(m.decisions, m.command, m.save, m.batch, m.waiting)
	}
	return m
}
