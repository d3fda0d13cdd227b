package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/atende/atende"
)

// memBook is an FCRBook in memory.
type memBook struct {
	rs []*Resolution
	n  int
}

func (b *memBook) Standing(tenantID, conversationID string) (*Resolution, error) {
	for _, r := range b.rs {
		if r.TenantID == tenantID && r.ConversationID == conversationID && r.Standing {
			c := *r
			return &c, nil
		}
	}
	return nil, nil
}

func (b *memBook) Unrepeated(tenantID, contactID string, since time.Time) ([]Resolution, error) {
	var out []Resolution
	for _, r := range b.rs {
		if r.TenantID == tenantID && r.ContactID == contactID && !r.ResolvedAt.Before(since) && !r.Repeated {
			out = append(out, *r)
		}
	}
	return out, nil
}

func (b *memBook) Add(r *Resolution) error {
	b.n++
	r.ID = fmt.Sprint(b.n)
	c := *r
	b.rs = append(b.rs, &c)
	return nil
}

func (b *memBook) Update(r *Resolution) error {
	for _, s := range b.rs {
		if s.ID == r.ID {
			*s = *r
			return nil
		}
	}
	return errors.New("no such resolution")
}

type fcrPolicy struct{}

func (fcrPolicy) Location(string) *time.Location { return time.UTC }
func (fcrPolicy) FCRWindow(string) time.Duration { return DefaultFCRWindow }

// TestFCRHandComputed follows four customers over two weeks and checks the
// counters against the case worked out by hand in the comments.
func TestFCRHandComputed(t *testing.T) {
	at := func(s string) time.Time { v, _ := time.Parse("2006-01-02 15:04", s); return v }
	var events []atende.Event
	conv := func(typ, when, id, contact string, ch atende.Channel, status atende.ConversationStatus, queue, agent string) {
		b, _ := json.Marshal(atende.Conversation{ID: id, ContactID: contact, Channel: ch, Status: status, QueueID: queue, AssigneeID: agent})
		events = append(events, atende.Event{ID: int64(len(events) + 1), TenantID: "t", Type: typ, Data: b, At: at(when)})
	}
	const chat, email = atende.ChannelChat, atende.ChannelEmail
	// Alice, chat: resolved at 09:20 (R1, interval 09:15); a tag change and
	// the close while resolved are the same resolution.
	conv("conversation.created", "2026-03-10 09:00", "c1", "alice", chat, atende.StatusOpen, "q1", "")
	conv("conversation.updated", "2026-03-10 09:20", "c1", "alice", chat, atende.StatusResolved, "q1", "a1")
	conv("conversation.updated", "2026-03-10 09:40", "c1", "alice", chat, atende.StatusResolved, "q1", "a1")
	conv("conversation.updated", "2026-03-10 10:00", "c1", "alice", chat, atende.StatusClosed, "q1", "a1")
	// Bob, email: resolved at 09:30 (R2).
	conv("conversation.created", "2026-03-10 09:05", "c2", "bob", email, atende.StatusOpen, "q2", "a2")
	conv("conversation.updated", "2026-03-10 09:30", "c2", "bob", email, atende.StatusResolved, "q2", "a2")
	// Carol, chat: resolved at 10:10 (R5, interval 10:00), reopened at
	// 10:20 (R5 repeated), resolved again at 10:40 (R6, interval 10:30).
	conv("conversation.created", "2026-03-10 10:00", "c4", "carol", chat, atende.StatusOpen, "q1", "a1")
	conv("conversation.updated", "2026-03-10 10:10", "c4", "carol", chat, atende.StatusResolved, "q1", "a1")
	conv("conversation.updated", "2026-03-10 10:20", "c4", "carol", chat, atende.StatusOpen, "q1", "a1")
	conv("conversation.updated", "2026-03-10 10:40", "c4", "carol", chat, atende.StatusResolved, "q1", "a1")
	// Alice writes again two days later, by email: R1 is repeated (counted
	// on the 10th, where R1 is); the new conversation resolves (R3, the 12th).
	conv("conversation.created", "2026-03-12 11:00", "c3", "alice", email, atende.StatusOpen, "q2", "")
	conv("conversation.updated", "2026-03-12 11:30", "c3", "alice", email, atende.StatusResolved, "q2", "a2")
	// Bob's conversation reopens ten days on, past the window: no repeat;
	// resolved again (R4, the 20th).
	conv("conversation.updated", "2026-03-20 10:00", "c2", "bob", email, atende.StatusOpen, "q2", "a2")
	conv("conversation.updated", "2026-03-20 10:30", "c2", "bob", email, atende.StatusResolved, "q2", "a2")
	// Alice again 13 days after R3: past the window, no repeat.
	conv("conversation.created", "2026-03-25 09:00", "c5", "alice", chat, atende.StatusOpen, "q1", "")
	// An unreadable event is passed over with ErrBadEvent.
	events = append(events, atende.Event{ID: 99, TenantID: "t", Type: "conversation.updated", Data: []byte(`{"id":`), At: at("2026-03-25 09:00")})

	book := &memBook{}
	f := &FCRFold{Policy: fcrPolicy{}}
	got := map[Key]FCRCounters{}
	for i, e := range events {
		err := f.Apply(book, e)
		if e.ID == 99 {
			if !errors.Is(err, ErrBadEvent) {
				t.Errorf("bad event: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 { // taken in batches: deltas add up
			for k, c := range f.Take() {
				g := got[k]
				g.Add(*c)
				got[k] = g
			}
		}
	}
	for k, c := range f.Take() {
		g := got[k]
		g.Add(*c)
		got[k] = g
	}
	key := func(when string, dim Dimension, id string) Key {
		return Key{TenantID: "t", Interval: at(when), Dim: dim, ID: id}
	}
	want := map[Key]FCRCounters{
		key("2026-03-10 09:15", DimChannel, "chat"):  {Resolved: 1, Repeated: 1}, // R1
		key("2026-03-10 09:15", DimQueue, "q1"):      {Resolved: 1, Repeated: 1},
		key("2026-03-10 09:15", DimAgent, "a1"):      {Resolved: 1, Repeated: 1},
		key("2026-03-10 09:30", DimChannel, "email"): {Resolved: 1}, // R2
		key("2026-03-10 09:30", DimQueue, "q2"):      {Resolved: 1},
		key("2026-03-10 09:30", DimAgent, "a2"):      {Resolved: 1},
		key("2026-03-10 10:00", DimChannel, "chat"):  {Resolved: 1, Repeated: 1}, // R5
		key("2026-03-10 10:00", DimQueue, "q1"):      {Resolved: 1, Repeated: 1},
		key("2026-03-10 10:00", DimAgent, "a1"):      {Resolved: 1, Repeated: 1},
		key("2026-03-10 10:30", DimChannel, "chat"):  {Resolved: 1}, // R6
		key("2026-03-10 10:30", DimQueue, "q1"):      {Resolved: 1},
		key("2026-03-10 10:30", DimAgent, "a1"):      {Resolved: 1},
		key("2026-03-12 11:30", DimChannel, "email"): {Resolved: 1}, // R3
		key("2026-03-12 11:30", DimQueue, "q2"):      {Resolved: 1},
		key("2026-03-12 11:30", DimAgent, "a2"):      {Resolved: 1},
		key("2026-03-20 10:30", DimChannel, "email"): {Resolved: 1}, // R4
		key("2026-03-20 10:30", DimQueue, "q2"):      {Resolved: 1},
		key("2026-03-20 10:30", DimAgent, "a2"):      {Resolved: 1},
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s %s %s: got %+v, want %+v", k.Interval.Format(time.DateTime), k.Dim, k.ID, got[k], w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok && g != (FCRCounters{}) {
			t.Errorf("unexpected %s %s %s: %+v", k.Interval.Format(time.DateTime), k.Dim, k.ID, g)
		}
	}

	// The 10th by channel, summed: 4 resolved, 2 repeated: FCR 2/4 = 50 %.
	var day FCRCounters
	for k, g := range got {
		if k.Dim == DimChannel && k.Interval.Day() == 10 {
			day.Add(g)
		}
	}
	if fcr, ok := day.FCR(); !ok || fcr != 0.5 || day.FirstContact() != 2 {
		t.Errorf("the 10th: %+v, FCR %v", day, fcr)
	}
	if _, ok := (FCRCounters{}).FCR(); ok {
		t.Error("FCR with nothing resolved reports data")
	}
}

// fakeFCRSource is an FCRSource in memory over a fixed list of events.
type fakeFCRSource struct {
	events []atende.Event
	book   memBook
	last   int64
	rows   map[Key]FCRCounters
	forgot int
}

func (s *fakeFCRSource) FCRProgress(context.Context) (int64, error) { return s.last, nil }

func (s *fakeFCRSource) EventsSince(_ context.Context, after int64, before time.Time, limit int) ([]atende.Event, error) {
	var out []atende.Event
	for _, e := range s.events {
		if e.ID > after && e.At.Before(before) && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *fakeFCRSource) FoldFCR(_ context.Context, prev, last int64, fold func(FCRBook) (map[Key]*FCRCounters, error)) error {
	if prev != s.last {
		return ErrMoved
	}
	rows, err := fold(&s.book)
	if err != nil {
		return err
	}
	for k, c := range rows {
		g := s.rows[k]
		g.Add(*c)
		s.rows[k] = g
	}
	s.last = last
	return nil
}

func (s *fakeFCRSource) ForgetFCR(context.Context, time.Time) error { s.forgot++; return nil }

// The tracker folds in batches, skips what it cannot read, and Run stops
// when its context ends.
func TestFCRTrackerStepsAndStops(t *testing.T) {
	at := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	conv := func(id int64, typ, conv, contact string, status atende.ConversationStatus) atende.Event {
		b, _ := json.Marshal(atende.Conversation{ID: conv, ContactID: contact, Channel: atende.ChannelChat, Status: status})
		return atende.Event{ID: id, TenantID: "t", Type: typ, Data: b, At: at.Add(time.Duration(id) * time.Minute)}
	}
	src := &fakeFCRSource{rows: map[Key]FCRCounters{}, events: []atende.Event{
		conv(1, "conversation.created", "c1", "alice", atende.StatusOpen),
		conv(2, "conversation.updated", "c1", "alice", atende.StatusResolved),
		{ID: 3, TenantID: "t", Type: "conversation.updated", Data: []byte(`not json`), At: at.Add(3 * time.Minute)},
		conv(4, "conversation.created", "c2", "alice", atende.StatusOpen),
	}}
	tr := &FCRTracker{Source: src, Policy: fcrPolicy{}, Batch: 2, Now: func() time.Time { return at.Add(time.Hour) }}
	ctx := context.Background()
	for _, want := range []int{2, 2, 0} {
		if n, err := tr.Step(ctx); err != nil || n != want {
			t.Fatalf("step: %d, %v; want %d", n, err, want)
		}
	}
	if got := src.rows[Key{TenantID: "t", Interval: at, Dim: DimChannel, ID: "chat"}]; got != (FCRCounters{Resolved: 1, Repeated: 1}) {
		t.Errorf("counters %+v", got)
	}
	if src.forgot != 1 {
		t.Errorf("forgot %d times within the hour", src.forgot)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		(&FCRTracker{Source: src, Policy: fcrPolicy{}, Every: time.Millisecond}).Run(ctx)
		close(done)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}

// FuzzFCRApply: whatever a conversation event holds, the fold neither
// panics nor counts a repeat it has no resolution for.
func FuzzFCRApply(f *testing.F) {
	f.Add("conversation.created", []byte(`{"id":"c1","contact_id":"a","channel":"chat","status":"open"}`))
	f.Add("conversation.updated", []byte(`{"id":"c1","contact_id":"a","channel":"chat","status":"resolved","queue_id":"q","assignee_id":"u"}`))
	f.Add("conversation.updated", []byte(`{"id":"","status":7}`))
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		book := &memBook{}
		fold := &FCRFold{Policy: fcrPolicy{}}
		at := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
		for i, e := range []atende.Event{
			{ID: 1, TenantID: "t", Type: typ, Data: data, At: at},
			{ID: 2, TenantID: "t", Type: "conversation.created", Data: data, At: at.Add(time.Minute)},
			{ID: 3, TenantID: "t", Type: "conversation.updated", Data: data, At: at.Add(2 * time.Minute)},
		} {
			if err := fold.Apply(book, e); err != nil && !errors.Is(err, ErrBadEvent) {
				t.Fatalf("event %d: %v", i, err)
			}
		}
		// Every repeat is of a resolution counted under the same key.
		for k, c := range fold.Take() {
			if c.Repeated > c.Resolved || c.Resolved > 3 {
				t.Fatalf("%v: counted %+v from three events", k, c)
			}
		}
	})
}
