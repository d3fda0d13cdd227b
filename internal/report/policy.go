package report

import (
	"context"
	"sync"
	"time"

	"github.com/atende/atende"
)

// Config is what StorePolicy reads: tenants and queues.
type Config interface {
	Tenant(ctx context.Context, id string) (*atende.Tenant, error)
	Queue(ctx context.Context, tenantID, id string) (*atende.Queue, error)
}

// StorePolicy reads the fold's policy from the tenants' and queues'
// configuration, remembering it for a minute: a changed service-level
// threshold applies to what is folded from then on.
type StorePolicy struct {
	Config Config
	TTL    time.Duration // default 1 min

	mu      sync.Mutex
	tenants map[string]cached[*time.Location]
	queues  map[[2]string]cached[time.Duration]
}

type cached[T any] struct {
	v  T
	at time.Time
}

func (p *StorePolicy) ttl() time.Duration {
	if p.TTL == 0 {
		return time.Minute
	}
	return p.TTL
}

// Location is the tenant's time zone; UTC when it cannot be read.
func (p *StorePolicy) Location(tenantID string) *time.Location {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.tenants[tenantID]; ok && time.Since(c.at) < p.ttl() {
		return c.v
	}
	loc := time.UTC
	if t, err := p.Config.Tenant(context.Background(), tenantID); err == nil {
		if l, err := time.LoadLocation(t.TimeZone); err == nil {
			loc = l
		}
	}
	if p.tenants == nil {
		p.tenants = map[string]cached[*time.Location]{}
	}
	p.tenants[tenantID] = cached[*time.Location]{loc, time.Now()}
	return loc
}

// ServiceLevel is the queue's threshold; 20 s when the queue is gone.
func (p *StorePolicy) ServiceLevel(tenantID, queueID string) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := [2]string{tenantID, queueID}
	if c, ok := p.queues[k]; ok && time.Since(c.at) < p.ttl() {
		return c.v
	}
	d := 20 * time.Second
	if q, err := p.Config.Queue(context.Background(), tenantID, queueID); err == nil && q.SLThresholdSec > 0 {
		d = time.Duration(q.SLThresholdSec) * time.Second
	}
	if p.queues == nil {
		p.queues = map[[2]string]cached[time.Duration]{}
	}
	p.queues[k] = cached[time.Duration]{d, time.Now()}
	return d
}

// ShortAbandon is DefaultShortAbandon for every tenant for now.
func (p *StorePolicy) ShortAbandon(string) time.Duration { return DefaultShortAbandon }

// FCRWindow is DefaultFCRWindow for every tenant for now.
func (p *StorePolicy) FCRWindow(string) time.Duration { return DefaultFCRWindow }
