// Package groupcommit commits requests in groups: requests that arrive while
// a group's transaction commits wait and go together in the next one, so a
// burst pays one BEGIN, one lock of each hot row and one commit fsync
// instead of one per request. Each caller still gets its own answer.
//
// Claim filing and approvals both use it, with one policy: a fixed number of
// workers, a bound on group size, one deadline per group whatever its size,
// and a group that fails as a whole is committed again one request at a time,
// so one bad request never fails its neighbours. A committer may linger: a
// worker that finds only a few requests waits briefly for more while other
// groups are committing, rather than commit a group of one.
package groupcommit

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one request's answer.
type Result[Res any] struct {
	Value Res
	Err   error
}

// Config bounds the committer. Zero fields take the defaults.
type Config struct {
	Workers  int           // groups in flight at once (default 4)
	MaxGroup int           // requests per group (default 64)
	Timeout  time.Duration // the deadline of one group's work (default 30 s)
	Queue    int           // requests waiting for a group (default 4096)
	// Linger is how long a worker holding fewer than MaxGroup requests
	// waits for more while other groups are committing (default 0: it
	// commits what it has at once). An idle committer never waits.
	Linger time.Duration
}

// Committer batches requests of type Req into groups.
type Committer[Req, Res any] struct {
	cfg   Config
	group func(ctx context.Context, group []Req) ([]Result[Res], error)
	one   func(ctx context.Context, req Req) (Res, error)

	start sync.Once
	stop  sync.Once
	queue chan *call[Req, Res]
	done  chan struct{}
	busy  atomic.Int32 // groups committing now
	wg    sync.WaitGroup
}

type call[Req, Res any] struct {
	req   Req
	reply chan Result[Res]
}

// New returns a committer. group commits several requests in one
// transaction and answers each (results in the order of the group), or fails
// as a whole; one commits a single request: a lone request, and each request
// of a group that failed as a whole. Workers start on first use.
func New[Req, Res any](cfg Config, group func(ctx context.Context, group []Req) ([]Result[Res], error),
	one func(ctx context.Context, req Req) (Res, error)) *Committer[Req, Res] {
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.MaxGroup <= 0 {
		cfg.MaxGroup = 64
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 4096
	}
	return &Committer[Req, Res]{cfg: cfg, group: group, one: one}
}

// Do hands req to the next group and waits for its answer. When ctx ends
// first, Do returns ctx's error; the group may still commit the request, so
// callers make requests safe to retry (idempotency keys, state checks).
func (c *Committer[Req, Res]) Do(ctx context.Context, req Req) (Res, error) {
	c.start.Do(c.run)
	cl := &call[Req, Res]{req: req, reply: make(chan Result[Res], 1)}
	var zero Res
	select {
	case <-c.done:
		return zero, context.Canceled
	default:
	}
	select {
	case c.queue <- cl:
	case <-c.done:
		return zero, context.Canceled
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	select {
	case r := <-cl.reply:
		return r.Value, r.Err
	case <-c.done:
		// Close answers what is still queued; a request in a group that is
		// committing gets that group's answer.
		select {
		case r := <-cl.reply:
			return r.Value, r.Err
		case <-time.After(c.cfg.Timeout):
			return zero, context.Canceled
		}
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// Close stops the workers once the groups in flight are answered. Requests
// still queued are answered with context.Canceled.
func (c *Committer[Req, Res]) Close() {
	c.start.Do(c.run)
	c.stop.Do(func() { close(c.done) })
	c.wg.Wait()
	for {
		select {
		case cl := <-c.queue:
			cl.reply <- Result[Res]{Err: context.Canceled}
		default:
			return
		}
	}
}

func (c *Committer[Req, Res]) run() {
	c.queue = make(chan *call[Req, Res], c.cfg.Queue)
	c.done = make(chan struct{})
	for range c.cfg.Workers {
		c.wg.Add(1)
		go c.work()
	}
}

func (c *Committer[Req, Res]) work() {
	defer c.wg.Done()
	for {
		var first *call[Req, Res]
		select {
		case first = <-c.queue:
		case <-c.done:
			return
		}
		calls := []*call[Req, Res]{first}
	fill:
		for len(calls) < c.cfg.MaxGroup {
			select {
			case cl := <-c.queue:
				calls = append(calls, cl)
			default:
				break fill
			}
		}
		if c.cfg.Linger > 0 && len(calls) < c.cfg.MaxGroup && c.busy.Load() > 0 {
			calls = c.linger(calls)
		}
		c.busy.Add(1)
		c.commit(calls)
		c.busy.Add(-1)
	}
}

// linger adds to calls what arrives within the Linger window, up to
// MaxGroup.
func (c *Committer[Req, Res]) linger(calls []*call[Req, Res]) []*call[Req, Res] {
	t := time.NewTimer(c.cfg.Linger)
	defer t.Stop()
	for len(calls) < c.cfg.MaxGroup {
		select {
		case cl := <-c.queue:
			calls = append(calls, cl)
		case <-t.C:
			return calls
		case <-c.done:
			return calls
		}
	}
	return calls
}

// commit runs one group under the one deadline and answers every call.
func (c *Committer[Req, Res]) commit(calls []*call[Req, Res]) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	if len(calls) > 1 {
		reqs := make([]Req, len(calls))
		for i, cl := range calls {
			reqs[i] = cl.req
		}
		if results, err := c.group(ctx, reqs); err == nil && len(results) == len(calls) {
			for i, cl := range calls {
				cl.reply <- results[i]
			}
			return
		}
	}
	// A lone request, or a group that failed as a whole: one at a time.
	for _, cl := range calls {
		v, err := c.one(ctx, cl.req)
		cl.reply <- Result[Res]{Value: v, Err: err}
	}
}
