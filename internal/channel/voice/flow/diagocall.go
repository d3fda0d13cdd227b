package flow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atende/atende/internal/channel/voice/prompts"
	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
)

// Dialog is the part of an answered diago dialog a DiagoCall uses;
// *diago.DialogServerSession has it.
type Dialog interface {
	Context() context.Context
	Hangup(ctx context.Context) error
}

// Services carry out what a call asks of the rest of atende: queues,
// voicemail storage, callbacks, transfers and tenants' uploaded prompts.
// A nil service makes its action fail, and the flow takes its failure way.
type Services struct {
	Enqueue         func(ctx context.Context, r QueueRequest) (QueueOutcome, error)
	RecordVoicemail func(ctx context.Context, m *diago.DialogMedia, maxSec int) (string, error)
	OfferCallback   func(ctx context.Context, queueID string) error
	Transfer        func(ctx context.Context, number string) error
	// Upload returns a tenant's uploaded prompt (8 kHz mono 16-bit WAV).
	Upload func(ctx context.Context, mediaID string) ([]byte, error)
}

// errNoService is what an action without its service fails with.
var errNoService = errors.New("not available on this call")

// DiagoCall is a Call over an answered diago dialog: prompts are played as
// RTP in the negotiated codec, and DTMF is read as RFC 4733 telephone
// events.
type DiagoCall struct {
	dialog   Dialog
	media    *diago.DialogMedia
	services Services
	keys     chan rune
	done     chan struct{} // closed when the media stops (the call ended)
	lang     atomic.Value
	hangOnce sync.Once
	// FramesRead counts the caller's audio reads, for the call's statistics.
	FramesRead atomic.Int64
}

// NewDiagoCall starts reading the caller's audio and DTMF on an answered
// dialog's media. The reader stops when the media closes.
func NewDiagoCall(d Dialog, m *diago.DialogMedia, s Services) (*DiagoCall, error) {
	r, err := m.AudioReaderDTMF()
	if err != nil {
		return nil, fmt.Errorf("read DTMF: %w", err)
	}
	c := &DiagoCall{dialog: d, media: m, services: s, keys: make(chan rune, 32), done: make(chan struct{})}
	r.OnDTMF(func(k rune) error {
		select {
		case c.keys <- k:
		default: // a caller pressing keys far faster than the flow listens loses the excess
		}
		return nil
	})
	go func() {
		defer close(c.done)
		buf := make([]byte, media.RTPBufSize)
		for {
			if _, err := r.Read(buf); err != nil {
				return
			}
			c.FramesRead.Add(1)
		}
	}()
	return c, nil
}

// Done is closed when the call's media has stopped.
func (c *DiagoCall) Done() <-chan struct{} { return c.done }

func (c *DiagoCall) gone(ctx context.Context) error {
	if c.dialog.Context().Err() != nil {
		return ErrHangup
	}
	select {
	case <-c.done:
		return ErrHangup
	default:
	}
	return ctx.Err()
}

// Play implements Call.
func (c *DiagoCall) Play(ctx context.Context, ps ...prompts.Ref) (string, error) {
	for _, p := range ps {
		if err := c.gone(ctx); err != nil {
			return "", err
		}
		wav, err := c.wav(ctx, p)
		if err != nil {
			continue // a missing prompt is skipped, the call goes on
		}
		pb, err := c.media.PlaybackControlCreate()
		if err != nil {
			return "", fmt.Errorf("playback: %w", err)
		}
		finished := make(chan error, 1)
		go func() {
			_, err := pb.Play(bytes.NewReader(wav), "audio/wav")
			finished <- err
		}()
		select {
		case err := <-finished:
			if err != nil && c.gone(ctx) != nil {
				return "", c.gone(ctx)
			}
		case k := <-c.keys:
			pb.Stop()
			<-finished
			return string(k), nil
		case <-ctx.Done():
			pb.Stop()
			<-finished
			return "", c.gone(ctx)
		case <-c.dialog.Context().Done():
			pb.Stop()
			<-finished
			return "", ErrHangup
		}
	}
	return "", nil
}

func (c *DiagoCall) wav(ctx context.Context, p prompts.Ref) ([]byte, error) {
	if p.MediaID != "" {
		if c.services.Upload == nil {
			return nil, errNoService
		}
		return c.services.Upload(ctx, p.MediaID)
	}
	return prompts.WAV(p.Lang, p.ID)
}

// ReadDigits implements Call.
func (c *DiagoCall) ReadDigits(ctx context.Context, max int, timeout time.Duration, terminator string) (string, error) {
	var got []rune
	t := time.NewTimer(timeout)
	defer t.Stop()
	for len(got) < max {
		select {
		case k := <-c.keys:
			if terminator != "" && string(k) == terminator {
				return string(got), nil
			}
			got = append(got, k)
			t.Reset(timeout)
		case <-t.C:
			return string(got), nil
		case <-c.done:
			return "", ErrHangup
		case <-c.dialog.Context().Done():
			return "", ErrHangup
		case <-ctx.Done():
			return "", c.gone(ctx)
		}
	}
	return string(got), nil
}

// SetLanguage implements Call.
func (c *DiagoCall) SetLanguage(lang string) { c.lang.Store(lang) }

// Language is the call's language as the flow last set it.
func (c *DiagoCall) Language() string {
	l, _ := c.lang.Load().(string)
	return l
}

// Hangup implements Call.
func (c *DiagoCall) Hangup(ctx context.Context) error {
	var err error
	c.hangOnce.Do(func() {
		if c.dialog.Context().Err() != nil {
			return
		}
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = c.dialog.Hangup(hctx)
	})
	return err
}

// Transfer implements Call.
func (c *DiagoCall) Transfer(ctx context.Context, number string) error {
	if c.services.Transfer == nil {
		return errNoService
	}
	return c.services.Transfer(ctx, number)
}

// Enqueue implements Call.
func (c *DiagoCall) Enqueue(ctx context.Context, r QueueRequest) (QueueOutcome, error) {
	if c.services.Enqueue == nil {
		return QueueFailed, errNoService
	}
	return c.services.Enqueue(ctx, r)
}

// RecordVoicemail implements Call.
func (c *DiagoCall) RecordVoicemail(ctx context.Context, maxSec int) (string, error) {
	if c.services.RecordVoicemail == nil {
		return "", errNoService
	}
	return c.services.RecordVoicemail(ctx, c.media, maxSec)
}

// OfferCallback implements Call.
func (c *DiagoCall) OfferCallback(ctx context.Context, queueID string) error {
	if c.services.OfferCallback == nil {
		return errNoService
	}
	return c.services.OfferCallback(ctx, queueID)
}
