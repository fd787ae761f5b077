package db

import (
	"context"
	"sync"
	"time"

	"huimin/internal/apperr"
)

// ErrDown is what a request gets while the database does not answer: 503
// unavailable, which a client may retry (DESIGN §10). Guard returns it while
// the breaker is open and cancels the contexts it bound with it as the
// cause when the breaker opens.
var ErrDown = &apperr.Error{Kind: apperr.ErrUnavailable, Message: "the database does not answer; retry later"}

// HealthOptions tune the probe. The zero value is the default of every
// setting.
type HealthOptions struct {
	// Interval is the pause between pings (default 250 ms). In Options, a
	// negative Interval turns the probe off.
	Interval time.Duration
	// Timeout is how long a ping may take before it counts as failed
	// (default 500 ms). A ping takes no lock and reads no table, so a
	// database that cannot answer one in this time is not serving.
	Timeout time.Duration
	// Failures is how many pings in a row must fail to open the breaker
	// (default 2), so that one lost connection does not refuse requests.
	Failures int
	// OnChange, when set, is called on the probe's goroutine each time the
	// breaker opens (with the failed ping's error) or closes (with nil).
	OnChange func(err error)
}

func (o HealthOptions) withDefaults() HealthOptions {
	if o.Interval <= 0 {
		o.Interval = 250 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 500 * time.Millisecond
	}
	if o.Failures <= 0 {
		o.Failures = 2
	}
	return o
}

// Health is a circuit breaker on the database's answers. A probe pings the
// database on a goroutine of its own; when Failures pings in a row fail or go
// unanswered within Timeout, the breaker opens, and when one ping succeeds
// it closes again, with no restart. While it is open, Err and Guard report
// ErrDown at once, and when it opens every context bound with Guard is
// cancelled, so requests waiting on a database that stopped answering end
// within the probe's timing instead of at their own deadline (a bulk
// route's is minutes).
//
// The probe confirms a failure at once instead of waiting an interval, so
// with the defaults the breaker opens at most Interval + Failures × Timeout
// = 1.25 s after the database stops answering, within DESIGN §10's second
// or two. A stalled database is found this way only: it accepts
// connections and never answers, so nothing fails until a clock says so.
//
// The zero Health and a nil one are always closed: SQLite, embedded in the
// process, has nothing to stall, and its failures (a full or read-only disk)
// come back as errors at once.
type Health struct {
	ping func(context.Context) error
	o    HealthOptions

	mu    sync.Mutex
	err   error                   // the failed ping's error while open, else nil
	epoch context.Context         // cancelled when the breaker opens
	trip  context.CancelCauseFunc // cancels epoch
	stop  context.CancelFunc
	done  chan struct{}
}

// Watch starts a probe that calls ping with a timeout of o.Timeout every
// o.Interval, and returns the breaker it drives; Stop ends the probe. The
// breaker starts closed.
func Watch(ping func(context.Context) error, o HealthOptions) *Health {
	o = o.withDefaults()
	h := &Health{ping: ping, o: o, done: make(chan struct{})}
	h.epoch, h.trip = context.WithCancelCause(context.Background())
	ctx, stop := context.WithCancel(context.Background())
	h.stop = stop
	go h.run(ctx)
	return h
}

// Stop ends the probe and waits for its goroutine. The breaker keeps its
// last state.
func (h *Health) Stop() {
	if h == nil || h.stop == nil {
		return
	}
	h.stop()
	<-h.done
}

// Err is ErrDown while the breaker is open, else nil.
func (h *Health) Err() error {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return ErrDown
	}
	return nil
}

// Guard binds work on the database to the breaker. While the breaker is
// open it returns ErrDown and the work should not start. Otherwise it
// returns ctx's child that is cancelled, with ErrDown as its cause
// (context.Cause), the moment the breaker opens; release frees it when the
// work ends.
func (h *Health) Guard(ctx context.Context) (bound context.Context, release context.CancelFunc, err error) {
	if h == nil {
		return ctx, func() {}, nil
	}
	h.mu.Lock()
	down, epoch := h.err != nil, h.epoch
	h.mu.Unlock()
	if epoch == nil { // the zero Health, never watched
		return ctx, func() {}, nil
	}
	if down {
		return ctx, func() {}, ErrDown
	}
	bound, cancel := context.WithCancelCause(ctx)
	// An epoch cancelled between the unlock and here runs the func at once.
	stopAfter := context.AfterFunc(epoch, func() { cancel(ErrDown) })
	return bound, func() { stopAfter(); cancel(context.Canceled) }, nil
}

func (h *Health) run(ctx context.Context) {
	defer close(h.done)
	failures := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, h.o.Timeout)
		err := h.ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		wait := h.o.Interval
		if err == nil {
			failures = 0
			h.set(nil)
		} else if failures++; failures >= h.o.Failures {
			h.set(err)
		} else {
			// Confirm a failure at once: waiting an interval first would
			// only delay the breaker on a database that is really gone.
			wait = 0
		}
		if wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
		}
	}
}

// set opens the breaker (err non-nil) or closes it (nil), and reports a
// change to OnChange.
func (h *Health) set(err error) {
	h.mu.Lock()
	open := h.err != nil
	switch {
	case err != nil && !open:
		h.err = err
		h.trip(ErrDown)
	case err == nil && open:
		h.err = nil
		h.epoch, h.trip = context.WithCancelCause(context.Background())
	default:
		h.mu.Unlock()
		return
	}
	h.mu.Unlock()
	if h.o.OnChange != nil {
		h.o.OnChange(err)
	}
}
