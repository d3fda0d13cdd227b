package wallboard

import (
	"context"
	"time"
)

// Alert levels, from the queue's thresholds:
//
//   - service_level: warning while today's service level is under
//     service_level_below_pct, critical when it is more than 10 points under;
//   - longest_wait: warning while a task has waited longer than
//     longest_wait_above_sec, critical past twice that;
//   - legal_wait: warning from 80 % of the preset's legal cap, critical at
//     the cap.
//
// Threshold is always the figure configured (or the legal cap).
const (
	slCriticalPoints = 10
	legalWarningPart = 0.8
)

// wanted returns the alerts queue q should have now, by kind.
func (q *queueState) wanted(now time.Time) map[string]Alert {
	out := map[string]Alert{}
	cfg := q.cfg.Routing.Alerts
	if t := cfg.ServiceLevelBelowPct; t > 0 {
		if sl, ok := q.day.ServiceLevel(); ok {
			v := *round1(sl * 100)
			switch {
			case v < float64(t-slCriticalPoints):
				out[KindServiceLevel] = Alert{Kind: KindServiceLevel, Level: LevelCritical, Value: v, Threshold: float64(t)}
			case v < float64(t):
				out[KindServiceLevel] = Alert{Kind: KindServiceLevel, Level: LevelWarning, Value: v, Threshold: float64(t)}
			}
		}
	}
	var wait float64
	if len(q.waiting) > 0 {
		wait = float64(q.longestWait(now) / time.Second)
	}
	if t := cfg.LongestWaitAboveSec; t > 0 {
		switch {
		case wait > 2*float64(t):
			out[KindLongestWait] = Alert{Kind: KindLongestWait, Level: LevelCritical, Value: wait, Threshold: float64(t)}
		case wait > float64(t):
			out[KindLongestWait] = Alert{Kind: KindLongestWait, Level: LevelWarning, Value: wait, Threshold: float64(t)}
		}
	}
	if c := q.cfg.Routing.LegalMaxWaitSec(); c > 0 {
		switch {
		case wait >= float64(c):
			out[KindLegalWait] = Alert{Kind: KindLegalWait, Level: LevelCritical, Value: wait, Threshold: float64(c)}
		case wait >= legalWarningPart*float64(c):
			out[KindLegalWait] = Alert{Kind: KindLegalWait, Level: LevelWarning, Value: wait, Threshold: float64(c)}
		}
	}
	return out
}

// evaluateAlerts raises the alerts that start or change level and clears
// the ones that end, each stored with its event; the value of an alert that
// goes on is refreshed in memory only.
func (m *Model) evaluateAlerts(ctx context.Context, now time.Time) {
	for _, q := range m.qOrder {
		if len(q.alerts) == 0 && !q.mayAlert() {
			continue
		}
		want := q.wanted(now)
		for _, kind := range []string{KindServiceLevel, KindLongestWait, KindLegalWait} {
			cur, has := q.alerts[kind]
			w, wants := want[kind]
			switch {
			case wants && (!has || cur.Level != w.Level):
				w.QueueID, w.Since = q.cfg.ID, now
				if has {
					w.Since = cur.Since
				}
				if err := m.store(ctx, func(ctx context.Context) error { return m.cfg.Source.RaiseAlert(ctx, m.tenantID, w) }); err != nil {
					m.cfg.Logger.Error("wallboard: raise alert", "tenant", m.tenantID, "queue", q.cfg.ID, "kind", kind, "err", err)
					continue // tried again on the next evaluation
				}
				q.alerts[kind] = w
			case !wants && has:
				if err := m.store(ctx, func(ctx context.Context) error { return m.cfg.Source.ClearAlert(ctx, m.tenantID, cur) }); err != nil {
					m.cfg.Logger.Error("wallboard: clear alert", "tenant", m.tenantID, "queue", q.cfg.ID, "kind", kind, "err", err)
					continue
				}
				delete(q.alerts, kind)
			case wants && cur.Value != w.Value:
				cur.Value = w.Value
				q.alerts[kind] = cur
			default:
				continue
			}
			q.dirty, m.dirty = true, true
		}
	}
}

// mayAlert reports whether the queue has any threshold to check.
func (q *queueState) mayAlert() bool {
	a := q.cfg.Routing.Alerts
	return a.ServiceLevelBelowPct > 0 || a.LongestWaitAboveSec > 0 || q.cfg.Routing.LegalMaxWaitSec() > 0
}

func (m *Model) store(ctx context.Context, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return fn(ctx)
}

// dropAlerts clears alerts whose queue is gone.
func (m *Model) dropAlerts(ctx context.Context, alerts map[string]Alert) {
	for _, a := range alerts {
		if err := m.store(ctx, func(ctx context.Context) error { return m.cfg.Source.ClearAlert(ctx, m.tenantID, a) }); err != nil {
			m.cfg.Logger.Error("wallboard: clear the alert of a deleted queue", "tenant", m.tenantID, "queue", a.QueueID, "err", err)
		}
	}
}
