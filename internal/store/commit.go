package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/atende/atende"
)

// Group commit. SQLite has one writer and makes each commit durable with an
// fsync, so committing every request on its own caps writes at the disk's
// fsync rate. Instead, one goroutine takes every write waiting at that
// moment, runs each in its own savepoint inside one transaction, commits
// once, and only then answers each caller. A write that fails rolls back to
// its savepoint and fails alone; a failed commit fails the whole batch.
// Nobody is answered before the commit: acknowledged writes are durable.

// maxBatch bounds the writes in one group commit, so one batch cannot hold
// the writer for long.
const maxBatch = 256

var errClosed = errors.New("store is closed")

type writeReq struct {
	ctx    context.Context
	kind   string
	actor  atende.Actor
	fn     func(*tx) error
	err    error
	events []atende.Event
	done   chan struct{}
}

// startCommitter starts the group-commit goroutine (SQLite only).
func (s *Store) startCommitter() {
	s.writes = make(chan *writeReq, maxBatch)
	s.stopWrites = make(chan struct{})
	s.committerDone = make(chan struct{})
	go s.commitLoop()
}

func (s *Store) commitLoop() {
	defer close(s.committerDone)
	batch := make([]*writeReq, 0, maxBatch)
	for {
		select {
		case <-s.stopWrites:
			// Answer whatever is still queued.
			for {
				select {
				case r := <-s.writes:
					r.err = errClosed
					close(r.done)
				default:
					return
				}
			}
		case r := <-s.writes:
			batch = append(batch[:0], r)
		more:
			for len(batch) < maxBatch {
				select {
				case r := <-s.writes:
					batch = append(batch, r)
				default:
					break more
				}
			}
			s.runBatch(batch)
		}
	}
}

// runBatch commits one group of writes and answers their callers.
func (s *Store) runBatch(batch []*writeReq) {
	fail := func(err error) {
		for _, r := range batch {
			if r.err == nil {
				r.err = err
			}
			r.events = nil
			close(r.done)
		}
	}
	sqlTx, err := s.wdb.BeginTx(context.Background(), nil)
	if err != nil {
		fail(fmt.Errorf("begin: %w", mapErr(err)))
		return
	}
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err // the caller gave up before its turn: nothing written
			continue
		}
		if _, err := sqlTx.Exec(`SAVEPOINT w`); err != nil {
			sqlTx.Rollback()
			fail(fmt.Errorf("savepoint: %w", err))
			return
		}
		t := &tx{Tx: sqlTx, s: s, actor: r.actor, now: s.now()}
		if err := runSafely(r.fn, t); err != nil {
			r.err = mapErr(err)
			if _, rerr := sqlTx.Exec(`ROLLBACK TO w`); rerr != nil {
				sqlTx.Rollback()
				fail(fmt.Errorf("rollback to savepoint: %w", rerr))
				return
			}
		} else {
			r.events = t.events
		}
		if _, err := sqlTx.Exec(`RELEASE w`); err != nil {
			sqlTx.Rollback()
			fail(fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	if err := sqlTx.Commit(); err != nil {
		fail(fmt.Errorf("commit: %w", mapErr(err)))
		return
	}
	s.batchSize.Observe(float64(len(batch)))
	for _, r := range batch {
		if r.err == nil && s.bus != nil && len(r.events) > 0 {
			s.bus.Publish(context.WithoutCancel(r.ctx), r.events...)
		}
		close(r.done)
	}
}

// runSafely runs fn, turning a panic into an error so one bad write cannot
// take the batch down with it.
func runSafely(fn func(*tx) error, t *tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic in write: %v", v)
		}
	}()
	return fn(t)
}

// groupWrite queues a write for the next group commit and waits for it. Once
// queued, it waits for the outcome even if ctx ends meanwhile, so a caller
// never mistakes a committed write for a failed one.
func (s *Store) groupWrite(ctx context.Context, kind string, a atende.Actor, fn func(*tx) error) (err error) {
	start := time.Now()
	defer func() { s.observe(kind, start, err) }()
	r := &writeReq{ctx: ctx, kind: kind, actor: a, fn: fn, done: make(chan struct{})}
	select {
	case s.writes <- r:
	case <-s.stopWrites:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	<-r.done
	return r.err
}
