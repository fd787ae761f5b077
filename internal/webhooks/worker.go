package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"huimin/internal/audit"
	"huimin/internal/ids"
)

// The headers of every delivery.
const (
	HeaderDelivery  = "Huimin-Delivery"  // the delivery id: the same on every attempt and replay
	HeaderEvent     = "Huimin-Event"     // the event, as in the body
	HeaderTimestamp = "Huimin-Timestamp" // Unix seconds when this attempt was signed
	HeaderSignature = "Huimin-Signature" // v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
)

// Sign returns the Huimin-Signature value of body sent at timestamp (Unix
// seconds): "v1=" and the lowercase hex HMAC-SHA256, keyed with the
// subscription's secret (the whole "whsec_…" text, as bytes), of the
// timestamp in decimal, a dot and the body's exact bytes.
func Sign(secret string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery as a receiver should: the signature (any v1=
// of a comma-separated header) matches, in constant time, and the
// timestamp is within tolerance of now, so that a recorded request cannot
// be played again later.
func Verify(secret, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("webhooks: the timestamp is not Unix seconds")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhooks: the timestamp is too far from now")
	}
	want := []byte(Sign(secret, ts, body))
	for _, got := range strings.Split(signature, ",") {
		if hmac.Equal([]byte(strings.TrimSpace(got)), want) {
			return nil
		}
	}
	return errors.New("webhooks: the signature does not match")
}

// RunOnce claims the deliveries due now (at most Config.Batch), sends them
// (Config.Parallel at a time), records every attempt and returns how many
// it claimed. The worker calls it every poll; tests call it to step the
// worker with their own clock. One service runs one round at a time.
func (s *Service) RunOnce(ctx context.Context) (int, error) {
	s.roundMu.Lock()
	defer s.roundMu.Unlock()
	now := s.now().UnixMilli()
	due, err := dueDeliveries(ctx, s.db.DB, now, s.cfg.Batch)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	// A lease owner of its own per round: the same service claiming again
	// at the same instant (a test's fixed clock) never mistakes an earlier
	// round's deliveries for this one's.
	owner := fmt.Sprintf("%s/%d", s.cfg.Owner, s.rounds.Add(1))
	var won int64
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		won, err = lease(ctx, tx, due, owner, now, now+s.cfg.Lease.Milliseconds())
		return err
	})
	if err != nil || won == 0 {
		return 0, err
	}
	mine, err := leasedTo(ctx, s.db.DB, due, owner)
	if err != nil {
		return 0, err // the leases run out and the deliveries are due again
	}
	var wg sync.WaitGroup
	slots := make(chan struct{}, s.cfg.Parallel)
	for _, l := range mine {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			s.deliver(ctx, l, owner)
		}()
	}
	wg.Wait()
	return len(mine), nil
}

// deliver makes one attempt at l and records it.
func (s *Service) deliver(ctx context.Context, l leased, owner string) {
	if !l.Active {
		// Deleted after this delivery was queued: it is not sent.
		s.record(ctx, l, owner, outcome{err: "not sent: the webhook was deleted", dead: true, skipped: true})
		return
	}
	at := s.now()
	body := []byte(l.Payload)
	actx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, l.URL, bytes.NewReader(body))
	if err != nil {
		s.record(ctx, l, owner, outcome{at: at, err: "not sent: " + bareError(err)})
		return
	}
	ts := at.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Huimin-Webhooks/1")
	req.Header.Set(HeaderDelivery, l.ID)
	req.Header.Set(HeaderEvent, l.Event)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(l.Secret, ts, body))
	start := time.Now()
	resp, err := s.cfg.Client.Do(req)
	o := outcome{at: at}
	if err == nil {
		// Read a little of the answer, so the connection can be reused;
		// its content is not kept.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		o.code = resp.StatusCode
		o.ok = resp.StatusCode >= 200 && resp.StatusCode < 300
		if !o.ok {
			o.err = fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		}
	} else {
		o.err = bareError(err)
		if ctx.Err() != nil {
			o.err = "interrupted: the server shut down during the attempt"
		}
	}
	o.took = time.Since(start)
	s.record(ctx, l, owner, o)
}

// outcome is how one attempt went.
type outcome struct {
	at   time.Time
	took time.Duration
	code int    // the receiver's status, 0 when none came back
	ok   bool   // a 2xx
	err  string // why it failed
	dead bool   // no further attempt, whatever the tries left
	// skipped: nothing was sent, so there is no attempt to record (only
	// the delivery's new state).
	skipped bool
}

// record writes the attempt and the delivery's new state in one
// transaction: delivered; pending again after the backoff; or failed
// when no try is left.
func (s *Service) record(ctx context.Context, l leased, owner string, o outcome) {
	// A shutdown cancels ctx during an attempt; the attempt is still
	// recorded, so that the delivery is retried rather than left leased.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := s.now()
	if o.at.IsZero() {
		o.at = now
	}
	tries := l.Tries + 1
	changes := map[string]any{
		"attempts": gorm.Expr("attempts + 1"), "tries": tries,
		"last_status_code": o.code, "last_error": audit.Summary(o.err, 255),
	}
	result := "failed"
	switch {
	case o.skipped:
		changes = map[string]any{"status": StatusFailed, "last_error": o.err}
		result = "dead"
	case o.ok:
		changes["status"], changes["delivered_at"], result = StatusDelivered, now.UnixMilli(), "delivered"
	case o.dead || tries >= s.cfg.MaxAttempts:
		changes["status"], result = StatusFailed, "dead"
	default:
		changes["next_attempt_at"] = now.Add(s.Backoff(tries)).UnixMilli()
	}
	var held bool
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if held, err = finish(ctx, tx, l.ID, owner, changes); err != nil {
			return err
		}
		if o.skipped {
			return nil
		}
		outcome := "failed"
		if o.ok {
			outcome = StatusDelivered
		}
		return insertAttempt(ctx, tx, &attempt{
			ID: ids.New(o.at), DeliveryID: l.ID, At: o.at.UnixMilli(), DurationMs: o.took.Milliseconds(),
			StatusCode: o.code, Error: audit.Summary(o.err, 255), Outcome: outcome, Worker: owner,
		})
	})
	switch {
	case err != nil:
		// The lease runs out and the delivery is attempted again: the
		// receiver may see it twice, which its deduplication absorbs.
		s.log.Error("webhook attempt not recorded", "delivery_id", l.ID, "error", err.Error())
	case !held:
		s.log.Warn("webhook lease lost during an attempt; another worker has the delivery", "delivery_id", l.ID)
	default:
		s.metrics.attempts.WithLabelValues(result).Inc()
		s.log.Debug("webhook attempt", "delivery_id", l.ID, "event", l.Event, "status_code", o.code, "result", result)
	}
}

// Backoff is the wait after the tries-th failed attempt in a row: the
// first retry waits FirstRetry, each further one twice as long, up to
// MaxRetryDelay, each scaled by a random factor from 0.8 to 1.2 (Jitter)
// and never above MaxRetryDelay.
func (s *Service) Backoff(tries int) time.Duration {
	d := s.cfg.FirstRetry
	for i := 1; i < tries && d < s.cfg.MaxRetryDelay; i++ {
		d *= 2
	}
	d = min(d, s.cfg.MaxRetryDelay)
	// A duration, not money: float64 is exact enough for a random spread.
	d = time.Duration(float64(d) * (0.8 + 0.4*s.cfg.Jitter()))
	return min(d, s.cfg.MaxRetryDelay)
}

func randomJitter() float64 { return rand.Float64() }

// bareError is err without the URL that net/http puts in front: the URL
// is the subscription's, shown with it, and has no place in logs.
func bareError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// metrics counts attempts by result: delivered, failed (retried later) and
// dead (no attempt left).
type metrics struct {
	attempts *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "huimin_webhook_attempts_total",
		Help: "Webhook delivery attempts by result: delivered, failed (retried later), dead (no attempt left).",
	}, []string{"result"})}
	if reg != nil {
		reg.MustRegister(m.attempts)
	}
	return m
}
