// Package flow runs IVR call flows (atende.Flow) against a call: it walks the
// flow's nodes, plays prompts, reads DTMF, looks data up, and ends by
// handing the call to a queue, a voicemail, a callback, an outside number
// or a hang-up. The call itself is a small interface, so the same
// interpreter drives a real SIP dialog (see DiagoCall) and the scripted
// calls of tests.
package flow

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/voice/prompts"
	"github.com/atende/atende/internal/webhook"
	"github.com/prometheus/client_golang/prometheus"
)

// ErrHangup is what a Call returns once the caller has hung up.
var ErrHangup = errors.New("the caller hung up")

// Call is the interpreter's view of one live call.
type Call interface {
	// Play plays the prompts in order. A DTMF key pressed while they play
	// stops them (barge-in) and is returned; "" when they played to the end.
	Play(ctx context.Context, ps ...prompts.Ref) (string, error)
	// ReadDigits waits for up to max keys, each within timeout of the last;
	// terminator ("" for none) ends the entry early and is not returned.
	// It returns what was typed, "" when nothing was.
	ReadDigits(ctx context.Context, max int, timeout time.Duration, terminator string) (string, error)
	// SetLanguage records the call's language (es, pt-BR or en).
	SetLanguage(lang string)
	// Hangup ends the call.
	Hangup(ctx context.Context) error
	// Transfer sends the call to an outside number (E.164) and returns once
	// it is handed over.
	Transfer(ctx context.Context, number string) error
	// Enqueue hands the call to a queue and returns when the queue is done
	// with it: an agent answered and their conversation is over, the caller
	// left, or the queue's own actions (max wait, closed, full) decided
	// something else.
	Enqueue(ctx context.Context, r QueueRequest) (QueueOutcome, error)
	// RecordVoicemail records the caller for at most maxSec seconds and
	// returns the stored recording's media id.
	RecordVoicemail(ctx context.Context, maxSec int) (string, error)
	// OfferCallback registers a callback to the caller that keeps the
	// call's place in the queue.
	OfferCallback(ctx context.Context, queueID string) error
}

// QueueRequest is a task for a queue made from a call.
type QueueRequest struct {
	QueueID  string
	Skills   []atende.RequiredSkill
	Priority int
	Language string
	Vars     map[string]string // the flow's variables, for the agent's screen-pop
}

// QueueOutcome is how a queue finished with a call.
type QueueOutcome string

// Queue outcomes.
const (
	QueueAnswered  QueueOutcome = "answered"  // an agent took the call; the flow is done
	QueueHangup    QueueOutcome = "hangup"    // the caller left while waiting
	QueueCallback  QueueOutcome = "callback"  // the caller took a callback that keeps the place
	QueueVoicemail QueueOutcome = "voicemail" // the queue's action sends the caller to voicemail
	QueueFailed    QueueOutcome = "failed"    // the queue refused the call (full, closed, reject)
)

// Outcome is how a flow ended.
type Outcome string

// Flow outcomes.
const (
	OutcomeHangup       Outcome = "hangup"        // a hangup node or the flow's end
	OutcomeCallerHangup Outcome = "caller_hangup" // the caller hung up first
	OutcomeAnswered     Outcome = "answered"      // an agent took the call from a queue
	OutcomeTransferred  Outcome = "transferred"
	OutcomeCallback     Outcome = "callback"
	OutcomeVoicemail    Outcome = "voicemail"
	OutcomeStepLimit    Outcome = "step_limit" // the flow looped past the step limit
	OutcomeError        Outcome = "error"
)

// Step is one visit of a node, kept in the call's record.
type Step struct {
	Node       string          `json:"node"`
	Kind       atende.NodeKind `json:"kind"`
	At         time.Time       `json:"at"`
	DurationMS int64           `json:"duration_ms"`
	// Result is the way out taken: "next", a branch name, "option:<key>",
	// or "end"; Detail adds what the caller typed or what failed.
	Result string `json:"result"`
	Detail string `json:"detail,omitempty"`
}

// Result is what a run of a flow leaves for the call's record.
type Result struct {
	Outcome     Outcome           `json:"outcome"`
	Language    string            `json:"language"`
	Vars        map[string]string `json:"vars"`
	Trace       []Step            `json:"trace"`
	Visits      map[string]int    `json:"visits"`
	VoicemailID string            `json:"voicemail_id,omitempty"`
	QueueID     string            `json:"queue_id,omitempty"`
	Error       string            `json:"error,omitempty"`
}

// Input is what the voice channel knows about a call before its flow runs.
type Input struct {
	CallID   string
	Caller   string // E.164 when known
	Called   string // the DID dialled
	Location *time.Location
	// Calendar returns a queue's business hours, for hours nodes that name
	// a queue; nil makes them take their closed branch.
	Calendar func(ctx context.Context, queueID string) (*atende.Calendar, error)
}

// DefaultMaxSteps bounds the nodes one call may visit, so a flow that loops
// (a menu leading back to itself forever) ends.
const DefaultMaxSteps = 200

// Engine runs flows. Its zero value works with no HTTP lookups (they take
// their error branch) and no metrics.
type Engine struct {
	// HTTP makes the lookups of http nodes; build it with webhook.NewClient
	// so it only connects to public addresses.
	HTTP *http.Client
	// Guard checks an http node's host before each lookup.
	Guard    *webhook.Guard
	Clock    atende.Clock
	MaxSteps int
	Metrics  *Metrics
	Log      *slog.Logger
}

// Metrics count node visits and their time, by node kind and result.
type Metrics struct {
	visits   *prometheus.CounterVec
	duration *prometheus.HistogramVec
	outcomes *prometheus.CounterVec
}

// NewMetrics registers the flow metrics with reg (which may be nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		visits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atende_flow_node_visits_total",
			Help: "IVR flow node visits, by node kind and the way out taken.",
		}, []string{"kind", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "atende_flow_node_duration_seconds",
			Help:    "Time callers spend in IVR flow nodes, by node kind.",
			Buckets: []float64{.01, .1, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"kind"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atende_flow_outcomes_total",
			Help: "IVR flow runs, by how they ended.",
		}, []string{"outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.visits, m.duration, m.outcomes)
	}
	return m
}
