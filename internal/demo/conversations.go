package demo

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/atende/atende"
)

// outcome is where a demo conversation is left.
type outcome int

const (
	outcomeWaiting  outcome = iota // in a queue, nobody assigned yet
	outcomeOpen                    // an agent is on it, mid-conversation
	outcomePending                 // escalated or a callback is due
	outcomeResolved                // wrapped up, may reopen
	outcomeClosed                  // done for good
)

// convPlan is one conversation to write, decided before any is written so
// that the random draws do not depend on what the store returns.
type convPlan struct {
	contact  *seedContact
	sc       *script
	channel  atende.Channel
	age      int // days ago; older ones are written first
	outcome  outcome
	lines    []line
	queue    *seedQueue
	assignee *seedUser
	note     bool
	followUp atende.Channel // "" or the other channel a confirmation goes out on
}

// channelWeights say how often customers pick each channel.
var channelWeights = map[atende.Channel]int{
	atende.ChannelVoice: 4, atende.ChannelChat: 4, atende.ChannelEmail: 2, atende.ChannelSocial: 3, atende.ChannelSMS: 1,
}

func (sd *seeder) seedConversations(ctx context.Context) error {
	plans := make([]*convPlan, 0, conversationCount)
	for i := range conversationCount {
		c := sd.contacts[i%len(sd.contacts)]
		if i >= len(sd.contacts) {
			c = pick(sd.rng, sd.contacts)
		}
		plans = append(plans, sd.planConversation(c))
	}
	// Oldest first, so the protocol numbers and ids follow the story.
	slices.SortStableFunc(plans, func(a, b *convPlan) int { return b.age - a.age })
	for _, p := range plans {
		if err := sd.writeConversation(ctx, p); err != nil {
			return fmt.Errorf("%s for %s: %w", p.sc.subject, p.contact.fullName(), err)
		}
	}
	return nil
}

func (sd *seeder) planConversation(c *seedContact) *convPlan {
	rng := sd.rng
	// A script the contact can have on one of their channels.
	var fits []*script
	var weights []int
	for i := range scripts[c.lang] {
		s := &scripts[c.lang][i]
		if len(usable(s, c)) > 0 {
			fits = append(fits, s)
			weights = append(weights, s.weight)
		}
	}
	p := &convPlan{contact: c, sc: fits[weighted(rng, weights)], age: rng.IntN(historyDays)}
	chans := usable(p.sc, c)
	cw := make([]int, len(chans))
	for i, ch := range chans {
		cw[i] = channelWeights[ch]
	}
	p.channel = chans[weighted(rng, cw)]
	p.queue = sd.queueFor(c.lang, p.sc.topic, p.channel)
	p.assignee = pick(rng, p.queue.agents)

	disp := sd.dispositions[p.sc.disposition]
	switch {
	case p.age <= 2 && chance(rng, 0.6):
		p.outcome = outcomeOpen
		if chance(rng, 0.35) {
			p.outcome = outcomeWaiting
		}
	case !disp.Resolves:
		p.outcome = outcomePending
	case p.age < 3 || chance(rng, 0.2):
		p.outcome = outcomeResolved
	default:
		p.outcome = outcomeClosed
	}
	switch p.outcome {
	case outcomeWaiting:
		p.assignee = nil
		p.lines = []line{p.sc.lines[0], cust(langPhrases[c.lang].nudge)}
	case outcomeOpen:
		n := len(p.sc.lines) - 1
		if n > 2 {
			n = 2 + rng.IntN(n-1)
		}
		p.lines = p.sc.lines[:n]
	default:
		p.lines = p.sc.lines
		if chance(rng, 0.25) {
			var other []atende.Channel
			for _, ch := range []atende.Channel{atende.ChannelEmail, atende.ChannelSMS} {
				if ch != p.channel && slices.Contains(c.channels, ch) {
					other = append(other, ch)
				}
			}
			if len(other) > 0 {
				p.followUp = pick(rng, other)
			}
		}
	}
	p.note = p.outcome != outcomeWaiting && p.sc.note != "" && chance(rng, 0.6)
	return p
}

// usable lists the channels a script can happen on with this contact.
func usable(s *script, c *seedContact) []atende.Channel {
	if s.channels == nil {
		return c.channels
	}
	var out []atende.Channel
	for _, ch := range c.channels {
		if slices.Contains(s.channels, ch) {
			out = append(out, ch)
		}
	}
	return out
}

func (sd *seeder) writeConversation(ctx context.Context, p *convPlan) error {
	a := sd.actor
	conv := &atende.Conversation{
		ContactID: p.contact.c.ID,
		Subject:   p.sc.subject,
		Channel:   p.channel,
		Status:    atende.StatusOpen,
		QueueID:   p.queue.q.ID,
		Tags:      slices.Clone(p.sc.tags),
	}
	if p.assignee != nil {
		conv.AssigneeID = p.assignee.user.ID
	}
	if slices.Contains(p.contact.c.Tags, "vip") {
		conv.Priority += 20
		conv.Tags = append(conv.Tags, "vip")
	}
	if p.sc.topic == topicRetention {
		conv.Priority += 10
	}
	if err := sd.s.CreateConversation(ctx, a, conv, sd.message(p, p.lines[0], p.channel, "")); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	for _, l := range p.lines[1:] {
		if _, _, err := sd.s.AppendMessage(ctx, a, conv.ID, sd.message(p, l, p.channel, conv.Protocol)); err != nil {
			return fmt.Errorf("append: %w", err)
		}
	}
	if p.followUp != "" {
		l := agent(langPhrases[p.contact.lang].followUp)
		if _, _, err := sd.s.AppendMessage(ctx, a, conv.ID, sd.message(p, l, p.followUp, conv.Protocol)); err != nil {
			return fmt.Errorf("append follow-up: %w", err)
		}
	}
	if p.note {
		note := &atende.TimelineEvent{Kind: atende.KindNote, AuthorKind: "user", AuthorID: p.assignee.user.ID, Body: p.sc.note}
		if _, _, err := sd.s.AppendMessage(ctx, a, conv.ID, note); err != nil {
			return fmt.Errorf("append note: %w", err)
		}
	}
	if p.outcome == outcomeWaiting || p.outcome == outcomeOpen {
		return nil
	}
	disp := sd.dispositions[p.sc.disposition]
	if _, err := sd.s.SetDisposition(ctx, a, conv.ID, disp.ID, p.sc.dispNote); err != nil {
		return fmt.Errorf("disposition %s: %w", disp.Code, err)
	}
	var final atende.ConversationStatus
	switch p.outcome {
	case outcomePending:
		final = atende.StatusPending
	case outcomeClosed:
		final = atende.StatusClosed
	default:
		return nil
	}
	if _, err := sd.s.UpdateConversation(ctx, a, conv.ID, 0, func(c *atende.Conversation) error {
		c.Status = final
		return nil
	}); err != nil {
		return fmt.Errorf("set status %s: %w", final, err)
	}
	return nil
}

// message renders a script line as the timeline entry it becomes on ch.
func (sd *seeder) message(p *convPlan, l line, ch atende.Channel, protocol string) *atende.TimelineEvent {
	agentName := ""
	if p.assignee != nil {
		agentName = p.assignee.first()
	}
	body := strings.NewReplacer(
		"{first}", p.contact.p.first,
		"{agent}", agentName,
		"{customer_id}", p.contact.customerID,
		"{protocol}", protocol,
	).Replace(l.text)
	e := &atende.TimelineEvent{Kind: atende.KindMessage, Channel: ch, Body: body}
	if l.in {
		e.Direction, e.AuthorKind, e.AuthorID = atende.DirectionIn, "contact", p.contact.c.ID
		if ch == atende.ChannelEmail {
			e.Body += "\n\n" + p.contact.fullName()
		}
		return e
	}
	e.Direction, e.AuthorKind, e.AuthorID = atende.DirectionOut, "user", p.assignee.user.ID
	if ch == atende.ChannelEmail {
		e.Body += "\n\n" + p.assignee.name + "\n" + langPhrases[p.contact.lang].signOff
	}
	return e
}
