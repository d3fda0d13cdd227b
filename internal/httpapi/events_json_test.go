package httpapi

import (
	"encoding/json"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/atende/atende"
)

func TestEventJSONEncodesAnEventOnceForEveryStream(t *testing.T) {
	c := newEventJSON(2)
	e := atende.Event{ID: 7, TenantID: "t1", Type: "conversation.updated", Subject: "c1", Data: json.RawMessage(`{"a": 1}`)}
	first, err := c.encode(e)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(e)
	if string(first) != string(want) {
		t.Fatalf("encoded %s, want %s", first, want)
	}
	again, _ := c.encode(e)
	if &again[0] != &first[0] {
		t.Error("the same event was encoded twice")
	}
	// Another tenant's event with the same id is another event.
	other := e
	other.TenantID, other.Subject = "t2", "c2"
	b, _ := c.encode(other)
	if &b[0] == &first[0] || !json.Valid(b) || string(b) == string(first) {
		t.Errorf("another tenant's event got %s", b)
	}
}

func TestEventJSONForgetsTheOldestAndNeverSharesTransientEvents(t *testing.T) {
	c := newEventJSON(2)
	ev := func(id int64) atende.Event {
		return atende.Event{ID: id, TenantID: "t1", Type: "x", Data: json.RawMessage(`{}`)}
	}
	b1, _ := c.encode(ev(1))
	c.encode(ev(2))
	c.encode(ev(3)) // replaces 1
	if len(c.byID) != 2 {
		t.Fatalf("%d encodings kept, want 2", len(c.byID))
	}
	if _, ok := c.byID[eventKey{"t1", 1}]; ok {
		t.Error("the oldest encoding is still kept")
	}
	again, _ := c.encode(ev(1))
	if &again[0] == &b1[0] || string(again) != string(b1) {
		t.Errorf("a forgotten event encodes to %s (shared: %v), want %s afresh", again, &again[0] == &b1[0], b1)
	}
	typing := atende.Event{TenantID: "t1", Type: "chat.typing", Data: json.RawMessage(`{"typing":true}`)}
	t1, _ := c.encode(typing)
	t2, _ := c.encode(typing)
	if &t1[0] == &t2[0] {
		t.Error("a transient event (id 0) was shared")
	}
}

// recordingConn records each write that would reach the socket.
type recordingConn struct {
	net.Conn
	writes    []string
	deadlines int
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, string(p))
	return len(p), nil
}

func (c *recordingConn) SetWriteDeadline(time.Time) error {
	c.deadlines++
	return nil
}

func TestBatchWriterWritesHeldFramesInOneGo(t *testing.T) {
	conn := &recordingConn{}
	b := &batchWriter{conn: conn}
	b.Write([]byte("alone"))
	b.hold()
	b.Write([]byte("one,"))
	b.Write([]byte("two,"))
	b.Write([]byte("three"))
	if len(conn.writes) != 1 {
		t.Fatalf("writes while holding reached the socket: %q", conn.writes)
	}
	if err := b.release(time.Second); err != nil {
		t.Fatal(err)
	}
	b.Write([]byte("after"))
	want := []string{"alone", "one,two,three", "after"}
	if !slices.Equal(conn.writes, want) {
		t.Fatalf("socket writes %q, want %q", conn.writes, want)
	}
	if conn.deadlines != 2 { // set and cleared around the held write
		t.Errorf("%d deadline changes, want 2", conn.deadlines)
	}
	// Releasing with nothing held writes nothing.
	b.hold()
	if err := b.release(time.Second); err != nil || len(conn.writes) != 3 {
		t.Errorf("empty release: %v, writes %q", err, conn.writes)
	}
}
