package report

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/atende/atende"
)

// ErrMoved is returned by a Source's SaveStats when another node folded the
// same events first.
var ErrMoved = errors.New("statistics progress moved on")

// Source is the store as the aggregator sees it.
type Source interface {
	StatsProgress(ctx context.Context) (lastEventID int64, state []byte, err error)
	EventsSince(ctx context.Context, afterID int64, before time.Time, limit int) ([]atende.Event, error)
	SaveStats(ctx context.Context, prevID, lastID int64, state []byte, rows map[Key]*Row) error
}

// Aggregator keeps the interval statistics up to date: it folds the stored
// events in order, a batch at a time, and saves the counters with its
// progress in one transaction. Any number of nodes may run one; a batch
// another node saved first is dropped and the fold reloaded.
type Aggregator struct {
	Source Source
	Policy Policy
	Log    *slog.Logger
	// Lag keeps the fold this far behind the present, so that events
	// committed out of id order are not passed over (default 2 s).
	Lag time.Duration
	// Every is the pause between folds when there is nothing new (default 1 s).
	Every time.Duration
	// Batch is the most events folded per transaction (default 2,000).
	Batch int
	// CloseEvery is how often agents' current states are counted up to the
	// present, so that today's reports include time still running (default
	// 1 min).
	CloseEvery time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time

	fold   *Fold
	last   int64
	closed time.Time
}

func (a *Aggregator) defaults() {
	if a.Lag == 0 {
		a.Lag = 2 * time.Second
	}
	if a.Every == 0 {
		a.Every = time.Second
	}
	if a.Batch == 0 {
		a.Batch = 2000
	}
	if a.CloseEvery == 0 {
		a.CloseEvery = time.Minute
	}
	if a.Now == nil {
		a.Now = time.Now
	}
	if a.Log == nil {
		a.Log = slog.New(slog.DiscardHandler)
	}
}

// Step folds the next batch of events, closes agents' current states at the
// cut-off time, and saves. It returns how many events it folded.
func (a *Aggregator) Step(ctx context.Context) (int, error) {
	a.defaults()
	if a.fold == nil {
		last, state, err := a.Source.StatsProgress(ctx)
		if err != nil {
			return 0, err
		}
		f, err := NewFold(a.Policy, state)
		if err != nil {
			return 0, err
		}
		a.fold, a.last = f, last
	}
	cutoff := a.Now().Add(-a.Lag)
	events, err := a.Source.EventsSince(ctx, a.last, cutoff, a.Batch)
	if err != nil {
		return 0, err
	}
	for _, e := range events {
		if err := a.fold.Apply(e); err != nil {
			// A payload the fold cannot read is logged and passed over,
			// never allowed to stop the statistics of every tenant.
			a.Log.Warn("statistics: event skipped", "event", e.ID, "type", e.Type, "err", err)
		}
	}
	if len(events) < a.Batch && cutoff.Sub(a.closed) >= a.CloseEvery {
		// Everything up to the cut-off is folded: agents' states so far count.
		a.fold.Close(cutoff)
		a.closed = cutoff
	}
	last := a.last
	if len(events) > 0 {
		last = events[len(events)-1].ID
	}
	rows := a.fold.Take()
	if len(rows) == 0 && last == a.last {
		return 0, nil
	}
	state, err := a.fold.State()
	if err != nil {
		return 0, err
	}
	if err := a.Source.SaveStats(ctx, a.last, last, state, rows); err != nil {
		a.fold = nil // reload: another node moved on, or the save failed
		return 0, err
	}
	a.last = last
	return len(events), nil
}

// Run folds until ctx ends.
func (a *Aggregator) Run(ctx context.Context) {
	a.defaults()
	for {
		n, err := a.Step(ctx)
		if err != nil && !errors.Is(err, ErrMoved) && ctx.Err() == nil {
			a.Log.Error("statistics fold", "err", err)
		}
		if n == a.Batch {
			continue // more waiting
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(a.Every):
		}
	}
}
