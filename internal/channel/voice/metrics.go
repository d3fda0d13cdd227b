package voice

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	registrations *prometheus.CounterVec
	calls         *prometheus.CounterVec
	rejected      *prometheus.CounterVec
	trunks        *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		registrations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atende_sip_registrations_total",
			Help: "REGISTER requests handled by the registrar, by result (registered, unregistered, challenged, stale, forbidden, unknown_domain, interval_too_brief).",
		}, []string{"result"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atende_sip_calls_total",
			Help: "Inbound calls identified and handed to the call handler, by kind (did, user).",
		}, []string{"kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atende_sip_rejected_total",
			Help: "SIP requests refused or dropped, by method and reason.",
		}, []string{"method", "reason"}),
		trunks: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "atende_sip_trunks",
			Help: "Register trunks by registration state.",
		}, []string{"state"}),
	}
	if reg != nil {
		reg.MustRegister(m.registrations, m.calls, m.rejected, m.trunks)
	}
	return m
}
