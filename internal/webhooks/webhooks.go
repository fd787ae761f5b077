// Package webhooks pushes claim status changes to the insurers' own systems.
//
// An admin registers a receiver URL for one insurer org and the events it
// wants (Events). The services that change a claim's state call Enqueue (or
// EnqueueMany for a group) inside the transaction that makes the change,
// so a delivery exists exactly when the change committed: this is an
// outbox, and a change that rolls back leaves no delivery behind. A worker
// (Start) sends the due deliveries, signed with HMAC-SHA256 over the
// timestamp and the body (Sign), retries failures with exponential backoff
// and jitter, and records every attempt. A delivery keeps its id through
// retries and replays, so a receiver that deduplicates by the
// Huimin-Delivery header applies each change once.
//
// This package is plumbing: it imports no domain package. Its callers hand
// it plain values — the event, the org, the claim id and the claim as the
// API answers it — and their own transaction.
package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"huimin/internal/db"
	"huimin/internal/ids"
	"huimin/internal/ttl"
	"huimin/internal/web"
)

// The events a subscription may ask for: a claim's state changes as
// DESIGN §6 names them.
const (
	ClaimAssessed      = "claim.assessed"       // filed and assessed, payable > 0
	ClaimRejected      = "claim.rejected"       // filed and rejected, with its reasons
	ClaimApproved      = "claim.approved"       // the final approval (reserved in a first_come plan)
	ClaimDeclined      = "claim.declined"       // declined by finance, or revoked after approval
	ClaimPaid          = "claim.paid"           // the bank reported it paid
	ClaimPaymentFailed = "claim.payment_failed" // the bank reported a failure; the claim is approved again
)

// Events lists every event, in the order of a claim's life.
var Events = []string{ClaimAssessed, ClaimRejected, ClaimApproved, ClaimDeclined, ClaimPaid, ClaimPaymentFailed}

// Event is one state change of a claim, as its service hands it over.
type Event struct {
	Type    string    // one of Events
	Org     string    // the org of the insurer whose claim it is
	ClaimID string    // the claim's id
	At      time.Time // when the change happened (the service's now); zero means now
	// Claim is the claim after the change, as the API answers it: its JSON
	// ([]byte or json.RawMessage, used as it is), a value that
	// encoding/json renders to it (a claims.View), or a func() (any,
	// error) returning either (to read the claim back in the caller's
	// transaction). A value is rendered, and a func called, only when some
	// subscription wants the event, so that a caller pays for nothing when
	// none does.
	Claim any
}

// Delivery statuses.
const (
	StatusPending   = "pending"   // waiting for its next attempt
	StatusDelivered = "delivered" // a 2xx came back
	StatusFailed    = "failed"    // no attempt left (dead) until replayed
)

// Config tunes the service. The zero value of every field is its default.
type Config struct {
	Now func() time.Time // the clock of every decision (default time.Now)
	Log *slog.Logger     // default: discard
	// Client sends the deliveries. The default does not follow redirects
	// (a 3xx is a failed attempt) and, like every client, is bounded by
	// Timeout per attempt.
	Client  *http.Client
	Timeout time.Duration // per attempt, default 10 s
	// FirstRetry is the wait after the first failed attempt (default
	// 10 s); each further failure doubles it, up to MaxRetryDelay (default
	// 1 h). Every wait is shortened or lengthened by up to 20 % at random
	// (Jitter), so receivers coming back from an outage are not hit by
	// every retry at once.
	FirstRetry    time.Duration
	MaxRetryDelay time.Duration
	// MaxAttempts is how many attempts a delivery gets before it is
	// failed (default 24: the waits add up to about 15 hours).
	MaxAttempts int
	// Jitter returns a number in [0, 1) (default math/rand/v2); 0.5
	// means no jitter.
	Jitter func() float64
	// PollInterval is how often the worker looks for due deliveries
	// (default 1 s); Batch bounds how many one poll claims (default 32),
	// Parallel how many it sends at once (default 8).
	PollInterval time.Duration
	Batch        int
	Parallel     int
	// Lease is how long a claimed delivery belongs to its worker (default
	// Timeout + 50 s); a worker that dies mid-attempt leaves it to another
	// once the lease ends.
	Lease time.Duration
	// Owner names this worker in leases and attempts (default host-pid-
	// random); two services must never share one.
	Owner string
	// Metrics, when set, gets the delivery counters.
	Metrics prometheus.Registerer
}

func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Client == nil {
		c.Client = &http.Client{
			Timeout: c.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	if c.FirstRetry <= 0 {
		c.FirstRetry = 10 * time.Second
	}
	if c.MaxRetryDelay <= 0 {
		c.MaxRetryDelay = time.Hour
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 24
	}
	if c.Jitter == nil {
		c.Jitter = randomJitter
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.Batch <= 0 {
		c.Batch = 32
	}
	if c.Parallel <= 0 {
		c.Parallel = 8
	}
	if c.Lease <= 0 {
		c.Lease = c.Timeout + 50*time.Second
	}
	if c.Owner == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		c.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
		if len(c.Owner) > 48 { // room for "/<round>" in lease_owner VARCHAR(64)
			c.Owner = c.Owner[len(c.Owner)-48:]
		}
	}
	return c
}

// Service registers subscriptions, writes deliveries into its callers'
// transactions and runs the delivery worker.
type Service struct {
	db  *db.DB
	cfg Config
	now func() time.Time
	log *slog.Logger

	// subs caches each org's active subscriptions for a second: every
	// claim filing asks, and almost always the answer is "none".
	subs *ttl.Cache[string, []route]

	rounds  atomic.Uint64 // numbers the worker's claims, for unique leases
	roundMu sync.Mutex    // one round at a time per service

	metrics *metrics

	startOnce sync.Once
	stop      context.CancelFunc
	stopped   chan struct{}
	ctx       context.Context
}

// route is what Enqueue needs of a subscription.
type route struct {
	id     string
	events []string
}

func (r route) wants(event string) bool { return slices.Contains(r.events, event) }

// New returns the service on d. Call Start to run the delivery worker and
// Close to stop it.
func New(d *db.DB, cfg Config) *Service {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{
		db: d, cfg: cfg, now: cfg.Now, log: cfg.Log,
		subs:    ttl.New[string, []route](time.Second, 10000),
		metrics: newMetrics(cfg.Metrics),
		ctx:     ctx, stop: cancel, stopped: make(chan struct{}),
	}
}

// Enqueue writes, in tx, a delivery of ev to every active subscription of
// its org that wants it. tx must be the transaction of the state change
// itself, so that the deliveries commit or roll back with it. When no
// subscription wants the event it costs a cache lookup.
func (s *Service) Enqueue(ctx context.Context, tx *gorm.DB, ev Event) error {
	return s.EnqueueMany(ctx, tx, []Event{ev})
}

// EnqueueMany is Enqueue for the events of one transaction (a group of
// filed claims), written with multi-row inserts. A nil service (a domain
// service built without webhooks, in a test) writes nothing.
func (s *Service) EnqueueMany(ctx context.Context, tx *gorm.DB, evs []Event) error {
	if s == nil {
		return nil
	}
	var rows []delivery
	for _, ev := range evs {
		if !slices.Contains(Events, ev.Type) {
			return fmt.Errorf("webhooks: unknown event %q", ev.Type)
		}
		if ev.Org == "" {
			continue // not an insurer's claim: nobody to tell
		}
		routes, err := s.routesOf(ctx, tx, ev.Org)
		if err != nil {
			return err
		}
		var body json.RawMessage
		for _, r := range routes {
			if !r.wants(ev.Type) {
				continue
			}
			if body == nil {
				if body, err = render(ev.Claim); err != nil {
					return fmt.Errorf("webhooks: claim %s: %w", ev.ClaimID, err)
				}
			}
			at := ev.At
			if at.IsZero() {
				at = s.now()
			}
			d := delivery{
				ID: ids.New(at), SubscriptionID: r.id, Org: ev.Org, Event: ev.Type, ClaimID: ev.ClaimID,
				Status: StatusPending, NextAttemptAt: at.UnixMilli(), CreatedAt: at.UnixMilli(),
			}
			payload, err := json.Marshal(Payload{ID: d.ID, Event: ev.Type, OccurredAt: web.Timestamp(at.UnixMilli()), Claim: body})
			if err != nil {
				return fmt.Errorf("webhooks: claim %s: %w", ev.ClaimID, err)
			}
			d.Payload = string(payload)
			rows = append(rows, d)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	return insertDeliveries(ctx, tx, rows)
}

// Payload is the body of every delivery: the delivery's id (also in the
// Huimin-Delivery header), the event, when the change happened (RFC 3339
// UTC with milliseconds, as every timestamp of the API) and the claim
// after the change, exactly as GET /api/v1/claims/{id} answers it.
type Payload struct {
	ID         string          `json:"id"`
	Event      string          `json:"event"`
	OccurredAt string          `json:"occurred_at"`
	Claim      json.RawMessage `json:"claim"`
}

// render returns the claim's JSON: bytes as they are (checked), any other
// value marshalled, a func's result either way.
func render(claim any) (json.RawMessage, error) {
	if f, ok := claim.(func() (any, error)); ok {
		v, err := f()
		if err != nil {
			return nil, err
		}
		claim = v
	}
	var b []byte
	switch c := claim.(type) {
	case nil:
		return nil, errors.New("no claim to send")
	case []byte:
		b = c
	case json.RawMessage:
		b = c
	default:
		var err error
		if b, err = json.Marshal(c); err != nil {
			return nil, err
		}
	}
	if !json.Valid(b) {
		return nil, errors.New("the claim is not JSON")
	}
	return json.RawMessage(b), nil
}

// routesOf returns the active subscriptions of org, from the cache or read
// in tx. Another server's change reaches this cache within its TTL, a
// second; this server's own changes clear it at once.
func (s *Service) routesOf(ctx context.Context, tx *gorm.DB, org string) ([]route, error) {
	if rs, ok := s.subs.Get(org); ok {
		return rs, nil
	}
	gen := s.subs.Gen()
	subs, err := activeSubscriptions(ctx, tx, org)
	if err != nil {
		return nil, err
	}
	rs := make([]route, len(subs))
	for i, sub := range subs {
		rs[i] = route{id: sub.ID, events: sub.eventList()}
	}
	s.subs.Set(org, rs, gen)
	return rs, nil
}

// Start runs the delivery worker until Close. Calling it again does nothing.
func (s *Service) Start() {
	s.startOnce.Do(func() { go s.work() })
}

// Close stops the worker: it interrupts the attempts under way, which are
// recorded as failed and retried later (by another server, or this one
// when it is back), and waits for that. The database stays open. Calling
// it again does nothing.
func (s *Service) Close() {
	s.stop()
	s.startOnce.Do(func() { close(s.stopped) }) // never started: nothing to wait for
	<-s.stopped
}

// work polls for due deliveries until the service closes.
func (s *Service) work() {
	defer close(s.stopped)
	tick := time.NewTicker(s.cfg.PollInterval)
	defer tick.Stop()
	failures := 0
	for {
		n, err := s.RunOnce(s.ctx)
		switch {
		case err == nil:
			failures = 0
		case s.ctx.Err() != nil:
			return
		case strings.Contains(err.Error(), "sql: database is closed"):
			// The database's owner closed it without closing this
			// service first (a test that ended): nothing is left to
			// deliver from.
			s.log.Warn("webhook worker stops: the database is closed")
			return
		default:
			// An outage would log every poll: the first failure and
			// then one a minute.
			if failures%60 == 0 {
				s.log.Warn("webhook worker: polling failed", "error", err.Error(), "failures", failures+1)
			}
			failures++
		}
		if err == nil && n == s.cfg.Batch {
			continue // more may be due at once
		}
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
	}
}
