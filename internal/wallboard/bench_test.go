package wallboard

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/atende/atende"
)

// benchModel is a loaded model of 1,000 agents in 10 teams and 100 queues,
// each served by one team (100 agents a queue, 10 queues an agent).
func benchModel(b *testing.B) *Model {
	src := newSource(0)
	src.cfg.Queues = nil
	for t := range 10 {
		src.cfg.Teams = append(src.cfg.Teams, TeamSummary{ID: fmt.Sprintf("00000000-0000-7000-8000-%012d", 3000+t), Name: fmt.Sprintf("Team %d", t)})
	}
	for i := range 100 {
		src.cfg.Queues = append(src.cfg.Queues, atende.Queue{ID: queueID(i), Name: fmt.Sprintf("Queue %03d", i), Channels: []atende.Channel{atende.ChannelChat},
			SLTargetPct: 80, SLThresholdSec: 20, TeamIDs: []string{src.cfg.Teams[i%10].ID}})
	}
	for i := range 1000 {
		src.cfg.Agents = append(src.cfg.Agents, AgentConfig{ID: agentID(i), Name: fmt.Sprintf("Agent %04d", i), TeamIDs: []string{src.cfg.Teams[i%10].ID},
			Capacity: atende.Capacity{atende.ChannelChat: 3}, Status: atende.StatusAvailable, Since: time.Now()})
	}
	m := newModel(HubConfig{Source: src, Now: time.Now, FrameEvery: 500 * time.Millisecond}, tenant)
	if err := m.load(context.Background()); err != nil {
		b.Fatal(err)
	}
	m.build()
	return m
}

// BenchmarkApplyAgentEvent is the model's cost of one agent state change
// (decode and count) at 1,000 agents and 100 queues.
func BenchmarkApplyAgentEvent(b *testing.B) {
	m := benchModel(b)
	now := time.Now()
	evs := make([]atende.Event, 1000)
	for i := range evs {
		s := atende.StatusAway
		if i%2 == 1 {
			s = atende.StatusAvailable
		}
		evs[i] = agentEvent(int64(i+1), agentID(i), s, now)
	}
	b.ResetTimer()
	for i := range b.N {
		e := evs[i%len(evs)]
		e.ID = int64(i + 1)
		m.apply(e)
	}
}

// BenchmarkFrameAfterHalfASecond is the cost of one frame at 200 events/s:
// 100 agents changed since the last frame; the frame is built and encoded
// whole for one wallboard.
func BenchmarkFrameAfterHalfASecond(b *testing.B) {
	m := benchModel(b)
	now := time.Now()
	var buf []byte
	b.ResetTimer()
	for i := range b.N {
		for j := range 100 {
			s := atende.StatusAway
			if i%2 == 1 {
				s = atende.StatusAvailable
			}
			m.apply(agentEvent(int64(i*100+j+1), agentID((i*100+j)%1000), s, now))
		}
		f := m.build()
		buf = f.AppendJSON(buf[:0], Selection{}, "snapshot")
	}
	b.ReportMetric(float64(len(buf)), "frame_bytes")
}
