// Package report holds atende's contact-center statistics: the counters kept
// per interval and the KPIs derived from them, defined once here exactly as
// docs and reports state them (see ../shared/design/REFERENCE.md, "Contact-
// center KPIs"). Counters are plain sums so that intervals add up: a day is
// the sum of its 15-minute intervals, a team the sum of its agents, and every
// KPI is computed from the summed counters, never averaged from averages.
package report

import "time"

// DefaultShortAbandon is the wait under which an abandon is "short": the
// customer hung up or left at once, too soon for any agent to answer, so it is
// reported apart and left out of the abandon rate and service level.
const DefaultShortAbandon = 5 * time.Second

// QueueCounters are the sums kept for tasks in a queue (or a channel, a team,
// a tenant) over an interval. Durations are in milliseconds so that sums stay
// exact integers.
type QueueCounters struct {
	Offered        int64 `json:"offered"`         // tasks that entered the queue
	Handled        int64 `json:"handled"`         // tasks an agent accepted
	Abandoned      int64 `json:"abandoned"`       // the customer left before an agent accepted, short ones included
	ShortAbandoned int64 `json:"short_abandoned"` // abandoned within the short-abandon threshold
	AnsweredInSL   int64 `json:"answered_in_sl"`  // handled within the queue's service-level threshold
	AbandonedInSL  int64 `json:"abandoned_in_sl"` // abandoned (not short) within the threshold; some centres count these
	Transferred    int64 `json:"transferred"`     // tasks transferred on to another agent or queue
	// WaitHandledMs sums the wait of handled tasks (ASA's numerator);
	// WaitAbandonedMs the wait of abandoned ones (time to abandon).
	WaitHandledMs   int64 `json:"wait_handled_ms"`
	WaitAbandonedMs int64 `json:"wait_abandoned_ms"`
	LongestWaitMs   int64 `json:"longest_wait_ms"` // the longest wait of any task that ended waiting in the interval
	// Handle time of the tasks completed in the interval, in its parts:
	// talk (or active chat/email work), hold, and after-contact work.
	Completed int64 `json:"completed"`
	TalkMs    int64 `json:"talk_ms"`
	HoldMs    int64 `json:"hold_ms"`
	WrapMs    int64 `json:"wrap_ms"`
}

// Add folds o into c. LongestWaitMs takes the maximum; every other field sums.
func (c *QueueCounters) Add(o QueueCounters) {
	c.Offered += o.Offered
	c.Handled += o.Handled
	c.Abandoned += o.Abandoned
	c.ShortAbandoned += o.ShortAbandoned
	c.AnsweredInSL += o.AnsweredInSL
	c.AbandonedInSL += o.AbandonedInSL
	c.Transferred += o.Transferred
	c.WaitHandledMs += o.WaitHandledMs
	c.WaitAbandonedMs += o.WaitAbandonedMs
	c.LongestWaitMs = max(c.LongestWaitMs, o.LongestWaitMs)
	c.Completed += o.Completed
	c.TalkMs += o.TalkMs
	c.HoldMs += o.HoldMs
	c.WrapMs += o.WrapMs
}

// ratio is a/b, and false when b is zero: a KPI with nothing to measure is
// "no data", never 0 % or 100 %.
func ratio(a, b int64) (float64, bool) {
	if b <= 0 {
		return 0, false
	}
	return float64(a) / float64(b), true
}

// counted is the denominator of the abandon rate and service level: offered
// tasks less short abandons.
func (c QueueCounters) counted() int64 { return c.Offered - c.ShortAbandoned }

// AbandonRate is abandoned / (offered − short abandons), short abandons left
// out of both sides.
func (c QueueCounters) AbandonRate() (float64, bool) {
	return ratio(c.Abandoned-c.ShortAbandoned, c.counted())
}

// ServiceLevel is answered within the threshold / (offered − short abandons).
// Abandons within the threshold count against it (they are in the
// denominator): the conservative definition, stated on every report.
func (c QueueCounters) ServiceLevel() (float64, bool) {
	return ratio(c.AnsweredInSL, c.counted())
}

// ASA is the average speed of answer: total wait of handled tasks / handled.
func (c QueueCounters) ASA() (time.Duration, bool) {
	return avg(c.WaitHandledMs, c.Handled)
}

// AverageAbandonTime is the average wait of the customers who left.
func (c QueueCounters) AverageAbandonTime() (time.Duration, bool) {
	return avg(c.WaitAbandonedMs, c.Abandoned)
}

// AHT is the average handle time of completed tasks: talk (or active work) +
// hold + after-contact work.
func (c QueueCounters) AHT() (time.Duration, bool) {
	return avg(c.TalkMs+c.HoldMs+c.WrapMs, c.Completed)
}

// TransferRate is transferred / handled.
func (c QueueCounters) TransferRate() (float64, bool) {
	return ratio(c.Transferred, c.Handled)
}

func avg(sumMs, n int64) (time.Duration, bool) {
	if n <= 0 {
		return 0, false
	}
	return time.Duration(sumMs) * time.Millisecond / time.Duration(n), true
}

// AgentCounters are the sums kept per agent (or team) over an interval.
type AgentCounters struct {
	Handled   int64 `json:"handled"`   // tasks accepted
	Completed int64 `json:"completed"` // tasks finished, with their handle time below
	TalkMs    int64 `json:"talk_ms"`
	HoldMs    int64 `json:"hold_ms"`
	WrapMs    int64 `json:"wrap_ms"`
	// Time in each state while logged in. Busy is time with at least one
	// task; wrap-up is after-contact work; away is broken down by reason
	// code in StateByReason.
	AvailableMs int64 `json:"available_ms"`
	BusyMs      int64 `json:"busy_ms"`
	WrapUpMs    int64 `json:"wrap_up_ms"`
	AwayMs      int64 `json:"away_ms"`
	// StateByReason is away time per reason code ("" for none).
	StateByReason map[string]int64 `json:"state_by_reason,omitempty"`
}

// Add folds o into c.
func (c *AgentCounters) Add(o AgentCounters) {
	c.Handled += o.Handled
	c.Completed += o.Completed
	c.TalkMs += o.TalkMs
	c.HoldMs += o.HoldMs
	c.WrapMs += o.WrapMs
	c.AvailableMs += o.AvailableMs
	c.BusyMs += o.BusyMs
	c.WrapUpMs += o.WrapUpMs
	c.AwayMs += o.AwayMs
	for k, v := range o.StateByReason {
		if c.StateByReason == nil {
			c.StateByReason = map[string]int64{}
		}
		c.StateByReason[k] += v
	}
}

// handlingMs is the time spent on contacts: busy and after-contact work.
func (c AgentCounters) handlingMs() int64 { return c.BusyMs + c.WrapUpMs }

// LoggedInMs is every state but offline.
func (c AgentCounters) LoggedInMs() int64 {
	return c.AvailableMs + c.BusyMs + c.WrapUpMs + c.AwayMs
}

// Occupancy is time handling / (time handling + time available and idle).
func (c AgentCounters) Occupancy() (float64, bool) {
	return ratio(c.handlingMs(), c.handlingMs()+c.AvailableMs)
}

// Utilisation is time handling / logged-in time.
func (c AgentCounters) Utilisation() (float64, bool) {
	return ratio(c.handlingMs(), c.LoggedInMs())
}

// AHT is the agent's average handle time of completed tasks.
func (c AgentCounters) AHT() (time.Duration, bool) {
	return avg(c.TalkMs+c.HoldMs+c.WrapMs, c.Completed)
}

// SurveyCounters are the sums of survey answers over an interval.
type SurveyCounters struct {
	CSATAnswers   int64 `json:"csat_answers"`   // 1–5 answers
	CSATSatisfied int64 `json:"csat_satisfied"` // answers of 4 or 5
	CSATScoreSum  int64 `json:"csat_score_sum"`
	NPSAnswers    int64 `json:"nps_answers"`    // 0–10 answers
	NPSPromoters  int64 `json:"nps_promoters"`  // 9–10
	NPSDetractors int64 `json:"nps_detractors"` // 0–6
}

// Add folds o into c.
func (c *SurveyCounters) Add(o SurveyCounters) {
	c.CSATAnswers += o.CSATAnswers
	c.CSATSatisfied += o.CSATSatisfied
	c.CSATScoreSum += o.CSATScoreSum
	c.NPSAnswers += o.NPSAnswers
	c.NPSPromoters += o.NPSPromoters
	c.NPSDetractors += o.NPSDetractors
}

// CountCSAT records one CSAT answer (1–5).
func (c *SurveyCounters) CountCSAT(score int) {
	c.CSATAnswers++
	c.CSATScoreSum += int64(score)
	if score >= 4 {
		c.CSATSatisfied++
	}
}

// CountNPS records one NPS answer (0–10).
func (c *SurveyCounters) CountNPS(score int) {
	c.NPSAnswers++
	switch {
	case score >= 9:
		c.NPSPromoters++
	case score <= 6:
		c.NPSDetractors++
	}
}

// CSAT is the share of answers of 4 or 5 on the 1–5 scale.
func (c SurveyCounters) CSAT() (float64, bool) {
	return ratio(c.CSATSatisfied, c.CSATAnswers)
}

// AverageCSAT is the mean score on the 1–5 scale.
func (c SurveyCounters) AverageCSAT() (float64, bool) {
	return ratio(c.CSATScoreSum, c.CSATAnswers)
}

// NPS is % promoters − % detractors, from −100 to 100.
func (c SurveyCounters) NPS() (float64, bool) {
	if c.NPSAnswers <= 0 {
		return 0, false
	}
	return 100 * float64(c.NPSPromoters-c.NPSDetractors) / float64(c.NPSAnswers), true
}

// FCR is first-contact resolution: resolved conversations with no repeat
// contact from the same customer, on any channel, within the window (7 days
// by default) / resolved conversations.
func FCR(resolved, resolvedFirstContact int64) (float64, bool) {
	return ratio(resolvedFirstContact, resolved)
}

// DefaultFCRWindow is how long a customer must stay quiet after a resolved
// conversation for it to count as resolved at first contact.
const DefaultFCRWindow = 7 * 24 * time.Hour
