package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/atende/atende"
)

// First-contact resolution is kept incrementally, like the other interval
// statistics, but it cannot live in the fold's memory: whether a resolution
// was "at first contact" is only known once the window after it (7 days by
// default) has passed without the customer coming back, and a week of
// resolutions is far too much to carry in the fold's state. So the
// resolutions still inside their window are kept in the store (an FCRBook),
// and the counters are added as things happen:
//
//   - a conversation that becomes resolved (or closed) from open or pending
//     adds one to Resolved in the interval it was resolved in, for its queue,
//     channel and agent;
//   - when the same customer comes back within the window (a new
//     conversation on any channel, or the resolved conversation reopening),
//     that earlier resolution adds one to Repeated, in the interval of the
//     resolution, not of the return.
//
// So FCR of an interval = (Resolved − Repeated) / Resolved, and an interval
// less than a window old is provisional: its FCR can still go down.

// FCRCounters are the first-contact resolution sums of an interval.
type FCRCounters struct {
	Resolved int64 `json:"resolved"` // conversations resolved in the interval
	Repeated int64 `json:"repeated"` // of those, followed by a repeat contact within the window
}

// Add folds o into c.
func (c *FCRCounters) Add(o FCRCounters) {
	c.Resolved += o.Resolved
	c.Repeated += o.Repeated
}

// FirstContact is the resolutions with no repeat contact (so far).
func (c FCRCounters) FirstContact() int64 { return c.Resolved - c.Repeated }

// FCR is FirstContact / Resolved.
func (c FCRCounters) FCR() (float64, bool) { return FCR(c.Resolved, c.FirstContact()) }

// Resolution is one resolved conversation, remembered while a repeat
// contact can still count against it.
type Resolution struct {
	ID             string
	TenantID       string
	ConversationID string
	ContactID      string
	ResolvedAt     time.Time
	Interval       time.Time // the interval its counters went to
	QueueID        string
	AgentID        string
	Channel        atende.Channel
	// Standing: the conversation has stayed resolved (or closed) since.
	Standing bool
	// Repeated: a repeat contact was counted against it.
	Repeated bool
}

// FCRBook is the store of resolutions as the FCR fold sees it, inside the
// transaction that saves what the fold adds.
type FCRBook interface {
	// Standing is the conversation's resolution that still stands, or nil.
	Standing(tenantID, conversationID string) (*Resolution, error)
	// Unrepeated lists the contact's resolutions at or after since with no
	// repeat counted yet.
	Unrepeated(tenantID, contactID string, since time.Time) ([]Resolution, error)
	// Add stores a new resolution (its ID is set).
	Add(r *Resolution) error
	// Update saves a resolution's Standing and Repeated.
	Update(r *Resolution) error
}

// FCRPolicy is what the FCR fold needs of a tenant's configuration.
type FCRPolicy interface {
	Location(tenantID string) *time.Location
	// FCRWindow is how long after a resolution a new contact from the same
	// customer counts as a repeat.
	FCRWindow(tenantID string) time.Duration
}

// FCRFold turns conversation events into FCR counters, reading and writing
// the resolutions in a book. It keeps no memory between batches besides the
// rows not yet taken.
type FCRFold struct {
	Policy FCRPolicy
	rows   map[Key]*FCRCounters
}

// Take returns the counters added since the last Take and forgets them.
func (f *FCRFold) Take() map[Key]*FCRCounters {
	out := f.rows
	f.rows = nil
	return out
}

func (f *FCRFold) add(r *Resolution, do func(c *FCRCounters)) {
	if f.rows == nil {
		f.rows = map[Key]*FCRCounters{}
	}
	for _, k := range []struct {
		dim Dimension
		id  string
	}{{DimChannel, string(r.Channel)}, {DimQueue, r.QueueID}, {DimAgent, r.AgentID}} {
		if k.id == "" {
			continue
		}
		key := Key{TenantID: r.TenantID, Interval: r.Interval, Dim: k.dim, ID: k.id}
		c := f.rows[key]
		if c == nil {
			c = &FCRCounters{}
			f.rows[key] = c
		}
		do(c)
	}
}

// ErrBadEvent wraps an event the FCR fold cannot read: it is passed over,
// unlike an error of the book, which stops the batch.
var ErrBadEvent = errors.New("unreadable event")

// Apply folds one event; events other than a conversation's creation and
// updates are ignored.
func (f *FCRFold) Apply(book FCRBook, e atende.Event) error {
	if e.Type != "conversation.created" && e.Type != "conversation.updated" {
		return nil
	}
	var c struct {
		ID         string                    `json:"id"`
		ContactID  string                    `json:"contact_id"`
		Channel    atende.Channel            `json:"channel"`
		Status     atende.ConversationStatus `json:"status"`
		AssigneeID string                    `json:"assignee_id"`
		QueueID    string                    `json:"queue_id"`
	}
	if err := json.Unmarshal(e.Data, &c); err != nil || c.ID == "" {
		return fmt.Errorf("%w: event %d %s: %v", ErrBadEvent, e.ID, e.Type, err)
	}
	window := f.Policy.FCRWindow(e.TenantID)
	if e.Type == "conversation.created" && c.ContactID != "" {
		// A new contact from the customer: a repeat for every resolution
		// of theirs within the window.
		rs, err := book.Unrepeated(e.TenantID, c.ContactID, e.At.Add(-window))
		if err != nil {
			return err
		}
		for i := range rs {
			r := &rs[i]
			if r.ConversationID == c.ID || r.ResolvedAt.After(e.At) {
				continue
			}
			if err := f.repeat(book, r); err != nil {
				return err
			}
		}
	}
	resolved := c.Status == atende.StatusResolved || c.Status == atende.StatusClosed
	standing, err := book.Standing(e.TenantID, c.ID)
	if err != nil {
		return err
	}
	switch {
	case resolved && standing == nil:
		r := &Resolution{TenantID: e.TenantID, ConversationID: c.ID, ContactID: c.ContactID, ResolvedAt: e.At,
			Interval: IntervalStart(e.At, f.Policy.Location(e.TenantID)), QueueID: c.QueueID, AgentID: c.AssigneeID,
			Channel: c.Channel, Standing: true}
		if err := book.Add(r); err != nil {
			return err
		}
		f.add(r, func(fc *FCRCounters) { fc.Resolved++ })
	case !resolved && standing != nil:
		// Reopened: the resolution did not hold if it is within the window.
		standing.Standing = false
		if !standing.Repeated && !e.At.After(standing.ResolvedAt.Add(window)) {
			return f.repeat(book, standing)
		}
		return book.Update(standing)
	}
	return nil
}

func (f *FCRFold) repeat(book FCRBook, r *Resolution) error {
	r.Repeated = true
	if err := book.Update(r); err != nil {
		return err
	}
	f.add(r, func(fc *FCRCounters) { fc.Repeated++ })
	return nil
}

// FCRSource is the store as the FCR tracker sees it.
type FCRSource interface {
	FCRProgress(ctx context.Context) (int64, error)
	EventsSince(ctx context.Context, afterID int64, before time.Time, limit int) ([]atende.Event, error)
	// FoldFCR runs fold in one transaction with a book of that
	// transaction, adds the counters it returns and moves the progress from
	// prevID to lastID; ErrMoved when another node did that stretch first.
	FoldFCR(ctx context.Context, prevID, lastID int64, fold func(FCRBook) (map[Key]*FCRCounters, error)) error
	// ForgetFCR drops resolutions that no longer stand and were resolved
	// before 'before': no repeat can count against them any more.
	ForgetFCR(ctx context.Context, before time.Time) error
}

// FCRTracker keeps the first-contact resolution counters up to date from
// the stored events, as Aggregator does for the other statistics.
type FCRTracker struct {
	Source FCRSource
	Policy FCRPolicy
	Log    *slog.Logger
	Lag    time.Duration // default 2 s, as Aggregator
	Every  time.Duration // default 1 s
	Batch  int           // default 2,000
	// Keep is how long resolutions that no longer stand are kept: at least
	// the longest window of any tenant (default 2 × DefaultFCRWindow).
	Keep time.Duration
	Now  func() time.Time

	last      int64
	loaded    bool
	forgotten time.Time
}

func (t *FCRTracker) defaults() {
	if t.Lag == 0 {
		t.Lag = 2 * time.Second
	}
	if t.Every == 0 {
		t.Every = time.Second
	}
	if t.Batch == 0 {
		t.Batch = 2000
	}
	if t.Keep == 0 {
		t.Keep = 2 * DefaultFCRWindow
	}
	if t.Now == nil {
		t.Now = time.Now
	}
	if t.Log == nil {
		t.Log = slog.New(slog.DiscardHandler)
	}
}

// Step folds the next batch of events and returns how many it folded.
func (t *FCRTracker) Step(ctx context.Context) (int, error) {
	t.defaults()
	if !t.loaded {
		last, err := t.Source.FCRProgress(ctx)
		if err != nil {
			return 0, err
		}
		t.last, t.loaded = last, true
	}
	now := t.Now()
	if now.Sub(t.forgotten) >= time.Hour {
		if err := t.Source.ForgetFCR(ctx, now.Add(-t.Keep)); err != nil {
			return 0, err
		}
		t.forgotten = now
	}
	events, err := t.Source.EventsSince(ctx, t.last, now.Add(-t.Lag), t.Batch)
	if err != nil || len(events) == 0 {
		return 0, err
	}
	last := events[len(events)-1].ID
	err = t.Source.FoldFCR(ctx, t.last, last, func(book FCRBook) (map[Key]*FCRCounters, error) {
		f := &FCRFold{Policy: t.Policy}
		for _, e := range events {
			if err := f.Apply(book, e); errors.Is(err, ErrBadEvent) {
				t.Log.Warn("first-contact resolution: event skipped", "event", e.ID, "type", e.Type, "err", err)
			} else if err != nil {
				return nil, err
			}
		}
		return f.Take(), nil
	})
	if err != nil {
		t.loaded = false // reload the progress: another node moved on, or the save failed
		return 0, err
	}
	t.last = last
	return len(events), nil
}

// Run folds until ctx ends.
func (t *FCRTracker) Run(ctx context.Context) {
	t.defaults()
	for {
		n, err := t.Step(ctx)
		if err != nil && !errors.Is(err, ErrMoved) && ctx.Err() == nil {
			t.Log.Error("first-contact resolution fold", "err", err)
		}
		if n == t.Batch {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(t.Every):
		}
	}
}
